"""Findings to CDS Hooks 2.0 cards: text from the knowledge file, the patient's own values.

Everything a card takes from the knowledge alone (its templates, recommendation line, sources,
source, override reasons, suggestion specs) is prepared once per rule (``RulePlan``); a card
joins those parts with the finding's values.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cds_service.cards.card_ids import new_uuid as fresh_uuid
from cds_service.cards.card_ids import pooled_uuid, rule_prefix
from cds_service.cards.suggestions import SuggestionPlan, suggestion_plans, suggestions_for
from cds_service.cards.templates import Template
from cds_service.engine.findings import Finding
from cds_service.engine.format import lab_value
from cds_service.knowledge import Knowledge

SUMMARY_LIMIT = 139
ANALYTE_NAMES = {
    "ferritin": "Ferritin",
    "tsat": "Transferrin saturation",
    "hemoglobin": "Hemoglobin",
}


class RulePlan:
    """The parts of one rule's cards that depend on the knowledge alone."""

    __slots__ = (
        "rule_id", "summary", "lead", "detail", "tail", "grade_head", "grade_tail",
        "by_ingredient", "source", "suggestions", "override_reasons", "prefix", "capitalised",
    )

    def __init__(self, knowledge: Knowledge, rule_id: str) -> None:
        recs = knowledge.raw["recommendations"]
        rule = knowledge.rules[rule_id]
        rec = rule["recommendation"]
        self.rule_id = rule_id
        self.prefix = rule_prefix(rule_id)
        self.summary = Template(rule["summary"])
        # a summary that opens with a capital letter of its own needs no capitalising per card
        opening = self.summary.parts[0][0] if self.summary.parts else ""
        self.capitalised = bool(opening) and opening[0].upper() == opening[0]
        lead = rule.get("detail_lead")  # why the card says what it says, before what to do
        self.lead = Template(lead) if lead else None
        self.detail: str = rule["detail"]
        cited = [knowledge.citations[c] for c in rule["citations"]]
        sources = "**Sources**\n\n" + "\n".join([
            f"- {c['text']}" + (f" <{c['url']}>" if c.get("url") else "") for c in cited
        ])
        head = f"\n\n**Recommendation:** {rec['statement']} (direction: {rec['direction']}; "
        self.by_ingredient = _grades(knowledge, rec.get("by_ingredient"))
        if self.by_ingredient is None:
            grade = f"strength: {rec['strength']}; certainty: {rec['certainty']}"
            self.tail = f"{head}{grade})\n\n{sources}"
        else:
            self.grade_head, self.grade_tail = head, f")\n\n{sources}"
        # A card's source links the first cited source that has an address (seeds have none).
        linked = [c for c in (knowledge.citations[c] for c in rule["citations"]) if "url" in c]
        self.source: dict[str, Any] = {
            "label": rule.get("source_label", recs["source_label"]),
            **({"url": linked[0]["url"]} if linked else {}),
            "topic": {"system": recs["topic_system"], "code": rule_id, "display": rule["title"]},
        }
        self.suggestions: tuple[SuggestionPlan, ...] = suggestion_plans(knowledge, rule_id)
        self.override_reasons = [
            {
                "system": recs["override_reason_system"],
                "code": code,
                "display": recs["override_reasons"][code],
            }
            for code in rule.get("override_reasons", [])
        ]


def _grades(
    knowledge: Knowledge, by_ingredient: dict[str, dict[str, str]] | None
) -> tuple[dict[str, str], dict[str, str], dict[str, str]] | None:
    """(ingredient display -> id, id -> its grade text, id -> its grade text for the ids the
    rule grades) for a rule that grades its agents one by one, else None."""
    if not by_ingredient:
        return None
    names = {i.id: i.display for i in knowledge.ingredients}
    ids = {display: iid for iid, display in names.items()}
    texts = {
        i: f"{names[i]}: strength {grade['strength']}, certainty {grade['certainty']}"
        for i, grade in by_ingredient.items()
        if i in names  # an unknown id fails when a card would show it, as it always did
    }
    return ids, texts, {i: i for i in by_ingredient}


def rule_plan(knowledge: Knowledge, rule_id: str) -> RulePlan:
    """The plan of ``rule_id`` (made the first time a card of it is rendered)."""
    return knowledge.derived_by_key(RulePlan)[rule_id]


