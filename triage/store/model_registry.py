"""Model registry of a profile's bundles: register, shadow, promote, rollback, compare.

Each profile has at most one ``live`` bundle (what the service serves, see :func:`live_model_path`)
and at most one ``shadow`` bundle, whose suggestions are stored beside the live ones
(``shadow_suggestions``) and never shown. ``compare`` scores both against what reviewers decided
on the cases the shadow saw. Every change is a :class:`ModelEvent` (who, when, which version);
``rollback`` replays the promote/rollback history as a stack, so repeated rollbacks walk back
through earlier live versions.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from triage.store.db import Database
from triage.store.errors import StoreError, ValidationError
from triage.store.models import Case, ModelEvent, ModelVersion, ShadowSuggestion, utcnow

log = logging.getLogger(__name__)


class RegistryError(StoreError):
    """A registry operation that cannot be done in the registry's current state (HTTP 409)."""

    status_code = 409


def bundle_record(path: str | Path) -> dict[str, Any]:
    """Version, metrics and training-data fingerprint of the bundle at ``path`` (loads it: it must work)."""
    from triage.classify.bundle import load_bundle

    bundle = load_bundle(path)
    meta = bundle.metadata
    training = meta["training_data"] if isinstance(meta.get("training_data"), dict) else {}
    metrics = {k: _summary(v) for k, v in (meta.get("metrics") or {}).items()}
    if meta.get("auto_dispatch"):
        metrics["auto_dispatch"] = meta["auto_dispatch"]
    if meta.get("not_a_department"):  # catch-all units: left out of compare's department figures
        metrics["not_a_department"] = sorted(meta["not_a_department"])
    return {
        "version": bundle.model_version,
        "metrics": metrics,
        "data_fingerprint": meta.get("data_fingerprint") or training.get("sha256"),
    }


_BULKY = frozenset({"per_class", "confusion_matrix", "labels"})  # in the model card, not the registry


def _summary(block: Any) -> Any:
    """A metrics block without per-class tables and matrices."""
    return {k: v for k, v in block.items() if k not in _BULKY} if isinstance(block, dict) else block


def _find(session: Session, profile: str, version: str) -> ModelVersion:
    row = session.exec(
        select(ModelVersion).where(ModelVersion.profile == profile, ModelVersion.version == version)
    ).first()
    if row is None:
        known = ", ".join(session.exec(select(ModelVersion.version).where(ModelVersion.profile == profile)))
        raise ValidationError(
            f"no model {version!r} registered for profile {profile!r}; registered: {known or 'none'}",
            code="unknown_model",
            field="version",
        )
    return row


def _with_status(session: Session, profile: str, status: str) -> ModelVersion | None:
    return session.exec(
        select(ModelVersion).where(ModelVersion.profile == profile, ModelVersion.status == status)
    ).first()


def _event(
    session: Session, row: ModelVersion, action: str, actor: str, at: datetime, note: str | None
) -> None:
    assert row.id is not None
    session.add(
        ModelEvent(model_id=row.id, profile=row.profile, action=action, actor=actor, at=at, note=note)
    )


