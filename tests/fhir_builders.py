"""Raw FHIR JSON and CDS Hooks requests for HTTP-level tests."""

from __future__ import annotations

import copy
from typing import Any

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
HOOK_INSTANCE = "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea"


def bundle(*resources: dict[str, Any]) -> dict[str, Any]:
    entries = [{"resource": r} for r in resources]
    return {"resourceType": "Bundle", "type": "searchset", "entry": entries}


def condition(cid: str = "rls", code: str = "32914008", patient: str = "p1") -> dict[str, Any]:
    return {
        "resourceType": "Condition", "id": cid, "subject": {"reference": f"Patient/{patient}"},
        "clinicalStatus": {"coding": [{"system": CLINICAL, "code": "active"}]},
        "code": {"coding": [{"system": SNOMED, "code": code}]},
    }


def observation(oid: str, loinc: str, value: float, unit: str, date: str = "2026-06-01",
                patient: str = "p1", **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation", "id": oid, "status": "final",
        "subject": {"reference": f"Patient/{patient}"},
        "code": {"coding": [{"system": LOINC, "code": loinc}]},
        "effectiveDateTime": date, "valueQuantity": {"value": value, "unit": unit}, **extra,
    }


def medication_request(mid: str, code: str, display: str, status: str = "draft",
                       patient: str = "p1") -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest", "id": mid, "status": status, "intent": "order",
        "subject": {"reference": f"Patient/{patient}"},
        "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": code,
                                                  "display": display}]},
    }


PRAMIPEXOLE = medication_request("draft-1", "859040", "pramipexole 0.5 MG Oral Tablet")


def prefetch(observations: list[dict[str, Any]] | None = None,
             conditions: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "patient": {"resourceType": "Patient", "id": "p1", "birthDate": "1970-01-01"},
        "conditions": bundle(*(conditions if conditions is not None else [condition()])),
        "ironStudies": bundle(*(observations or [])),
        "medications": None, "medicationHistory": None, "ivIronAdministrations": None,
    }


def request(hook: str = "patient-view", drafts: list[dict[str, Any]] | None = None,
            **prefetch_kwargs: Any) -> dict[str, Any]:
    context: dict[str, Any] = {"userId": "Practitioner/dr1", "patientId": "p1"}
    if hook != "patient-view":
        drafts = copy.deepcopy(drafts if drafts is not None else [PRAMIPEXOLE])
        context["draftOrders"] = {"resourceType": "Bundle", "type": "collection",
                                  "entry": [{"resource": d} for d in drafts]}
        if hook == "order-select":
            context["selections"] = [f"MedicationRequest/{d['id']}" for d in drafts]
    return {"hook": hook, "hookInstance": HOOK_INSTANCE, "context": context,
            "prefetch": prefetch(**prefetch_kwargs)}
