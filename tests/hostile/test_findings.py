"""Minimal reproducers of what the hostile-input tests found: one request each.

Each test sends one valid request with a single field changed and expects the contract (400 or
200 with the bad resource skipped; JSON; never 500). Every finding is fixed; these stay as
regression tests (a new finding gets a reproducer here and, while open, a strict xfail).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from tests.fhir_builders import bundle, medication_request, observation, request

from .support import HOOK_SERVICE, check_service_answer, problems, to_json_text

FERRITIN = observation("f", "2276-4", 41.37, "ng/mL")
TSAT = observation("t", "2502-3", 12, "%")


def _observations(**changes: Any) -> dict[str, Any]:
    """A patient-view request whose ferritin Observation carries ``changes``."""
    return request("patient-view", observations=[{**FERRITIN, **changes}, TSAT])


def _post(app: Flask, body: dict[str, Any] | str) -> Any:
    """POST to the service of the body's hook (raw text goes to patient-view)."""
    hook = "patient-view" if isinstance(body, str) else body["hook"]
    text = body if isinstance(body, str) else to_json_text(body)
    return app.test_client().post(f"/cds-services/{HOOK_SERVICE[hook]}", data=text,
                                  content_type="application/json")


def _referenced_medication(medication: dict[str, Any]) -> dict[str, Any]:
    """prefetch.medications: an active order whose drug is the included ``medication``."""
    order = medication_request("m1", "0", "", status="active")
    order.pop("medicationCodeableConcept")
    order["medicationReference"] = {"reference": f"Medication/{medication['id']}"}
    body = request("patient-view", observations=[FERRITIN, TSAT])
    body["prefetch"]["medications"] = bundle(order, medication)
    return body


def _with(mutate: Callable[[dict[str, Any]], None], hook: str = "patient-view") -> dict[str, Any]:
    body = request(hook, observations=[FERRITIN, TSAT])
    mutate(body)
    return body


