"""Raw prefetch and draft orders -> one PatientRecord and the drafted MedicationFacts.

Resources that are not about the context patient are dropped silently; resources of a type the
rules read that are not valid FHIR R4 are skipped and named, never allowed to sink the request.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from cds_service.engine.facts import (
    ConditionFact,
    LabFact,
    MedicationFact,
    PatientFact,
    PatientRecord,
    UnusableLab,
)
from cds_service.fhir.concepts import concept_of, first_code
from cds_service.fhir.dates import parse_fhir_date
from cds_service.fhir.labs import analyte_of, lab_fact
from cds_service.fhir.medications import medication_fact
from cds_service.fhir.resources import (
    ResourceIndex,
    invalid_reason,
    iter_resources,
    label,
    refers_to,
)
from cds_service.knowledge import Knowledge

ACTIVE_CLINICAL = {"active", "recurrence", "relapse"}
EXCLUDED_VERIFICATION = {"refuted", "entered-in-error"}
MEDICATION_STATUSES = {"active", "on-hold", "completed", "stopped"}
PANEL = {"iron", "tibc", "uibc"}
NEVER = datetime.min.replace(tzinfo=UTC)


def _panel_complete(usable: list[LabFact], latest: LabFact) -> bool:
    """Whether ``latest``'s day now has a valid iron and a valid TIBC or UIBC."""
    day = latest.effective.date()
    found = {f.analyte for f in usable if f.analyte in PANEL and f.effective.date() == day}
    return "iron" in found and bool(found & {"tibc", "uibc"})
ADMINISTRATION_STATUSES = {"completed", "in-progress"}


class _Reader:
    def __init__(self, knowledge: Knowledge, patient_id: str, index: ResourceIndex) -> None:
        self.knowledge, self.patient_id, self.index = knowledge, patient_id, index
        self.skipped: list[str] = []

    def mine(self, resource: Mapping[str, Any], field: str = "subject") -> bool:
        return refers_to(resource.get(field), "Patient", self.patient_id)

    def valid(self, resource: Mapping[str, Any]) -> bool:
        reason = invalid_reason(resource)
        if reason:
            self.skipped.append(f"{label(resource)} ({reason})")
        return reason is None

    def of_type(self, rtype: str) -> list[dict[str, Any]]:
        return self.index.by_type.get(rtype, [])

    def patient(self) -> PatientFact | None:
        for resource in self.of_type("Patient"):
            if resource.get("id") == self.patient_id and self.valid(resource):
                return PatientFact(
                    parse_fhir_date(resource.get("birthDate")), resource.get("gender")
                )
        return None

    def conditions(self) -> tuple[ConditionFact, ...]:
        facts = []
        for resource in self.of_type("Condition"):
            if not self.mine(resource) or not self.valid(resource):
                continue
            clinical = first_code(resource.get("clinicalStatus"))
            verification = first_code(resource.get("verificationStatus"))
            active = (
                clinical in ACTIVE_CLINICAL
                if clinical is not None
                else not any(k.startswith("abatement") for k in resource)
            ) and verification not in EXCLUDED_VERIFICATION
            facts.append(
                ConditionFact(
                    label(resource), concept_of(self.knowledge, resource.get("code")), active
                )
            )
        return tuple(facts)

    def lab_candidates(self) -> list[tuple[LabFact | UnusableLab, dict[str, Any]]]:
        """Every iron-status result of this patient with a usable status, newest first."""
        out = []
        for resource in self.of_type("Observation"):
            analyte = analyte_of(self.knowledge, resource)
            if analyte is None or not self.mine(resource):
                continue
            status = resource.get("status")
            if isinstance(status, str) and status not in self.knowledge.usable_lab_statuses:
                continue  # preliminary, cancelled, entered-in-error...: never cited
            out.append((lab_fact(self.knowledge, resource, analyte, label(resource)), resource))
        out.sort(key=lambda pair: pair[0].effective or NEVER, reverse=True)
        return out

    def labs(self) -> tuple[tuple[LabFact, ...], tuple[UnusableLab, ...]]:
        """The results the rules can use, validating only those (newest first until one fits).

        Per analyte only the newest valid result can matter, and for a computed TSAT only the
        newest day with a valid iron and a valid TIBC or UIBC: a 10,000-result history costs a
        handful of validations, not 10,000.
        """
        usable: list[LabFact] = []
        unusable: list[UnusableLab] = []
        done: set[str] = set()
        panel_day = None
        for fact, resource in self.lab_candidates():
            if isinstance(fact, UnusableLab):
                if fact.analyte not in done:
                    unusable.append(fact)
                continue
            if fact.analyte in PANEL:
                if panel_day is not None and fact.effective.date() != panel_day:
                    continue
            elif fact.analyte in done:
                continue
            if not self.valid(resource):
                continue
            usable.append(fact)
            done.add(fact.analyte)
            if fact.analyte in PANEL and panel_day is None and _panel_complete(usable, fact):
                panel_day = fact.effective.date()
        return tuple(usable), tuple(unusable)

    def medications(self, rtype: str, statuses: set[str], field: str) -> tuple[MedicationFact, ...]:
        facts = []
        for resource in self.of_type(rtype):
            if (
                resource.get("status") in statuses
                and self.mine(resource, field)
                and self.valid(resource)
            ):
                facts.append(medication_fact(self.knowledge, resource, self.index))
        return tuple(facts)


def build_record(knowledge: Knowledge, patient_id: str, index: ResourceIndex) -> PatientRecord:
    """Everything the rules read about ``patient_id`` from the indexed (complete) prefetch."""
    reader = _Reader(knowledge, patient_id, index)
    labs, unusable = reader.labs()
    return PatientRecord(
        patient_id=patient_id,
        patient=reader.patient(),
        conditions=reader.conditions(),
        labs=labs,
        unusable_labs=unusable,
        medications=reader.medications("MedicationRequest", MEDICATION_STATUSES, "subject"),
        administrations=reader.medications(
            "MedicationAdministration", ADMINISTRATION_STATUSES, "subject"
        ),
        skipped=tuple(reader.skipped),
    )


def extract_drafts(
    knowledge: Knowledge, patient_id: str, draft_orders: object, prefetch_index: ResourceIndex
) -> tuple[tuple[MedicationFact, ...], tuple[str, ...]]:
    """The drafted MedicationRequests of ``draftOrders`` for this patient, and what was skipped.

    References resolve within the draft Bundle first, then within the prefetch.
    """
    index = ResourceIndex.of([draft_orders], parent=prefetch_index)
    reader = _Reader(knowledge, patient_id, index)
    drafts = []
    for resource in iter_resources(draft_orders):
        if resource.get("resourceType") != "MedicationRequest":
            continue
        subject = resource.get("subject")
        if subject is not None and not reader.mine(resource):
            continue  # an order for another patient is never ours to judge
        if reader.valid(resource):
            drafts.append(medication_fact(knowledge, resource, index))
    return tuple(drafts), tuple(reader.skipped)
