"""The deputies' loop (issue #15): supervision (督办), escalations (吹哨报到), 回访 calls.

``supervisions``: a requirement with a due date on a case; ``escalations``: a case moved up a level
or to a named department, with the report-in (报到) the receiving department owes; ``followups``:
one 回访 call on a resolved case (rating, outcome, the handling department); ``proposals`` and
``proposal_cases``: 代表建议 and the cases they grew from; ``disputes`` and ``mediation_sessions``:
矛盾纠纷台账.

Revision ID: u006_deputies
Revises: u004_case_words_sort
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "u006_deputies"
down_revision = "u004_case_words_sort"
branch_labels = None
depends_on = None

DT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "supervisions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("case_id", sa.Integer, sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("case_no", sa.String(20), nullable=False),
        sa.Column("requirement", sa.Text, nullable=False),
        sa.Column("due", DT, nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", DT, nullable=False),
    )
    op.create_index("ix_supervisions_case_id", "supervisions", ["case_id"])
    op.create_index("ix_supervisions_created_by", "supervisions", ["created_by"])
    op.create_index("ix_supervisions_due", "supervisions", ["due"])
    op.create_table(
        "escalations",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("case_id", sa.Integer, sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("case_no", sa.String(20), nullable=False),
        sa.Column("from_level", sa.String(16), nullable=True),
        sa.Column("to_level", sa.String(16), nullable=False),
        sa.Column("from_department_code", sa.String(64), nullable=True),
        sa.Column("to_department_code", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("escalated_by", sa.String(64), nullable=False),
        sa.Column("escalated_at", DT, nullable=False),
        sa.Column("report_due", DT, nullable=False),
        sa.Column("reported_in_by", sa.String(64), nullable=True),
        sa.Column("reported_in_at", DT, nullable=True),
        sa.Column("superseded_at", DT, nullable=True),
    )
    op.create_index("ix_escalations_case_id", "escalations", ["case_id"])
    op.create_index("ix_escalations_escalated_by", "escalations", ["escalated_by"])
    op.create_index(
        "ix_escalations_department_open",
        "escalations",
        ["to_department_code", "reported_in_at", "superseded_at", "report_due"],
    )
    op.create_table(
        "followups",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("case_id", sa.Integer, sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("case_no", sa.String(20), nullable=False),
        sa.Column("rating", sa.String(24), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("comment", sa.Text, nullable=True),
        sa.Column("department_code", sa.String(64), nullable=True),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", DT, nullable=False),
        sa.CheckConstraint(
            "rating IN ('satisfied', 'basically_satisfied', 'unsatisfied', 'unreachable')",
            name="ck_followups_rating",
        ),
        sa.CheckConstraint(
            "outcome IN ('closed', 'rehandle', 'retry', 'unreached')", name="ck_followups_outcome"
        ),
    )
    op.create_index("ix_followups_case_id", "followups", ["case_id"])
    op.create_index("ix_followups_department_created", "followups", ["department_code", "created_at"])
    op.create_table(
        "proposals",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("problem", sa.Text, nullable=False),
        sa.Column("suggestion", sa.Text, nullable=False),
        sa.Column("department_code", sa.String(64), nullable=False),
        sa.Column("grid_code", sa.String(64), nullable=True),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", DT, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("answer_due", DT, nullable=False),
        sa.Column("answer", sa.Text, nullable=True),
        sa.Column("answered_by", sa.String(64), nullable=True),
        sa.Column("answered_at", DT, nullable=True),
        sa.Column("rating", sa.String(24), nullable=True),
        sa.Column("rating_comment", sa.Text, nullable=True),
        sa.Column("rated_at", DT, nullable=True),
        sa.Column("rehandle_count", sa.Integer, nullable=False),
        sa.CheckConstraint("status IN ('assigned', 'answered', 'closed')", name="ck_proposals_status"),
    )
    op.create_index(
        "ix_proposals_department_status", "proposals", ["department_code", "status", "answer_due"]
    )
    op.create_index("ix_proposals_created_by", "proposals", ["created_by", "created_at"])
    op.create_table(
        "proposal_cases",
        sa.Column("proposal_id", sa.Integer, sa.ForeignKey("proposals.id"), primary_key=True),
        sa.Column("case_id", sa.Integer, sa.ForeignKey("cases.id"), primary_key=True),
        sa.Column("case_no", sa.String(20), nullable=False),
    )
    op.create_table(
        "disputes",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("case_id", sa.Integer, sa.ForeignKey("cases.id"), nullable=True),
        sa.Column("case_no", sa.String(20), nullable=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("parties", sa.Text, nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("grid_code", sa.String(64), nullable=True),
        sa.Column("community", sa.String(128), nullable=True),
        sa.Column("street", sa.String(128), nullable=True),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", DT, nullable=False),
        sa.Column("outcome", sa.String(16), nullable=True),
        sa.Column("closed_at", DT, nullable=True),
        sa.Column("sessions", sa.Integer, nullable=False),
        sa.CheckConstraint(
            "outcome IS NULL OR outcome IN ('resolved', 'failed', 'litigation')", name="ck_disputes_outcome"
        ),
    )
    op.create_index("ix_disputes_street_created", "disputes", ["street", "created_at"])
    op.create_index("ix_disputes_grid_created", "disputes", ["grid_code", "created_at"])
    op.create_index("ix_disputes_created", "disputes", ["created_at"])
    op.create_table(
        "mediation_sessions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("dispute_id", sa.Integer, sa.ForeignKey("disputes.id"), nullable=False),
        sa.Column("held_at", DT, nullable=False),
        sa.Column("mediator", sa.String(64), nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
    )
    op.create_index("ix_mediation_sessions_dispute_id", "mediation_sessions", ["dispute_id"])


def downgrade() -> None:
    op.drop_index("ix_mediation_sessions_dispute_id", table_name="mediation_sessions")
    op.drop_table("mediation_sessions")
    op.drop_index("ix_disputes_created", table_name="disputes")
    op.drop_index("ix_disputes_grid_created", table_name="disputes")
    op.drop_index("ix_disputes_street_created", table_name="disputes")
    op.drop_table("disputes")
    op.drop_table("proposal_cases")
    op.drop_index("ix_proposals_created_by", table_name="proposals")
    op.drop_index("ix_proposals_department_status", table_name="proposals")
    op.drop_table("proposals")
    op.drop_index("ix_followups_department_created", table_name="followups")
    op.drop_index("ix_followups_case_id", table_name="followups")
    op.drop_table("followups")
    op.drop_index("ix_escalations_department_open", table_name="escalations")
    op.drop_index("ix_escalations_escalated_by", table_name="escalations")
    op.drop_index("ix_escalations_case_id", table_name="escalations")
    op.drop_table("escalations")
    op.drop_index("ix_supervisions_due", table_name="supervisions")
    op.drop_index("ix_supervisions_created_by", table_name="supervisions")
    op.drop_index("ix_supervisions_case_id", table_name="supervisions")
    op.drop_table("supervisions")
