"""Deterministic CDS Hooks request bodies for the benchmark.

Every body is built from fixed ids, dates and values, so two runs send byte-identical requests.
The patient is an adult with restless legs syndrome (SNOMED 32914008) on the problem list; the
iron studies are final ferritin (LOINC 2276-4, ng/mL) and transferrin saturation (LOINC 2502-3,
%) Observations, spread back in time from the fixed clock ``NOW``. The order-select body drafts
and selects pramipexole 0.5 mg (RxNorm 859040). The service under test must run with its clock
set to ``NOW`` (see ``bench/app_fixed_clock.py``), or the labs age and the cards change.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

NOW = datetime(2026, 11, 2, 12, 0, 0, tzinfo=UTC)
PATIENT_ID = "bench-rls-1"
USER_ID = "Practitioner/bench-clinician"
ENCOUNTER_ID = "bench-encounter-1"

SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
UCUM = "http://unitsofmeasure.org"
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"

DRAFT_ID = "bench-draft-pramipexole"
SERVICE_OF_HOOK = {
    "order-select": "rls-order-select",
    "order-sign": "rls-order-sign",
    "patient-view": "rls-patient-view",
}


def _subject() -> dict[str, str]:
    return {"reference": f"Patient/{PATIENT_ID}"}


def _searchset(resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(resources),
        "entry": [
            {
                "fullUrl": f"urn:bench:{r['resourceType']}/{r['id']}",
                "resource": r,
                "search": {"mode": "match"},
            }
            for r in resources
        ],
    }


def patient() -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": PATIENT_ID,
        "active": True,
        "name": [{"family": "Bench", "given": ["Restless"]}],
        "gender": "female",
        "birthDate": "1968-05-14",
    }


def _condition(cid: str, code: str, display: str, onset: str) -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "id": cid,
        "clinicalStatus": {"coding": [{"system": CLINICAL, "code": "active"}]},
        "verificationStatus": {"coding": [{"system": VERIFICATION, "code": "confirmed"}]},
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/condition-category",
                        "code": "problem-list-item",
                    }
                ]
            }
        ],
        "code": {"coding": [{"system": SNOMED, "code": code, "display": display}], "text": display},
        "subject": _subject(),
        "onsetDateTime": onset,
        "recordedDate": onset,
    }


def conditions() -> dict[str, Any]:
    return _searchset(
        [
            _condition("bench-rls", "32914008", "Restless legs syndrome", "2021-03-01"),
            _condition("bench-htn", "38341003", "Hypertensive disorder", "2019-06-12"),
        ]
    )


def _observation(index: int) -> dict[str, Any]:
    """Observation number ``index`` (0 is the newest): ferritin and TSAT alternate, in pairs."""
    pair, is_tsat = divmod(index, 2)
    when = NOW - timedelta(days=3 + 14 * pair, hours=4)
    if is_tsat:
        loinc, display, value, unit = "2502-3", "Iron saturation [Mass Fraction] in Serum", 0, "%"
        value = 14 + (pair * 7) % 23  # 14..36 %
    else:
        loinc, display, unit = "2276-4", "Ferritin [Mass/volume] in Serum or Plasma", "ng/mL"
        value = 38 + (pair * 13) % 90  # 38..127 ng/mL
    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "resourceType": "Observation",
        "id": f"bench-obs-{index:05d}",
        "status": "final",
        "category": [{"coding": [{"system": CATEGORY, "code": "laboratory"}]}],
        "code": {"coding": [{"system": LOINC, "code": loinc, "display": display}], "text": display},
        "subject": _subject(),
        "effectiveDateTime": stamp,
        "issued": stamp,
        "valueQuantity": {"value": value, "unit": unit, "system": UCUM, "code": unit},
    }


def iron_studies(n: int) -> dict[str, Any]:
    """A searchset of ``n`` final iron-status Observations, newest first."""
    return _searchset([_observation(i) for i in range(n)])


def _medication_request(
    mid: str, status: str, rxnorm: str, display: str, authored: str, text: str
) -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest",
        "id": mid,
        "status": status,
        "intent": "order",
        "medicationCodeableConcept": {
            "coding": [{"system": RXNORM, "code": rxnorm, "display": display}],
            "text": display,
        },
        "subject": _subject(),
        "authoredOn": authored,
        "dosageInstruction": [{"text": text}],
    }


def medications() -> dict[str, Any]:
    return _searchset(
        [
            _medication_request(
                "bench-med-lisinopril",
                "active",
                "314076",
                "lisinopril 10 MG Oral Tablet",
                "2024-02-01",
                "10 mg by mouth once daily",
            )
        ]
    )


def medication_history() -> dict[str, Any]:
    return _searchset(
        [
            _medication_request(
                "bench-med-ferrous-sulfate",
                "completed",
                "310325",
                "ferrous sulfate 325 MG Oral Tablet",
                "2024-09-01",
                "325 mg by mouth every other day",
            )
        ]
    )


def draft_orders() -> dict[str, Any]:
    draft = _medication_request(
        DRAFT_ID,
        "draft",
        "859040",
        "pramipexole dihydrochloride 0.5 MG Oral Tablet",
        NOW.date().isoformat(),
        "0.125 mg by mouth 2 hours before bedtime",
    )
    return {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": draft}]}


def prefetch(n_observations: int) -> dict[str, Any]:
    """The six prefetch keys of hooks/*.json, filled."""
    return {
        "patient": patient(),
        "conditions": conditions(),
        "ironStudies": iron_studies(n_observations),
        "medications": medications(),
        "medicationHistory": medication_history(),
        "ivIronAdministrations": _searchset([]),
    }


def request_body(hook: str, n_observations: int) -> dict[str, Any]:
    """A complete CDS Hooks request for ``hook`` with ``n_observations`` iron studies."""
    context: dict[str, Any] = {
        "userId": USER_ID,
        "patientId": PATIENT_ID,
        "encounterId": ENCOUNTER_ID,
    }
    if hook in ("order-select", "order-sign"):
        context["draftOrders"] = draft_orders()
    if hook == "order-select":
        context["selections"] = [f"MedicationRequest/{DRAFT_ID}"]
    instance = uuid.uuid5(uuid.NAMESPACE_URL, f"rls-cds-bench/{hook}/{n_observations}")
    return {
        "hook": hook,
        "hookInstance": str(instance),
        "context": context,
        "prefetch": prefetch(n_observations),
    }


# name -> (service id, hook, observations): the three requests the load test sends.
LOAD_REQUESTS: dict[str, tuple[str, str, int]] = {
    "order-select-50": ("rls-order-select", "order-select", 50),
    "patient-view-50": ("rls-patient-view", "patient-view", 50),
    "patient-view-1000": ("rls-patient-view", "patient-view", 1000),
}

SCALING_SIZES = (10, 100, 1_000, 10_000)


def encoded(hook: str, n_observations: int) -> bytes:
    """The request body as sent on the wire (compact JSON, UTF-8)."""
    return json.dumps(request_body(hook, n_observations), separators=(",", ":")).encode()
