"""The iron rules: indicated, not indicated, studies needed, and the special populations."""

from __future__ import annotations

from fractions import Fraction

from cds_service.engine.findings import Finding, Note, order_finding
from cds_service.engine.format import lab_phrase, lab_value
from cds_service.engine.iron import (
    NOT_QUALIFIES,
    QUALIFIES,
    UNKNOWN,
    Decision,
    below,
    combine_all,
    combine_any,
)
from cds_service.engine.medications import ClassifiedMedication, ingredient_of
from cds_service.engine.situation import Situation

QUALIFYING_RULE = {
    "child": "oral-iron-pediatric",
    "esrd": "iron-sucrose-esrd",
    "pregnant": "iron-deficiency-pregnancy",
    "adult": "iv-iron-indicated",
}
_FERRITIN_LIMIT = {"child": "ferritin_pediatric_below", "esrd": "ferritin_esrd_below"}


def population(s: Situation) -> str:
    """Which iron rule set applies: child, then ESRD, then pregnancy, then adult."""
    if not s.adult:
        return "child"
    if s.esrd:
        return "esrd"
    return "pregnant" if s.pregnant else "adult"


def decide(s: Situation) -> tuple[Decision, tuple[Note, ...]]:
    """The iron decision for this population, with the notes that explain a 'not indicated'."""
    limit, ferritin, tsat = s.knowledge.thresholds, s.iron.ferritin, s.iron.tsat  # exact limits
    group = population(s)
    capped = below(tsat, limit["tsat_safety_cap"], False) is False  # TSAT >= 45 %: no iron
    if group == "child":
        decision = combine_any(below(ferritin, limit["ferritin_pediatric_below"], False))
        if decision is QUALIFIES and capped:
            return NOT_QUALIFIES, (Note("tsat-safety-cap"),)
        return decision, ()
    if group == "esrd":
        return combine_all(
            below(ferritin, limit["ferritin_esrd_below"], False),
            below(tsat, limit["tsat_iron_below"], False),
        ), ()
    ferritin_low = below(ferritin, limit["ferritin_iron_max"], True)
    tsat_low = below(tsat, limit["tsat_iron_below"], False)
    decision = combine_any(ferritin_low, tsat_low)
    if decision is QUALIFIES and capped:
        return NOT_QUALIFIES, (Note("tsat-safety-cap"),)
    if (
        decision is NOT_QUALIFIES
        and below(ferritin, limit["ferritin_iv_only_max"], True) is True
    ):
        return decision, (Note("ferritin-iv-band"),)
    return decision, ()


def _used_labs(s: Situation):
    return tuple([f for f in (s.iron.ferritin, s.iron.tsat) if f is not None])


def _iron_drafts(s: Situation) -> tuple[ClassifiedMedication, ...]:
    """Judged iron orders, except those stated to be for another reason (decision 2)."""
    return _iron_orders(s, s.drafts)


def _iron_orders(
    s: Situation, meds: tuple[ClassifiedMedication, ...]
) -> tuple[ClassifiedMedication, ...]:
    return tuple([
        m
        for m in meds
        if s.knowledge.classes[m.ingredient.drug_class].get("iron") and s.intent(m) != "other"
    ])


def _recent_infusion(s: Situation, base: dict) -> Finding:
    infusion = s.recent_infusion
    assert infusion is not None
    given = ingredient_of(s.knowledge, infusion.concept)
    hb = s.iron.hemoglobin
    notes: tuple[Note, ...] = ()
    if hb and below(hb, s.knowledge.thresholds["hemoglobin_nonresponder_below"], False):
        notes = (Note("recent-infusion-labs", {"hemoglobin": lab_value(hb)}),)
    return Finding(
        "iv-iron-recent-infusion",
        "info",
        orders=(infusion, *base["orders"]),
        order_names=(given.display if given else "IV iron", *base["order_names"]),
        labs=_used_labs(s) + ((hb,) if hb else ()),
        values={"infusion_date": infusion.when.date().isoformat() if infusion.when else "recently"},
        notes=notes,
        drafted_classes=base["drafted_classes"],
    )


def iron_findings(s: Situation, decision: Decision, notes: tuple[Note, ...]) -> list[Finding]:
    """At most one iron card: recent infusion, qualifying, studies needed, or not indicated.

    ``decision`` and ``notes`` are what :func:`decide` says for this situation.
    """
    iron_drafts = _iron_drafts(s)
    base = {
        "orders": tuple([m.fact for m in iron_drafts]),
        "order_names": tuple([m.ingredient.display for m in iron_drafts]),
        "drafted_classes": s.drafted_classes,
    }
    if s.recent_infusion is not None:
        return [_recent_infusion(s, base)]
    if decision is QUALIFIES:
        group = population(s)
        trigger = [
            lab_phrase(f)
            for f, limit, inclusive in (
                (s.iron.ferritin, _ferritin_limit(s, group), group in ("adult", "pregnant")),
                (s.iron.tsat, s.knowledge.thresholds["tsat_iron_below"], False),
            )
            if f is not None and below(f, limit, inclusive)
        ]
        return [
            Finding(
                QUALIFYING_RULE[group],
                "info",
                labs=_used_labs(s),
                values={"trigger": ", ".join(trigger)},
                **base,
            )
        ]
    if decision is UNKNOWN:
        # Say why, with each result's age and the limit, or why it was set aside: a card must
        # never call iron status unknown while showing a ferritin without saying why.
        texts = s.knowledge.raw["recommendations"]["set_aside"]
        bounded = ", ".join([lab_phrase(f) for f in _used_labs(s) if f.comparator])  # '<100'
        if s.iron.why:
            missing, why = s.iron.missing(), s.iron.explained()
        elif bounded:
            missing = texts["bound_short"].format(labs=bounded)
            why = texts["bound"].format(labs=bounded[0].upper() + bounded[1:])
        else:
            missing, why = texts["undecided_short"], texts["undecided"]
        return [
            Finding(
                "iron-studies-needed",
                "warning" if iron_drafts else "info",
                labs=_used_labs(s) + s.iron.stale,
                values={"missing": missing, "why": why},
                **base,
            )
        ]
    if iron_drafts and s.order_hook:
        values = {
            "trigger": ", ".join([lab_phrase(f) for f in _used_labs(s)]),
            "orders": ", ".join(base["order_names"]),
        }
        return [
            Finding(
                "iv-iron-not-indicated",
                "info",
                labs=_used_labs(s),
                values=values,
                notes=notes,
                **base,
            )
        ]
    return []


def _ferritin_limit(s: Situation, group: str) -> Fraction:
    return s.knowledge.thresholds[_FERRITIN_LIMIT.get(group, "ferritin_iron_max")]



def iron_sucrose_finding(s: Situation) -> list[Finding]:
    """Iron sucrose drafted for a non-ESRD adult: ferric carboxymaltose has the evidence."""
    if not s.order_hook or not s.adult or s.esrd:
        return []
    sucrose = tuple([m for m in s.drafts if m.ingredient.id == "iron-sucrose"])
    sucrose = _iron_orders(s, sucrose) if sucrose else ()
    return [order_finding("iron-sucrose-not-preferred", "info", sucrose)] if sucrose else []
