"""The one entry point of the guideline core: facts + knowledge + now -> findings."""

from __future__ import annotations

from dataclasses import replace

from cds_service.engine.drug_rules import (
    against_findings,
    alpha2delta_finding,
    augmentation_finding,
    opioid_finding,
)
from cds_service.engine.facts import HookInput, PatientRecord
from cds_service.engine.findings import Finding, Note
from cds_service.engine.iron import Decision
from cds_service.engine.iron_rules import decide, iron_findings, iron_sucrose_finding
from cds_service.engine.reading_rules import data_not_read, order_not_checked
from cds_service.engine.situation import Situation, situation
from cds_service.knowledge import Knowledge


def has_rls(s: Situation) -> bool:
    """The RLS gate: an active RLS condition, or an order whose stated reason is RLS."""
    if s.has("rls"):
        return True
    return any(s.intent(m) == "rls" for m in s.all_drafts + s.active)


def rls_relevant_draft(s: Situation) -> bool:
    """Order hooks act only when a drug relevant to RLS, not ordered for another stated
    reason, is among the orders being judged (decision 2: the order's reason wins)."""
    return any(
        s.knowledge.classes[m.drug_class].get("rls_relevant") and s.intent(m) != "other"
        for m in s.drafts
    )


def evaluate(
    knowledge: Knowledge, record: PatientRecord, hook: HookInput, *, freshness_days: float
) -> list[Finding]:
    """Every finding for this patient and hook, one per rule, in a stable order."""
    s = situation(knowledge, record, hook, freshness_days)
    if not has_rls(s):
        return []
    unchecked = order_not_checked(s)
    if s.order_hook and not rls_relevant_draft(s):
        return [_with_common_notes(s, f) for f in unchecked]
    decision, notes = decide(s)
    findings = iron_findings(s, decision, notes) + iron_sucrose_finding(s)
    findings += against_findings(s) + augmentation_finding(s) + opioid_finding(s)
    not_qualifying = s.recent_infusion is None and decision is Decision.NOT_QUALIFIES
    findings += alpha2delta_finding(s, findings, not_qualifying)
    findings = unchecked + findings
    findings += data_not_read(s, findings)
    return [_with_common_notes(s, f) for f in findings]


def _with_common_notes(s: Situation, finding: Finding) -> Finding:
    notes = []
    if not s.age_known:
        notes.append(Note("age-unknown"))
    unusable = [f"{u.ref} ({u.reason})" for u in s.iron.unusable]
    if unusable and finding.rule_id.startswith(("iron", "iv-iron", "oral-iron")):
        notes.append(Note("unusable-labs", {"unusable": "; ".join(unusable)}))
    if s.record.skipped:
        notes.append(Note("skipped-resources", {"skipped": "; ".join(s.record.skipped)}))
    return replace(finding, notes=finding.notes + tuple(notes)) if notes else finding
