"""The one place that decides which one-click suggestions a patient may be offered.

Each suggestion spec in recommendations.json lists the patient gates under which it is never a
one-click order (``not_for``) or which it needs (``only_for``). The card's own text still informs;
only the order that a click would create is withheld.
"""

from __future__ import annotations

from cds_service.engine.iron import NOT_QUALIFIES, Decision, below
from cds_service.engine.medications import ClassifiedMedication
from cds_service.engine.situation import Situation
from cds_service.knowledge import Knowledge


def active_iv_iron_orders(s: Situation) -> tuple[ClassifiedMedication, ...]:
    """IV iron orders already on file (active or on hold): no second one is suggested."""
    return s.active_iv_iron


def tsat_capped(s: Situation) -> bool:
    """TSAT at or above the safety cap: no iron is suggested."""
    return below(s.iron.tsat, s.knowledge.thresholds["tsat_safety_cap"], False) is False


def patient_gates(s: Situation, decision: Decision) -> frozenset[str]:
    """Every gate that applies to this patient now (names as in ``suggestion_gates``)."""
    gates = {"adult" if s.adult else "child"}
    if s.esrd:
        gates.add("esrd")
    if s.pregnant:
        gates.add("pregnant")
    if s.recent_infusion is not None:
        gates.add("recent-iv-iron")
    if s.active_iv_iron:
        gates.add("iv-iron-order-active")
    if tsat_capped(s):
        gates.add("tsat-at-or-above-cap")
    if decision is NOT_QUALIFIES:
        gates.add("iron-criteria-not-met")
    return frozenset(gates)


GateSpec = tuple[str, tuple[str, ...], frozenset[str]]  # label, not_for, only_for (may be empty)


def _gate_specs(knowledge: Knowledge, rule_id: str) -> tuple[GateSpec, ...]:
    return tuple([
        (spec["label"], tuple(spec.get("not_for", [])), frozenset(spec.get("only_for") or ()))
        for spec in knowledge.rules[rule_id].get("suggestions", [])
    ])


def gate_specs(knowledge: Knowledge, rule_id: str) -> tuple[GateSpec, ...]:
    """The gates of each suggestion of ``rule_id``, read from the file once."""
    return knowledge.derived_by_key(_gate_specs)[rule_id]


def withheld_suggestions(
    s: Situation, rule_id: str, gates: frozenset[str]
) -> dict[str, str | None]:
    """Label -> the gate that withholds it (None when it lacks an ``only_for`` gate)."""
    return _withheld(s.knowledge, rule_id, gates)


def _withheld(knowledge: Knowledge, rule_id: str, gates: frozenset[str]) -> dict[str, str | None]:
    withheld: dict[str, str | None] = {}
    for label, not_for, only_for in gate_specs(knowledge, rule_id):
        blocking = [g for g in not_for if g in gates]
        if blocking:
            withheld[label] = blocking[0]
        elif only_for and not gates & only_for:
            withheld[label] = None
    return withheld


OWN_NOTE = frozenset({"iv-iron-order-active", "recent-iv-iron"})  # cards that say why already
Withheld = tuple[frozenset[str], str]  # the labels withheld, and why ("" when nothing to say)


def withheld_and_why(knowledge: Knowledge, rule_id: str, gates: frozenset[str]) -> Withheld:
    """The labels of ``rule_id``'s suggestions that ``gates`` withhold, and the phrases that say
    why (gates whose card does not already say it), worked out once per rule and gate set."""
    table: dict[tuple[str, frozenset[str]], Withheld] = knowledge.derived(_empty_table)
    key = (rule_id, gates)
    found = table.get(key)
    if found is None:
        found = table[key] = _withheld_and_why(knowledge, rule_id, gates)
    return found


def _empty_table(knowledge: Knowledge) -> dict[tuple[str, frozenset[str]], Withheld]:
    return {}


def _withheld_and_why(knowledge: Knowledge, rule_id: str, gates: frozenset[str]) -> Withheld:
    withheld = _withheld(knowledge, rule_id, gates)
    why = [g for g in dict.fromkeys(withheld.values()) if g and g not in OWN_NOTE]
    phrases = knowledge.raw["recommendations"]["suggestion_gates"]
    return frozenset(withheld), "; ".join([phrases[g] for g in why])