def summary(knowledge: Knowledge, finding: Finding) -> str:
    return _summary(rule_plan(knowledge, finding.rule_id), finding)


def _summary(plan: RulePlan, finding: Finding) -> str:
    text = plan.summary.fill(finding.values)
    if not plan.capitalised:
        text = text[0].upper() + text[1:]
    return text if len(text) <= SUMMARY_LIMIT else text[: SUMMARY_LIMIT - 1].rstrip() + "…"


def _patient_lines(finding: Finding) -> list[str]:
    lines = []
    for lab in finding.labs:
        sent = lab.as_sent
        if sent:
            sent = f"; {sent}" if sent.startswith("computed") else f"; sent as {sent}"
        lines.append(
            f"- {ANALYTE_NAMES.get(lab.analyte, lab.analyte)}: **{lab_value(lab)}** "
            f"on {lab.effective.date().isoformat()} ({lab.status}{sent})"
        )
    # zip's default strict=False, not passed: a keyword argument makes zip() build a dict
    named = zip(finding.orders, finding.order_names)  # noqa: B905
    for order, name in named:
        shown = order.concept.text.partition(" | ")[0] or name
        if order.kind == "administration" or order.status == "completed":
            when = f" on {order.when.date().isoformat()}" if order.when else ""
            lines.append(f"- Given: {shown}{when} ({order.status})")
        else:
            lines.append(f"- Order: {shown} ({order.status})")
    return lines


def detail(knowledge: Knowledge, finding: Finding) -> str:
    """Markdown: what to do, this patient's values, notes, strength and certainty, citation."""
    return _detail(knowledge, rule_plan(knowledge, finding.rule_id), finding)


def _detail(knowledge: Knowledge, plan: RulePlan, finding: Finding) -> str:
    parts = [plan.lead.fill(finding.values), plan.detail] if plan.lead else [plan.detail]
    lines = _patient_lines(finding)
    if lines:
        parts.append("**This patient**\n\n" + "\n".join(lines))
    if finding.notes:
        parts += [note_template(knowledge, n.key).fill(n.values) for n in finding.notes]
    if plan.by_ingredient is None:
        return "\n\n".join(parts) + plan.tail
    return "\n\n".join(parts) + plan.grade_head + _grade(plan, finding) + plan.grade_tail


def _note_template(knowledge: Knowledge, key: str) -> Template:
    return Template(knowledge.notes[key])


def note_template(knowledge: Knowledge, key: str) -> Template:
    """The note ``key`` of the knowledge file, parsed the first time a card shows it."""
    return knowledge.derived_by_key(_note_template)[key]


def _grade(plan: RulePlan, finding: Finding) -> str:
    """Each named agent's own grade when the guideline grades the agents of one rule
    differently (bupropion moderate, clonazepam very low); all the rule grades when none is."""
    assert plan.by_ingredient is not None
    ids, texts, graded_ids = plan.by_ingredient
    named = [ids.get(name) for name in dict.fromkeys(finding.order_names)]
    graded = [i for i in named if i in graded_ids] or list(graded_ids)
    return "; ".join([texts[i] for i in graded])


def render_card(
    knowledge: Knowledge,
    finding: Finding,
    patient_id: str,
    new_uuid: Callable[[], str] | None = None,
) -> dict[str, Any]:
    """One card. ``new_uuid`` makes suggestion uuids (injected for reproducible tests)."""
    plan = knowledge.derived_by_key(RulePlan)[finding.rule_id]  # rule_plan, without a call
    try:
        uuid = pooled_uuid()
    except IndexError:  # the pool is empty: new_uuid refills it
        uuid = fresh_uuid()
    # The plan's source and override reasons are shared by every card of the rule, as the
    # suggestions' prepared parts are: nothing changes a card after it is built.
    card: dict[str, Any] = {
        "uuid": plan.prefix + uuid[8:],  # the first group names the rule (card_ids)
        "summary": _summary(plan, finding),
        "indicator": finding.indicator,
        "detail": _detail(knowledge, plan, finding),
        "source": plan.source,
    }
    if plan.suggestions:
        suggestions = suggestions_for(plan.suggestions, finding, patient_id, new_uuid)
        if suggestions:
            card["suggestions"] = suggestions
            card["selectionBehavior"] = "at-most-one"
    if plan.override_reasons:
        card["overrideReasons"] = plan.override_reasons
    return card