def register(
    db: Database,
    path: str | Path,
    *,
    profile: str,
    actor: str,
    record: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> ModelVersion:
    """Add the bundle at ``path`` as a candidate (the same version twice is refused)."""
    now = now or utcnow()
    info = record or bundle_record(path)
    with db.session(write=True) as session:
        exists = session.exec(
            select(ModelVersion).where(
                ModelVersion.profile == profile, ModelVersion.version == info["version"]
            )
        ).first()
        if exists is not None:
            raise RegistryError(
                f"model {info['version']} is already registered for profile {profile!r} ({exists.status})",
                code="model_exists",
                field="path",
            )
        row = ModelVersion(
            profile=profile,
            version=info["version"],
            path=str(Path(path).resolve()),
            status="candidate",
            metrics=info.get("metrics"),
            data_fingerprint=info.get("data_fingerprint"),
            registered_by=actor,
            registered_at=now,
        )
        session.add(row)
        session.flush()
        _event(session, row, "register", actor, now, None)
    log.info("model %s registered for profile %s by %s", row.version, profile, actor)
    return row


def _live_stack(session: Session, profile: str) -> list[int]:
    """Model ids that became live, replayed from promote (push) and rollback (pop) events."""
    stack: list[int] = []
    events = session.exec(
        select(ModelEvent)
        .where(ModelEvent.profile == profile, col(ModelEvent.action).in_(("promote", "rollback")))
        .order_by(col(ModelEvent.id))
    )
    for event in events:
        if event.action == "promote":
            stack.append(event.model_id)
        elif len(stack) > 1:
            stack.pop()
    return stack


def promote(db: Database, profile: str, version: str, *, actor: str, note: str | None = None) -> ModelVersion:
    """Make ``version`` the live model of ``profile``; the previous live one is retired."""
    now = utcnow()
    with db.session(write=True) as session:
        row = _find(session, profile, version)
        if row.status == "live":
            raise RegistryError(f"model {version} is already live for {profile!r}", code="already_live")
        current = _with_status(session, profile, "live")
        if current is not None:
            current.status = "retired"
            session.add(current)
        row.status, row.promoted_by, row.promoted_at, row.shadow_since = "live", actor, now, None
        session.add(row)
        session.flush()
        _event(session, row, "promote", actor, now, note)
    was = f" (retired {current.version})" if current is not None else ""
    log.info("model %s promoted to live for profile %s by %s%s", version, profile, actor, was)
    return row


def rollback(db: Database, profile: str, *, actor: str, note: str | None = None) -> ModelVersion:
    """Put back the model that was live before the current one (the current one is retired)."""
    now = utcnow()
    with db.session(write=True) as session:
        current = _with_status(session, profile, "live")
        stack = _live_stack(session, profile)
        if current is None or len(stack) < 2 or stack[-1] != current.id:
            raise RegistryError(
                f"profile {profile!r} has no earlier live model to roll back to", code="nothing_to_roll_back"
            )
        previous = session.get(ModelVersion, stack[-2])
        assert previous is not None
        current.status = "retired"
        previous.status, previous.promoted_by, previous.promoted_at = "live", actor, now
        session.add_all([current, previous])
        session.flush()
        _event(session, previous, "rollback", actor, now, note or f"from {current.version}")
    back, retired = previous.version, current.version
    log.info("profile %s rolled back by %s: %s is live again, %s retired", profile, actor, back, retired)
    return previous


def start_shadow(db: Database, profile: str, version: str, *, actor: str) -> ModelVersion:
    """Run ``version`` in shadow from now on (a previous shadow goes back to candidate)."""
    now = utcnow()
    with db.session(write=True) as session:
        row = _find(session, profile, version)
        if row.status == "live":
            raise RegistryError(f"model {version} is live; only another model can shadow it", code="is_live")
        current = _with_status(session, profile, "shadow")
        if current is not None and current.id != row.id:
            current.status = "candidate"
            session.add(current)
        row.status, row.shadow_since = "shadow", now
        session.add(row)
        session.flush()
        _event(session, row, "shadow", actor, now, None)
    log.info("model %s runs in shadow for profile %s (started by %s)", version, profile, actor)
    return row


def list_models(db: Database, profile: str | None = None) -> list[ModelVersion]:
    with db.session() as session:
        stmt = select(ModelVersion).order_by(col(ModelVersion.profile), col(ModelVersion.id))
        if profile is not None:
            stmt = stmt.where(ModelVersion.profile == profile)
        return list(session.exec(stmt))


def history(db: Database, profile: str) -> list[tuple[ModelEvent, str]]:
    """(event, model version) pairs of a profile, oldest first."""
    with db.session() as session:
        rows = session.exec(
            select(ModelEvent, ModelVersion.version)
            .join(ModelVersion, col(ModelVersion.id) == col(ModelEvent.model_id))
            .where(ModelEvent.profile == profile)
            .order_by(col(ModelEvent.id))
        )
        return [(event, version) for event, version in rows]


def live_model(db: Database, profile: str) -> ModelVersion | None:
    with db.session() as session:
        return _with_status(session, profile, "live")


def shadow_model(db: Database, profile: str) -> ModelVersion | None:
    with db.session() as session:
        return _with_status(session, profile, "shadow")


def live_model_path(db: Database, profile: str) -> Path | None:
    """The registry's live bundle of ``profile`` (None: the registry has none, serve the profile's own)."""
    try:
        row = live_model(db, profile)
    except Exception as exc:  # a database not yet migrated to t003: the profile's bundle is served
        log.warning("model registry unavailable (%s); serving the profile's bundle", exc)
        return None
    return Path(row.path) if row is not None else None


def _share(flags: Sequence[bool]) -> float | None:
    return round(sum(flags) / len(flags), 4) if flags else None


def compare(db: Database, profile: str, version: str | None = None) -> dict[str, Any]:
    """Agreement between the shadow (or ``version``) and the live suggestions, and the accuracy of
    both against reviewers' decisions, over reviewed cases the candidate saw since it started."""
    with db.session() as session:
        row = _find(session, profile, version) if version else _with_status(session, profile, "shadow")
        if row is None:
            message = f"profile {profile!r} has no model in shadow; name a version"
            raise RegistryError(message, code="no_shadow")
        pairs = session.exec(
            select(Case, ShadowSuggestion)
            .join(ShadowSuggestion, col(ShadowSuggestion.case_id) == col(Case.id))
            .where(ShadowSuggestion.model_id == row.id, col(Case.reviewed_at).is_not(None))
        ).all()
        shadowed = session.exec(
            select(sa.func.count()).select_from(ShadowSuggestion).where(ShadowSuggestion.model_id == row.id)
        ).one()
    decided = [(c, s) for c, s in pairs if c.category or c.department_code]
    cat = [(c, s) for c, s in decided if c.category]
    # a reviewer's routing to a catch-all unit (其他单位) is no department: neither model may suggest it
    catch_alls = set((row.metrics or {}).get("not_a_department") or [])
    routed = [(c, s) for c, s in decided if c.department_code]
    d = [(c, s) for c, s in routed if c.department not in catch_alls]
    live_versions = sorted({c.model_version for c, _ in decided if c.model_version})
    return {
        "profile": profile,
        "candidate": row.version,
        "since": row.shadow_since.isoformat() if row.shadow_since else None,
        "live_versions": live_versions,
        "n": len(decided),
        "shadowed": int(shadowed),  # cases the candidate suggested for, reviewed or not
        "department_n": len(d),
        "department_skipped": len(routed) - len(d),
        "agreement": {
            "category": _share([c.suggested_category == s.category for c, s in decided]),
            "department": _share([c.suggested_department_code == s.department_code for c, s in decided]),
        },
        "live": {
            "category_accuracy": _share([c.suggested_category == c.category for c, _ in cat]),
            "department_accuracy": _share([c.suggested_department_code == c.department_code for c, _ in d]),
        },
        "candidate_scores": {
            "category_accuracy": _share([s.category == c.category for c, s in cat]),
            "department_accuracy": _share([s.department_code == c.department_code for c, s in d]),
        },
    }
