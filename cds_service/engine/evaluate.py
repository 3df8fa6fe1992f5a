"""The one entry point of the guideline core: facts + knowledge + now -> findings."""

from __future__ import annotations

from cds_service.engine.drug_rules import (
    against_findings,
    alpha2delta_finding,
    augmentation_finding,
    opioid_finding,
)
from cds_service.engine.facts import HookInput, PatientRecord
from cds_service.engine.findings import Finding, Note
from cds_service.engine.gates import patient_gates, withheld_and_why
from cds_service.engine.iron import NOT_QUALIFIES, UNKNOWN
from cds_service.engine.iron_rules import decide, iron_findings, iron_sucrose_finding
from cds_service.engine.reading_rules import data_not_read, order_not_checked
from cds_service.engine.situation import Situation, situation
from cds_service.knowledge import Knowledge

IRON_RULES = ("iron", "iv-iron", "oral-iron")  # rule id prefixes of the iron cards
SHOWN_TEXT = 80  # characters of a diagnosis text quoted in the card
SEVERITY = {"critical": 0, "warning": 1, "info": 2}  # most important first: EHRs may show a few


def rls_evidence(s: Situation) -> tuple[str, str] | None:
    """How RLS is established, ('code' | 'text', where), coded evidence first; None: no RLS.

    An active Condition coded RLS, or an order whose stated reason is RLS (decision 2). Text
    counts only where there is no coding at all (see ConceptSet.match).
    """
    rls = s.knowledge.conditions["rls"]
    by_text: tuple[str, str] | None = None  # the first evidence from text, if nothing is coded
    for condition in s.record.conditions:
        if condition.active:
            kind = rls.match(condition.concept.codings, condition.concept.text)
            if kind:
                found = (kind, f'{condition.ref} ("{condition.concept.text[:SHOWN_TEXT]}")')
                if kind == "code":
                    return found
                by_text = by_text or found
    for med in s.all_drafts + s.active:
        for reason in med.fact.reasons:
            kind = rls.match(reason.codings, reason.text)
            if kind:
                found = (kind, f'the reason of {med.fact.ref} ("{reason.text[:SHOWN_TEXT]}")')
                if kind == "code":
                    return found
                by_text = by_text or found
    return by_text


def has_rls(s: Situation) -> bool:
    """The RLS gate: an active RLS condition, or an order whose stated reason is RLS."""
    return rls_evidence(s) is not None


def rls_relevant_draft(s: Situation) -> bool:
    """Order hooks act only when a drug relevant to RLS, not ordered for another stated
    reason, is among the orders being judged (decision 2: the order's reason wins)."""
    classes = s.knowledge.classes
    for m in s.drafts:  # a loop, not any() over a generator: this runs on every order hook
        if classes[m.ingredient.drug_class].get("rls_relevant") and s.intent(m) != "other":
            return True
    return False


def evaluate(
    knowledge: Knowledge, record: PatientRecord, hook: HookInput, *, freshness_days: float
) -> list[Finding]:
    """Every finding for this patient and hook, one per rule, most important first."""
    s = situation(knowledge, record, hook, freshness_days)
    evidence = rls_evidence(s)
    if evidence is None:
        return []
    unchecked = order_not_checked(s)
    if s.order_hook and not rls_relevant_draft(s):
        finish = _Finisher(s, patient_gates(s, UNKNOWN), evidence)
        return most_important_first(knowledge, [finish(f) for f in unchecked])
    decision, notes = decide(s)
    findings = iron_findings(s, decision, notes) + iron_sucrose_finding(s)
    findings += against_findings(s) + augmentation_finding(s) + opioid_finding(s)
    not_qualifying = s.recent_infusion is None and decision is NOT_QUALIFIES
    findings += alpha2delta_finding(s, findings, not_qualifying)
    findings = unchecked + findings
    findings += data_not_read(s, findings)
    finish = _Finisher(s, patient_gates(s, decision), evidence)
    return most_important_first(knowledge, [finish(f) for f in findings])


def most_important_first(knowledge: Knowledge, findings: list[Finding]) -> list[Finding]:
    """Critical, then warning, then info; within one indicator, the knowledge's card_order."""
    rank = knowledge.card_rank
    return sorted(findings, key=lambda f: (SEVERITY[f.indicator], rank[f.rule_id]))


class _Finisher:
    """Common notes, and the suggestions this patient's gates withhold (one place for all).

    The notes that depend on the patient alone are made once per evaluation, then added to
    each finding in the order a card shows them.
    """

    def __init__(self, s: Situation, gates: frozenset[str], evidence: tuple[str, str]) -> None:
        self.s, self.gates = s, gates
        first = []
        if evidence[0] == "text":
            first.append(Note("rls-from-text", {"source": evidence[1]}))
        if not s.age_known:
            first.append(Note("age-unknown"))
        iron = []
        unusable = [f"{u.ref} ({u.reason})" for u in s.iron.unusable]
        if unusable:
            iron.append(Note("unusable-labs", {"unusable": "; ".join(unusable)}))
        if s.active_iv_iron:
            names = ", ".join(dict.fromkeys([m.ingredient.display for m in s.active_iv_iron]))
            iron.append(Note("iv-iron-order-active", {"orders": names}))
        skipped = s.record.skipped
        self.first = tuple(first)
        self.iron = tuple(iron)
        self.last = (Note("skipped-resources", {"skipped": "; ".join(skipped)}),) if skipped else ()

    def __call__(self, finding: Finding) -> Finding:
        s = self.s
        notes = list(self.first)
        if self.iron and finding.rule_id.startswith(IRON_RULES):
            notes += self.iron
        withheld, why = withheld_and_why(s.knowledge, finding.rule_id, self.gates)
        if why:
            notes.append(Note("suggestions-withheld", {"why": why}))
        notes += self.last
        if not notes and not withheld:
            return finding
        return Finding(
            finding.rule_id,
            finding.indicator,
            finding.orders,
            finding.order_names,
            finding.labs,
            finding.values,
            finding.notes + tuple(notes),
            finding.drafted_classes,
            withheld,
        )
