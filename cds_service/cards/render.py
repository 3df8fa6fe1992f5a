"""Findings to CDS Hooks 2.0 cards: text from the knowledge file, the patient's own values."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cds_service.cards.card_ids import new_card_uuid
from cds_service.cards.card_ids import new_uuid as fresh_uuid
from cds_service.cards.suggestions import suggestions_for
from cds_service.engine.findings import Finding
from cds_service.engine.format import lab_value
from cds_service.knowledge import Knowledge

SUMMARY_LIMIT = 139
ANALYTE_NAMES = {
    "ferritin": "Ferritin",
    "tsat": "Transferrin saturation",
    "hemoglobin": "Hemoglobin",
}


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return ""


def _fill(template: str, values: dict[str, str]) -> str:
    return template.format_map(_Blank(values))


def summary(knowledge: Knowledge, finding: Finding) -> str:
    text = _fill(knowledge.rules[finding.rule_id]["summary"], finding.values)
    text = text[0].upper() + text[1:]
    return text if len(text) <= SUMMARY_LIMIT else text[: SUMMARY_LIMIT - 1].rstrip() + "…"


def _patient_lines(finding: Finding) -> list[str]:
    lines = []
    for lab in finding.labs:
        sent = (
            f"; sent as {lab.as_sent}"
            if lab.as_sent and not lab.as_sent.startswith("computed")
            else f"; {lab.as_sent}"
            if lab.as_sent
            else ""
        )
        lines.append(
            f"- {ANALYTE_NAMES.get(lab.analyte, lab.analyte)}: **{lab_value(lab)}** "
            f"on {lab.effective.date().isoformat()} ({lab.status}{sent})"
        )
    for order, name in zip(finding.orders, finding.order_names, strict=False):
        shown = order.concept.text.split(" | ")[0] or name
        if order.kind == "administration" or order.status == "completed":
            when = f" on {order.when.date().isoformat()}" if order.when else ""
            lines.append(f"- Given: {shown}{when} ({order.status})")
        else:
            lines.append(f"- Order: {shown} ({order.status})")
    return lines


def detail(knowledge: Knowledge, finding: Finding) -> str:
    """Markdown: what to do, this patient's values, notes, strength and certainty, citation."""
    rule = knowledge.rules[finding.rule_id]
    rec = rule["recommendation"]
    lead = rule.get("detail_lead")  # why the card says what it says, before what to do
    parts = [_fill(lead, finding.values), rule["detail"]] if lead else [rule["detail"]]
    lines = _patient_lines(finding)
    if lines:
        parts.append("**This patient**\n\n" + "\n".join(lines))
    parts += [_fill(knowledge.notes[n.key], n.values) for n in finding.notes]
    parts.append(
        f"**Recommendation:** {rec['statement']} "
        f"(direction: {rec['direction']}; {_grade(knowledge, finding, rec)})"
    )
    cited = [knowledge.citations[c] for c in rule["citations"]]
    parts.append(
        "**Sources**\n\n"
        + "\n".join(f"- {c['text']}" + (f" <{c['url']}>" if c.get("url") else "") for c in cited)
    )
    return "\n\n".join(parts)


def _grade(knowledge: Knowledge, finding: Finding, rec: dict[str, Any]) -> str:
    """'strength: strong; certainty: moderate', or each named agent's own grade when the
    guideline grades the agents of one rule differently (bupropion moderate, clonazepam very low).
    """
    by_ingredient = rec.get("by_ingredient")
    if not by_ingredient:
        return f"strength: {rec['strength']}; certainty: {rec['certainty']}"
    names = {i.id: i.display for i in knowledge.ingredients}
    ids = {display: iid for iid, display in names.items()}
    named = [ids.get(name) for name in dict.fromkeys(finding.order_names)]
    graded = [i for i in named if i in by_ingredient] or list(by_ingredient)
    return "; ".join(
        f"{names[i]}: strength {by_ingredient[i]['strength']}, "
        f"certainty {by_ingredient[i]['certainty']}"
        for i in graded
    )


def render_card(
    knowledge: Knowledge,
    finding: Finding,
    patient_id: str,
    new_uuid: Callable[[], str] | None = None,
) -> dict[str, Any]:
    """One card. ``new_uuid`` makes suggestion uuids (injected for reproducible tests)."""
    make_uuid = new_uuid or fresh_uuid
    recs = knowledge.raw["recommendations"]
    rule = knowledge.rules[finding.rule_id]
    # A card's source links the first cited source that has an address (seeds have none).
    linked = [knowledge.citations[c] for c in rule["citations"] if "url" in knowledge.citations[c]]
    card: dict[str, Any] = {
        "uuid": new_card_uuid(finding.rule_id),
        "summary": summary(knowledge, finding),
        "indicator": finding.indicator,
        "detail": detail(knowledge, finding),
        "source": {
            "label": rule.get("source_label", recs["source_label"]),
            **({"url": linked[0]["url"]} if linked else {}),
            "topic": {
                "system": recs["topic_system"],
                "code": finding.rule_id,
                "display": rule["title"],
            },
        },
    }
    suggestions = suggestions_for(knowledge, finding, patient_id, make_uuid)
    if suggestions:
        card["suggestions"] = suggestions
        card["selectionBehavior"] = "at-most-one"
    reasons = rule.get("override_reasons", [])
    if reasons:
        card["overrideReasons"] = [
            {
                "system": recs["override_reason_system"],
                "code": code,
                "display": recs["override_reasons"][code],
            }
            for code in reasons
        ]
    return card
