"""Raw prefetch and draft orders -> one PatientRecord and the drafted MedicationFacts.

Resources that are not about the context patient are dropped silently; resources of a type the
rules read that are not valid FHIR R4, even read leniently, are skipped and named (and a drafted
order that cannot be read becomes a fact saying so), never allowed to sink the request.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from cds_service.engine.facts import (
    Concept,
    ConditionFact,
    LabFact,
    MedicationFact,
    PatientFact,
    PatientRecord,
    UnusableLab,
)
from cds_service.engine.medications import ingredient_of
from cds_service.fhir.concepts import concept_of, first_code
from cds_service.fhir.dates import parse_fhir_date
from cds_service.fhir.lab_selection import select_labs
from cds_service.fhir.medications import medication_concept, medication_fact
from cds_service.fhir.resources import ResourceIndex, is_about_patient, iter_resources, label
from cds_service.fhir.validation import invalid_reason
from cds_service.knowledge import ConceptSet, Knowledge, normalise_code

ACTIVE_CLINICAL = {"active", "recurrence", "relapse"}
EXCLUDED_VERIFICATION = {"refuted", "entered-in-error"}
MEDICATION_STATUSES = {"active", "on-hold", "completed", "stopped"}
ADMINISTRATION_STATUSES = {"completed", "in-progress"}


@dataclass(frozen=True)
class _CodeScreen:
    """Every code and code prefix of every condition concept, by system: a coded condition
    with none of them matches no concept (hypertension...), told without trying each one."""

    codes: frozenset[tuple[str, str]]
    prefixes: dict[str, tuple[str, ...]]

    @classmethod
    def of(cls, knowledge: Knowledge) -> _CodeScreen:
        codes: set[tuple[str, str]] = set()
        prefixes: dict[str, tuple[str, ...]] = {}
        for concept in knowledge.conditions.values():
            codes |= concept.codes
            for system, prefix in concept.prefixes:
                prefixes[system] = prefixes.get(system, ()) + (prefix,)
        return cls(frozenset(codes), prefixes)

    def may_match(self, codings: tuple[tuple[str, str], ...]) -> bool:
        """False only when no concept can match these (non-empty) codings: a match needs one
        of its codes or prefixes (excluded prefixes only ever veto)."""
        for system, code in codings:
            norm = normalise_code(system, code)
            if (system, norm) in self.codes:
                return True
            if system in self.prefixes and norm.startswith(self.prefixes[system]):
                return True
        return False


def _read_by_a_rule(
    screen: _CodeScreen, concepts: Iterable[ConceptSet], concept: Concept
) -> bool:
    """Whether any condition concept matches (codings decide when there are any)."""
    if concept.codings and not screen.may_match(concept.codings):
        return False
    codings, text = concept.codings, concept.text
    for c in concepts:  # a loop, not any() over a generator: this runs per coded condition
        if c.matches(codings, text):
            return True
    return False


class _Reader:
    def __init__(self, knowledge: Knowledge, patient_id: str, index: ResourceIndex) -> None:
        self.knowledge, self.patient_id, self.index = knowledge, patient_id, index
        self.skipped: list[str] = []
        self.codes: list[str] = []  # reason codes for the log: types and fields, no values

    def mine(self, resource: Mapping[str, Any], field: str = "subject") -> bool:
        return is_about_patient(resource, self.patient_id, field)

    def valid(self, resource: Mapping[str, Any]) -> bool:
        reason = invalid_reason(resource)
        if reason:
            self.skipped.append(f"{label(resource)} ({reason.message})")
            self.codes.append(reason.code)
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
        concepts = self.knowledge.conditions.values()
        screen = self.knowledge.derived(_CodeScreen.of)
        for resource in self.of_type("Condition"):
            if not self.mine(resource):
                continue
            code = resource.get("code")
            concept = concept_of(self.knowledge, code)
            if isinstance(code, dict) and not _read_by_a_rule(screen, concepts, concept):
                continue  # a condition no rule reads is neither validated nor kept
            if not self.valid(resource):
                continue
            clinical = first_code(resource.get("clinicalStatus"))
            verification = first_code(resource.get("verificationStatus"))
            active = (
                clinical in ACTIVE_CLINICAL
                if clinical is not None
                else not any(k.startswith("abatement") for k in resource)
            ) and verification not in EXCLUDED_VERIFICATION
            facts.append(ConditionFact(label(resource), concept, active))
        return tuple(facts)

    def labs(
        self,
    ) -> tuple[tuple[LabFact, ...], tuple[UnusableLab, ...], tuple[tuple[str, str], ...]]:
        return select_labs(self.knowledge, self.of_type("Observation"), self.patient_id, self.valid)

    def medications(self, rtype: str, statuses: set[str], field: str) -> tuple[MedicationFact, ...]:
        facts = []
        for resource in self.of_type(rtype):
            status = resource.get("status")
            if not isinstance(status, str) or status not in statuses:
                continue
            if not self.mine(resource, field):
                continue
            concept = medication_concept(self.knowledge, resource, self.index)
            # a drug no rule reads (lisinopril...) is neither validated nor read further
            if ingredient_of(self.knowledge, concept) and self.valid(resource):
                facts.append(medication_fact(self.knowledge, resource, self.index, concept))
        return tuple(facts)


def build_record(
    knowledge: Knowledge, patient_id: str, index: ResourceIndex
) -> tuple[PatientRecord, tuple[str, ...]]:
    """Everything the rules read about ``patient_id`` from the indexed (complete) prefetch,
    and the reason codes of what could not be read."""
    reader = _Reader(knowledge, patient_id, index)
    labs, unusable, uncounted = reader.labs()
    # Positional, in field order (patient_id, patient, conditions, labs, unusable_labs,
    # medications, administrations, skipped, uncounted): keywords cost ~0.4 K instructions each.
    record = PatientRecord(
        patient_id,
        reader.patient(),
        reader.conditions(),
        labs,
        unusable,
        reader.medications("MedicationRequest", MEDICATION_STATUSES, "subject"),
        reader.medications("MedicationAdministration", ADMINISTRATION_STATUSES, "subject"),
        tuple(reader.skipped),
        uncounted,
    )
    return record, tuple(reader.codes)


def extract_drafts(
    knowledge: Knowledge, patient_id: str, draft_orders: object, prefetch_index: ResourceIndex
) -> tuple[tuple[MedicationFact, ...], tuple[str, ...], tuple[str, ...]]:
    """The drafted MedicationRequests of ``draftOrders`` for this patient, what was skipped,
    and the reason codes for the log.

    References resolve within the draft Bundle first, then within the prefetch. A draft that
    cannot be read is kept as a fact marked ``unreadable``, so the answer can name it.
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
        if "medicationCodeableConcept" not in resource and "medicationReference" not in resource:
            # No drug chosen yet (the Sandbox's Rx View sends this as it opens): nothing to
            # check, so nothing to say; the log still names it.
            reader.codes.append("MedicationRequest.medication:absent")
            continue
        fact = medication_fact(knowledge, resource, index)  # never raises on odd JSON
        if not reader.valid(resource):
            fact = replace(fact, unreadable=reader.skipped[-1])
        drafts.append(fact)
    return tuple(drafts), tuple(reader.skipped), tuple(reader.codes)
