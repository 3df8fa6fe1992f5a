"""The one place that decides which one-click suggestions a patient may be offered.

Each suggestion spec in recommendations.json lists the patient gates under which it is never a
one-click order (``not_for``) or which it needs (``only_for``). The card's own text still informs;
only the order that a click would create is withheld.
"""

from __future__ import annotations

from cds_service.engine.iron import Decision, below
from cds_service.engine.medications import ClassifiedMedication
from cds_service.engine.situation import Situation


def active_iv_iron_orders(s: Situation) -> tuple[ClassifiedMedication, ...]:
    """IV iron orders already on file (active or on hold): no second one is suggested."""
    return tuple(m for m in s.active if m.drug_class == "iron-iv")


def patient_gates(s: Situation, decision: Decision) -> frozenset[str]:
    """Every gate that applies to this patient now (names as in ``suggestion_gates``)."""
    gates = {"adult" if s.adult else "child"}
    if s.esrd:
        gates.add("esrd")
    if s.pregnant:
        gates.add("pregnant")
    if s.recent_infusion is not None:
        gates.add("recent-iv-iron")
    if active_iv_iron_orders(s):
        gates.add("iv-iron-order-active")
    if below(s.iron.tsat, s.knowledge.threshold("tsat_safety_cap"), False) is False:
        gates.add("tsat-at-or-above-cap")
    if decision is Decision.NOT_QUALIFIES:
        gates.add("iron-criteria-not-met")
    return frozenset(gates)


def withheld_suggestions(
    s: Situation, rule_id: str, gates: frozenset[str]
) -> dict[str, str | None]:
    """Label -> the gate that withholds it (None when it lacks an ``only_for`` gate)."""
    withheld: dict[str, str | None] = {}
    for spec in s.knowledge.rules[rule_id].get("suggestions", []):
        blocking = [g for g in spec.get("not_for", []) if g in gates]
        if blocking:
            withheld[spec["label"]] = blocking[0]
        elif spec.get("only_for") and not gates & set(spec["only_for"]):
            withheld[spec["label"]] = None
    return withheld
