"""MedicationRequests and MedicationAdministrations to MedicationFacts, medication resolved.

FHIR objects are checked as ``dict`` (what the JSON parser gives), not the abc ``Mapping``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cds_service.engine.facts import Concept, MedicationFact
from cds_service.fhir.concepts import concept_of
from cds_service.fhir.dates import parse_fhir_datetime
from cds_service.fhir.resources import ResourceIndex, as_list, label
from cds_service.knowledge import Knowledge


def medication_concept(
    knowledge: Knowledge, resource: Mapping[str, Any], index: ResourceIndex
) -> Concept:
    """The medication as a Concept: inline codes, or a contained / included Medication."""
    inline = resource.get("medicationCodeableConcept")
    if isinstance(inline, dict):
        return concept_of(knowledge, inline)
    medication = index.resolve(resource.get("medicationReference"), container=resource)
    parts: list[object] = []
    if isinstance(medication, dict):
        parts.append(medication.get("code"))
        for ingredient in as_list(medication.get("ingredient")):
            if isinstance(ingredient, dict):
                parts.append(ingredient.get("itemCodeableConcept"))
    reference = resource.get("medicationReference")
    if isinstance(reference, dict) and isinstance(reference.get("display"), str):
        parts.append({"text": reference["display"]})
    return concept_of(knowledge, *parts)


def _form_text(
    knowledge: Knowledge, resource: Mapping[str, Any], index: ResourceIndex
) -> str:
    """Medication.form as text ("Extended-release tablet"), for ingredient-level codings."""
    if isinstance(resource.get("medicationCodeableConcept"), dict):
        return ""
    medication = index.resolve(resource.get("medicationReference"), container=resource)
    if not isinstance(medication, dict):
        return ""
    return concept_of(knowledge, medication.get("form")).text


def _reasons(
    knowledge: Knowledge, resource: Mapping[str, Any], index: ResourceIndex
) -> tuple[tuple[Concept, ...], bool]:
    if "reasonCode" not in resource and "reasonReference" not in resource:
        return (), False  # most orders state no reason
    concepts = [concept_of(knowledge, cc) for cc in as_list(resource.get("reasonCode"))]
    for reference in as_list(resource.get("reasonReference")):
        target = index.resolve(reference, container=resource)
        if isinstance(target, dict) and target.get("resourceType") == "Condition":
            concepts.append(concept_of(knowledge, target.get("code")))
        elif isinstance(reference, dict) and isinstance(reference.get("display"), str):
            concepts.append(Concept((), reference["display"]))
    # A reason we could not read is treated as no stated reason: the card still fires.
    return tuple(concepts), bool(concepts)


def _route_text(resource: Mapping[str, Any]) -> str:
    """The dosage texts (an administration's dosage, a request's instructions), joined."""
    dosage = resource.get("dosage")
    instructions = resource.get("dosageInstruction")
    if dosage is None and type(instructions) is list and len(instructions) == 1:
        # A request with one instruction, as most have: its text as is.
        only = instructions[0]
        text = only.get("text", "") if isinstance(only, dict) else ""
        if type(text) is str:
            return text
    texts = [str(dosage.get("text", ""))] if isinstance(dosage, dict) else []
    for instruction in as_list(resource.get("dosageInstruction")):
        if isinstance(instruction, dict):
            texts.append(str(instruction.get("text", "")))
    return " ".join([t for t in texts if t])


def medication_fact(
    knowledge: Knowledge,
    resource: Mapping[str, Any],
    index: ResourceIndex,
    concept: Concept | None = None,
) -> MedicationFact:
    """A MedicationFact for a MedicationRequest or MedicationAdministration (``concept``: its
    ``medication_concept``, when already read)."""
    is_request = resource.get("resourceType") == "MedicationRequest"
    if is_request:
        when = parse_fhir_datetime(resource.get("authoredOn"))
    else:
        period = resource.get("effectivePeriod")
        when = parse_fhir_datetime(resource.get("effectiveDateTime")) or (
            parse_fhir_datetime(period.get("end") or period.get("start"))
            if isinstance(period, dict)
            else None
        )
    reasons, stated = _reasons(knowledge, resource, index)
    # Positional, in field order (ref, kind, status, concept, when, reasons, reason_stated,
    # route_text, form_text): each keyword costs a dataclass __init__ about 0.4 K instructions.
    return MedicationFact(
        label(resource),
        "request" if is_request else "administration",
        str(resource.get("status") or "unknown"),
        concept or medication_concept(knowledge, resource, index),
        when,
        reasons,
        stated,
        _route_text(resource),
        _form_text(knowledge, resource, index),
    )