# Fixed in 5b35922 ("unvalidated JSON never crashes fact extraction"): plain regression tests.
CASES: dict[str, tuple[Callable[[], dict[str, Any] | str], str]] = {
    "H2-coding-not-a-list": (
        lambda: _observations(code={"coding": 5}),
        "Observation.code.coding = 5: TypeError in fhir/labs.py analyte_of (iterates it "
        "before validation)"),
    "H3-system-not-a-string": (
        lambda: _observations(code={"coding": [{"system": [1], "code": "2276-4"}]}),
        "Observation.code.coding[0].system = [1] (or [], or a code that is a list or "
        "object): TypeError, unhashable (system, code) key in fhir/labs.py analyte_of"),
    "H3-included-medication-system": (
        lambda: _referenced_medication({"resourceType": "Medication", "id": "med1",
                                        "code": {"coding": [{"system": [1], "code": "x"}]}}),
        "an included Medication (never validated) with code.coding[0].system = [1]: TypeError "
        "in knowledge.system_name via medications.medication_concept"),
    "H3-reason-condition-system": (
        lambda: _with(lambda b: (
            b["context"]["draftOrders"]["entry"][0]["resource"].update(
                reasonReference=[{"reference": "Condition/c9"}]),
            b["prefetch"]["conditions"]["entry"].append({"resource": {
                "resourceType": "Condition", "id": "c9",
                "code": {"coding": [{"system": [1], "code": "x"}]}}})), hook="order-sign"),
        "a draft's reasonReference to a Condition (never validated) whose coding system is "
        "[1]: TypeError in knowledge.system_name via medications._reasons"),
    "H4-medication-ingredient-not-a-list": (
        lambda: _referenced_medication({"resourceType": "Medication", "id": "med1",
                                        "ingredient": 5}),
        "an included Medication with ingredient = 5: TypeError in "
        "fhir/medications.py medication_concept"),
    "H5-bundle-entry-not-a-list": (
        lambda: _with(lambda b: b["prefetch"]["conditions"].update(entry=7)),
        "prefetch.conditions = {resourceType: Bundle, entry: 7}: TypeError in "
        "fhir/prefetch.py is_operation_outcome (and resources.iter_resources)"),
    "H6-effective-year-1-plus-14h": (
        lambda: _observations(effectiveDateTime="0001-01-01T00:00:00+14:00"),
        "Observation.effectiveDateTime 0001-01-01T00:00:00+14:00 (valid FHIR): OverflowError "
        "in fhir/dates.py parse_fhir_datetime (astimezone outside the try)"),
    "H6-effective-year-9999-minus-14h": (
        lambda: _observations(effectiveDateTime="9999-12-31T23:59:59-14:00"),
        "Observation.effectiveDateTime 9999-12-31T23:59:59-14:00: OverflowError in "
        "parse_fhir_datetime"),
    "H6-authored-on-year-1": (
        lambda: _with(lambda b: b["context"]["draftOrders"]["entry"][0]["resource"].update(
            authoredOn="0001-01-01T00:00:00+14:00"), hook="order-sign"),
        "draft MedicationRequest.authoredOn 0001-01-01T00:00:00+14:00: OverflowError in "
        "parse_fhir_datetime"),
    "H7-unit-not-a-string": (
        lambda: _observations(valueQuantity={"value": 41.37, "unit": ["ng/mL"]}),
        "Observation.valueQuantity.unit = ['ng/mL']: AttributeError in fhir/units.py "
        "normalise_unit (labs are read before they are validated)"),
    "H8-medication-status-not-a-string": (
        lambda: _with(lambda b: b["prefetch"].update(medications=bundle(
            {**medication_request("m1", "859040", "pramipexole"), "status": []}))),
        "prefetch.medications MedicationRequest.status = []: TypeError (unhashable) in "
        "fhir/extract.py _Reader.medications (status in a set)"),
    "H9-dosage-text-not-a-string": (
        lambda: _with(lambda b: b["prefetch"].update(ivIronAdministrations=bundle({
            "resourceType": "MedicationAdministration", "id": "a1", "status": "completed",
            "subject": {"reference": "Patient/p1"}, "effectiveDateTime": "2026-01-10",
            "medicationCodeableConcept": {"text": "ferric carboxymaltose"},
            "dosage": {"text": 5}}))),
        "prefetch.ivIronAdministrations MedicationAdministration.dosage.text = 5 (or a "
        "MedicationRequest with dosage.text = [null]): TypeError in fhir/medications.py "
        "_route_text (' '.join of a non-string)"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_finding(hostile_app: Flask, name: str) -> None:
    build, _reason = CASES[name]
    check_service_answer(_post(hostile_app, build()))


def test_value_string_of_spaces_is_fast(hostile_app: Flask) -> None:
    ferritin = {k: v for k, v in FERRITIN.items() if k != "valueQuantity"}
    body = request("patient-view", observations=[{**ferritin, "valueString": " " * 20_000 + "x"},
                                                 TSAT])
    started = time.perf_counter()
    response = _post(hostile_app, body)
    elapsed = time.perf_counter() - started
    check_service_answer(response)
    assert elapsed < 1.0, f"{elapsed:.1f} s for one 20 kB string"


FEEDBACK_ITEM = {"card": "00000000-0000-4000-8000-000000000000", "outcome": "overridden",
                 "overrideReason": {"userComment": "n/a"}}


def test_feedback_timestamp_at_year_one(hostile_app: Flask) -> None:
    response = hostile_app.test_client().post(
        "/cds-services/rls-patient-view/feedback",
        json={"feedback": [{**FEEDBACK_ITEM, "outcomeTimestamp": "0001-01-01T00:00:00+01:00"}]})
    assert response.status_code == 400
    assert not problems(response.status_code, response.content_type,
                        response.get_data(as_text=True))


@pytest.mark.parametrize("query", ["since=0001-01-01T00:00:00%2B14:00",
                                   "until=9999-12-31T23:59:59-14:00"])
@pytest.mark.parametrize("path", ["/analytics/feedback", "/analytics/feedback.html"])
def test_analytics_window_at_the_edge_of_time(hostile_app: Flask, path: str,
                                              query: str) -> None:
    response = hostile_app.test_client().get(f"{path}?{query}")
    assert response.status_code == 400
    assert not problems(response.status_code, response.content_type,
                        response.get_data(as_text=True))
