"""Two synthetic RLS patients as one FHIR R4 transaction Bundle, for the sekmet tests."""

from __future__ import annotations

import uuid

PATIENT_A = "rls-a"  # RLS, two ferritins, a TSAT, an active and a stopped drug, an IV iron dose
PATIENT_B = "rls-b"  # RLS and nothing else: every search succeeds and finds nothing

SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"


def _patient(pid: str, family: str, gender: str, birth: str) -> dict:
    return {
        "resourceType": "Patient",
        "id": pid,
        "active": True,
        "gender": gender,
        "birthDate": birth,
        "name": [{"family": family, "given": ["Test"]}],
    }


def _condition(cid: str, pid: str, code: str, display: str, status: str) -> dict:
    return {
        "resourceType": "Condition",
        "id": cid,
        "subject": {"reference": f"Patient/{pid}"},
        "clinicalStatus": {"coding": [{"system": CLINICAL, "code": status}]},
        "code": {"coding": [{"system": SNOMED, "code": code, "display": display}]},
        "onsetDateTime": "2024-03-01",
    }


def _observation(
    oid: str, pid: str, loinc: str, display: str, value: float, unit: str, ucum: str, when: str
) -> dict:
    return {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "category": [{"coding": [{"system": OBS_CATEGORY, "code": "laboratory"}]}],
        "code": {"coding": [{"system": LOINC, "code": loinc, "display": display}]},
        "subject": {"reference": f"Patient/{pid}"},
        "effectiveDateTime": when,
        "valueQuantity": {
            "value": value,
            "unit": unit,
            "system": "http://unitsofmeasure.org",
            "code": ucum,
        },
    }


def resources() -> list[dict]:
    """Every fixture resource, with fixed ids so the tests can name them."""
    a, b = PATIENT_A, PATIENT_B
    return [
        _patient(a, "Alpha", "female", "1968-05-14"),
        _patient(b, "Beta", "male", "1975-11-02"),
        _condition("rls-a-rls", a, "32914008", "Restless legs syndrome", "active"),
        _condition("rls-a-ida", a, "87522002", "Iron deficiency anemia", "resolved"),
        _condition("rls-b-rls", b, "32914008", "Restless legs syndrome", "active"),
        _observation(
            "rls-a-ferritin-old",
            a,
            "2276-4",
            "Ferritin",
            30,
            "ng/mL",
            "ng/mL",
            "2025-01-10T08:00:00Z",
        ),
        _observation(
            "rls-a-ferritin", a, "2276-4", "Ferritin", 45, "ng/mL", "ng/mL", "2026-10-01T08:00:00Z"
        ),
        _observation(
            "rls-a-tsat", a, "2502-3", "Iron saturation", 18, "%", "%", "2026-10-01T08:00:00Z"
        ),
        _observation(
            "rls-a-glucose", a, "2345-7", "Glucose", 5.1, "mmol/L", "mmol/L", "2026-10-01T08:00:00Z"
        ),
        {
            "resourceType": "Medication",
            "id": "rls-med-pramipexole",
            "code": {"text": "pramipexole 0.125 mg oral tablet"},
        },
        {
            "resourceType": "MedicationRequest",
            "id": "rls-a-pramipexole",
            "status": "active",
            "intent": "order",
            "subject": {"reference": f"Patient/{a}"},
            "medicationReference": {"reference": "Medication/rls-med-pramipexole"},
            "authoredOn": "2026-06-01",
        },
        {
            "resourceType": "MedicationRequest",
            "id": "rls-a-ferrous-sulfate",
            "status": "stopped",
            "intent": "order",
            "subject": {"reference": f"Patient/{a}"},
            "medicationCodeableConcept": {"text": "ferrous sulfate 325 mg oral tablet"},
            "authoredOn": "2025-02-01",
        },
        {
            "resourceType": "MedicationAdministration",
            "id": "rls-a-fcm",
            "status": "completed",
            "subject": {"reference": f"Patient/{a}"},
            "medicationCodeableConcept": {"text": "ferric carboxymaltose 750 mg IV"},
            "effectiveDateTime": "2026-07-15T10:00:00Z",
        },
    ]


def transaction_bundle() -> dict:
    """A transaction Bundle that PUTs every fixture resource (idempotent: safe to load twice)."""
    entries = [
        {
            "fullUrl": f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, r['id'])}",
            "resource": r,
            "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"},
        }
        for r in resources()
    ]
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}
