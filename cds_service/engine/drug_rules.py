"""The medication rules: agents the guideline advises against, and what to use instead."""

from __future__ import annotations

from cds_service.engine.findings import Finding, Note, order_finding
from cds_service.engine.medications import ClassifiedMedication
from cds_service.engine.situation import Situation

AGAINST = (
    ("dopamine-agonist", "dopamine-agonist-against"),
    ("levodopa", "levodopa-against"),
    ("cabergoline", "cabergoline-strong-against"),
    ("ketamine", "ketamine-not-recommended"),
)
AGONISTS = frozenset({"dopamine-agonist", "levodopa"})
AGONIST_WARNINGS = frozenset({"dopamine-agonist-against", "levodopa-against"})


def _finding(
    s: Situation, rule_id: str, meds: tuple[ClassifiedMedication, ...], indicator: str | None = None
) -> Finding | None:
    """One card for every order of ``meds`` not stated to be for another condition.

    When none of them states a reason and the problem list holds a condition the drug also
    treats, the card is downgraded to info and says why (decision 2).
    """
    meds = tuple([m for m in meds if s.intent(m) != "other"])
    if not meds:
        return None
    indicator = indicator or s.knowledge.rules[rule_id]["indicator"]
    notes: tuple[Note, ...] = ()
    competing = [s.competing(m) for m in meds]
    if all(competing):
        indicator = "info"
        notes = (Note("competing-indication", {"condition": str(competing[0])}),)
    return order_finding(rule_id, indicator, meds, notes, s.drafted_classes)


def against_findings(s: Situation) -> list[Finding]:
    """Drafted dopamine agonists, levodopa, cabergoline, ketamine; then not-recommended agents."""
    if not s.order_hook:
        return []
    drafted = s.by_class
    found = [
        _finding(s, rule_id, drafted[drug_class])
        for drug_class, rule_id in AGAINST
        if drug_class in drafted
    ]
    # Decision 7: only for RLS or with no stated reason; no downgrade logic applies.
    agents = tuple([m for m in s.drafted("not-recommended") if s.intent(m) in ("rls", "unstated")])
    if agents:
        found.append(order_finding("not-recommended-agent", "info", agents))
    return [f for f in found if f is not None]


def augmentation_finding(s: Situation) -> list[Finding]:
    """patient-view: an active dopamine agonist or levodopa for RLS -> screen for augmentation."""
    if s.hook != "patient-view":
        return []
    meds = tuple([m for m in s.active if m.ingredient.drug_class in AGONISTS])
    finding = _finding(s, "augmentation-risk-active-da", meds)
    return [finding] if finding else []


def alpha2delta_finding(
    s: Situation, others: list[Finding], iron_not_qualifying: bool
) -> list[Finding]:
    """First-line alpha-2-delta card: with an agonist or levodopa warning, after non-qualifying
    iron studies at patient-view, or with an opioid when none was ever tried."""
    if not s.adult or s.pregnant or s.on_alpha2delta():
        return []
    about: tuple[ClassifiedMedication, ...] = ()
    if not AGONIST_WARNINGS.isdisjoint([f.rule_id for f in others]):
        about = tuple([m for m in s.drafts if m.ingredient.drug_class in AGONISTS])
    elif s.hook == "patient-view" and iron_not_qualifying and not s.esrd:
        about = ()
    else:
        opioids = tuple([m for m in s.drafted("opioid") if s.intent(m) != "other"])
        tried = "alpha2delta" in [m.ingredient.drug_class for m in s.history]
        if not opioids or tried:
            return []
        about = opioids
    notes = (Note("esrd-renal-dosing"),) if s.esrd else ()
    return [order_finding("alpha2delta-first-line", "info", about, notes)]


def opioid_finding(s: Situation) -> list[Finding]:
    """A low-dose opioid drafted while an alpha-2-delta ligand is active: refractory option."""
    if not s.order_hook:
        return []
    on_a2d = "alpha2delta" in s.active_classes
    opioids = tuple([
        m for m in s.drafted("opioid") if m.ingredient.refractory_option and s.intent(m) != "other"
    ])
    if not (on_a2d and opioids):
        return []
    return [order_finding("opioid-refractory-option", "info", opioids)]
