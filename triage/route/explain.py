"""Why a message went where it went, in Chinese: the one wording of a route reason.

Pages, XLSX/CSV batch output and the CLI all read the same sentence, so this lives in the engine
(the batch jobs cannot import the web layer). A reason names a rule by its Chinese ``rule_name``,
never by its id; reasons stored before rules had names are looked up in ``rule_names`` (a router's
:meth:`~triage.route.router.Router.rule_names`), else called a keyword rule without a name.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

UNNAMED_RULE = "关键词规则"


def rule_label(reason: Mapping[str, Any], rule_names: Mapping[str, str] | None = None) -> str:
    """The Chinese name of the rule that decided (``关键词规则`` when neither reason nor map has one)."""
    name = reason.get("rule_name")
    if not name and rule_names:
        name = rule_names.get(str(reason.get("rule_id") or ""))
    return str(name or UNNAMED_RULE)


def _percent(value: Any) -> str:
    try:
        return f"{float(value or 0):.0%}"
    except (TypeError, ValueError):
        return "—"


def reason_text(reason: Mapping[str, Any] | None, rule_names: Mapping[str, str] | None = None) -> str:
    """One sentence: which rule or model decided, with the terms or probability it went by."""
    reason = reason or {}
    source = reason.get("source")
    if source == "rule":
        terms = "、".join(str(t) for t in reason.get("matched_terms") or [])
        text = f"路由规则「{rule_label(reason, rule_names)}」决定" + (f"（关键词：{terms}）" if terms else "")
    elif source == "department_model":
        text = f"部门模型判断（概率 {_percent(reason.get('probability'))}）"
    elif source == "model":
        text = f"按分类“{reason.get('category', '')}”的主管部门（概率 {_percent(reason.get('probability'))}）"
        hints = reason.get("hint_terms")
        if hints:
            text += f"，细分依据：{'、'.join(str(h) for h in hints)}"
    elif source == "default":
        text = "无法确定主管部门，按默认部门分拨"
    elif source == "abstain":  # the model said nothing (e.g. no Chinese): a person routes the case
        return str(reason.get("message") or "需人工分拨")
    else:
        return "—"
    if reason.get("priority_rule"):
        named = {"rule_name": reason.get("priority_rule_name"), "rule_id": reason.get("priority_rule")}
        text += f"；紧急程度按规则「{rule_label(named, rule_names)}」"
    elif reason.get("priority_from") == "request_type":
        text += "；紧急程度按诉求类型判断"
    return text
