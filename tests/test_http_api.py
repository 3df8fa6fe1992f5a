"""The HTTP surface: discovery, a service call, and an exact JSON answer for every bad input."""

from __future__ import annotations

import json

import pytest

from cds_service import create_app
from cds_service.errors import ConfigurationError
from tests.fhir_builders import PRAMIPEXOLE, observation, request

SERVICE = "/cds-services/rls-order-select"


def outcome(diagnostics: str, code: str = "invalid", expression: str | None = None) -> dict:
    issue = {"severity": "error", "code": code, "diagnostics": diagnostics}
    if expression:
        issue["expression"] = [expression]
    return {"resourceType": "OperationOutcome", "issue": [issue]}


def test_discovery_lists_services_sorted_with_prefetch(client) -> None:
    response = client.get("/cds-services")
    assert response.status_code == 200
    services = response.get_json()["services"]
    assert [(s["id"], s["hook"]) for s in services] == [
        ("rls-order-select", "order-select"), ("rls-order-sign", "order-sign"),
        ("rls-patient-view", "patient-view")]
    for service in services:
        assert service["title"] and service["description"] and service["usageRequirements"]
        assert set(service["prefetch"]) == {"patient", "conditions", "ironStudies", "medications",
                                            "medicationHistory", "ivIronAdministrations"}
        assert "_sort=-date" in service["prefetch"]["ironStudies"]
        assert "http://loinc.org|2276-4" in service["prefetch"]["ironStudies"]


def test_order_select_answers_cards(client) -> None:
    body = request("order-select", observations=[
        observation("f", "2276-4", 150, "ng/mL"), observation("t", "2502-3", 30, "%")])
    response = client.post(SERVICE, json=body)
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    cards = response.get_json()["cards"]
    assert [(c["source"]["topic"]["code"], c["indicator"]) for c in cards] == [
        ("dopamine-agonist-against", "warning"), ("alpha2delta-first-line", "info")]
    deletes = [a["resourceId"] for s in cards[0]["suggestions"] for a in s["actions"]
               if a["type"] == "delete"]
    assert set(deletes) == {"MedicationRequest/draft-1"}


def test_no_rls_gives_empty_cards(client) -> None:
    body = request("order-select", conditions=[])
    response = client.post(SERVICE, json=body)
    assert (response.status_code, response.get_json()) == (200, {"cards": []})


def test_malformed_json(client) -> None:
    response = client.post(SERVICE, data="{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.get_json() == outcome(
        "The request body is not valid JSON: the first error is at line 1, column 2")


@pytest.mark.parametrize("mutate, diagnostics, expression", [
    (lambda b: b.pop("hookInstance"), "'hookInstance' is required", "(request)"),
    (lambda b: b["context"].pop("patientId"), "context.patientId is required", "context"),
    (lambda b: b["context"].pop("draftOrders"), "context.draftOrders is required", "context"),
    (lambda b: b.update(hookInstance="not-a-uuid"),
     "hookInstance is not in the expected format", "hookInstance"),
    (lambda b: b.update(hook="order-sign"),
     "hook 'order-sign' does not match this service, which answers 'order-select'", "hook"),
    (lambda b: b["context"].update(selections=["MedicationRequest/other"]),
     "context.selections[0]: MedicationRequest/other is not in context.draftOrders",
     "context.selections[0]"),
    (lambda b: b["prefetch"].update(ironStudies=[1, 2]),
     "prefetch.ironStudies must be a JSON object or null, not a list",
     "prefetch.ironStudies"),
    (lambda b: b.update(fhirAuthorization={"access_token": "x", "token_type": "Bearer",
                                           "expires_in": 10, "scope": "s", "subject": "c"}),
     "fhirServer is required when fhirAuthorization is sent", "(request)"),
])
def test_invalid_requests_name_the_field(client, mutate, diagnostics, expression) -> None:
    body = request("order-select")
    mutate(body)
    response = client.post(SERVICE, json=body)
    assert response.status_code == 400
    assert response.get_json() == outcome(diagnostics, expression=expression)


def test_body_must_be_an_object(client) -> None:
    response = client.post(SERVICE, data="[1]", content_type="application/json")
    assert response.get_json() == outcome("The request body must be a JSON object")


def test_unknown_service(client) -> None:
    response = client.post("/cds-services/nope", json=request())
    assert response.status_code == 404
    assert response.get_json() == outcome(
        "No CDS service with id 'nope'; see GET /cds-services", "not-found")


def test_unknown_path_is_json_404(client) -> None:
    response = client.get("/nothing/here")
    assert response.status_code == 404
    assert response.get_json()["issue"][0]["code"] == "not-found"


def test_wrong_method(client) -> None:
    response = client.get(SERVICE)
    assert response.status_code == 405
    assert response.get_json() == outcome(
        f"Method GET is not allowed on {SERVICE}", "not-supported")
    assert "POST" in response.headers["Allow"]


def test_wrong_media_type(client) -> None:
    response = client.post(SERVICE, data=json.dumps(request("order-select")),
                           content_type="text/plain")
    assert response.status_code == 415
    assert response.get_json() == outcome(
        "Content-Type must be application/json, not text/plain", "not-supported")


def test_oversized_body() -> None:
    app = create_app({"require_auth": False, "max_body_bytes": 1000})
    response = app.test_client().post(SERVICE, data=" " * 2000, content_type="application/json")
    assert response.status_code == 413
    assert response.get_json() == outcome(
        "The request body is larger than the limit of 1000 bytes", "too-costly")


def test_absent_prefetch_key_is_412(client) -> None:
    body = request("order-select")
    del body["prefetch"]["ironStudies"]
    response = client.post(SERVICE, json=body)
    assert response.status_code == 412
    assert response.get_json() == outcome(
        "prefetch.ironStudies is missing and could not be fetched: no fhirServer in the request "
        "to fetch prefetch from", "incomplete", "prefetch.ironStudies")


def test_operation_outcome_counts_as_absent(client) -> None:
    body = request("order-select")
    body["prefetch"]["conditions"] = {"resourceType": "OperationOutcome", "issue": []}
    assert client.post(SERVICE, json=body).status_code == 412


def test_null_prefetch_is_known_empty(client) -> None:
    body = request("order-select")
    body["prefetch"]["conditions"] = None  # no conditions at all -> no RLS -> no cards
    response = client.post(SERVICE, json=body)
    assert (response.status_code, response.get_json()) == (200, {"cards": []})


def test_prefetch_patient_must_be_the_context_patient(client) -> None:
    body = request("order-select")
    body["prefetch"]["patient"]["id"] = "someone-else"
    response = client.post(SERVICE, json=body)
    assert response.status_code == 400
    assert response.get_json() == outcome(
        "prefetch.patient is not the patient named in context.patientId",
        expression="prefetch.patient")


def test_invalid_resource_is_skipped_and_named(client) -> None:
    bad = observation("bad", "2276-4", 10, "ng/mL", status=42)
    good = [observation("f", "2276-4", 150, "ng/mL"), observation("t", "2502-3", 30, "%")]
    response = client.post(SERVICE, json=request("order-select", observations=[bad, *good]))
    assert response.status_code == 200
    cards = response.get_json()["cards"]
    assert [c["source"]["topic"]["code"] for c in cards] == [
        "dopamine-agonist-against", "alpha2delta-first-line"]
    assert "Observation/bad" in cards[0]["detail"]


def test_another_patients_data_never_fires(client) -> None:
    theirs = observation("x", "2276-4", 10, "ng/mL", patient="p2")
    body = request("patient-view", observations=[theirs, observation("t", "2502-3", 30, "%")])
    cards = client.post("/cds-services/rls-patient-view", json=body).get_json()["cards"]
    assert [c["source"]["topic"]["code"] for c in cards] == ["iron-studies-needed"]
    assert "10 ng/mL" not in cards[0]["detail"]


def test_deeply_nested_json_is_a_400_not_a_500(client) -> None:
    raw = "[" * 100000 + "]" * 100000
    response = client.post(SERVICE, data=raw, content_type="application/json")
    assert response.status_code == 400


def test_definition_and_code_must_agree(tmp_path) -> None:
    for name in ("rls-order-select", "rls-order-sign"):
        (tmp_path / f"{name}.json").write_text(json.dumps(
            {"id": name, "hook": "order-sign", "description": "x"}))
    (tmp_path / "rls-patient-view.json").write_text(json.dumps(
        {"id": "rls-patient-view", "hook": "patient-view", "description": "x"}))
    with pytest.raises(ConfigurationError, match="rls-order-select: definition says hook"):
        create_app({"require_auth": False, "hooks_dir": tmp_path})


def test_missing_definition_refuses_to_start(tmp_path) -> None:
    (tmp_path / "rls-patient-view.json").write_text(json.dumps(
        {"id": "rls-patient-view", "hook": "patient-view", "description": "x"}))
    with pytest.raises(ConfigurationError, match="differ"):
        create_app({"require_auth": False, "hooks_dir": tmp_path})


def test_pramipexole_fixture_constant_is_untouched() -> None:
    assert PRAMIPEXOLE["id"] == "draft-1"


def test_two_drafts_of_one_drug_are_both_removed_by_the_suggestion(client) -> None:
    second = dict(PRAMIPEXOLE, id="draft-2")
    body = request("order-sign", drafts=[PRAMIPEXOLE, second], observations=[
        observation("f", "2276-4", 150, "ng/mL"), observation("t", "2502-3", 30, "%")])
    cards = client.post("/cds-services/rls-order-sign", json=body).get_json()["cards"]
    agonist = [c for c in cards if c["source"]["topic"]["code"] == "dopamine-agonist-against"]
    assert len(agonist) == 1
    assert agonist[0]["summary"].startswith("Pramipexole for RLS")
    for suggestion in agonist[0]["suggestions"]:
        deleted = [a["resourceId"] for a in suggestion["actions"] if a["type"] == "delete"]
        assert deleted == ["MedicationRequest/draft-1", "MedicationRequest/draft-2"]


def test_negative_lab_value_is_unusable_not_advice(client) -> None:
    body = request("patient-view", observations=[observation("f", "2276-4", -5, "ng/mL"),
                                                 observation("t", "2502-3", 30, "%")])
    cards = client.post("/cds-services/rls-patient-view", json=body).get_json()["cards"]
    assert [c["source"]["topic"]["code"] for c in cards] == ["iron-studies-needed"]
    assert "Observation/f (its value is negative)" in cards[0]["detail"]
    assert "-5 ng/mL" not in cards[0]["summary"]


def test_value_string_with_comparator(client) -> None:
    ferritin = observation("f", "2276-4", 0, "ng/mL")
    del ferritin["valueQuantity"]
    ferritin["valueString"] = "<10 ng/mL"
    body = request("patient-view", observations=[ferritin])
    cards = client.post("/cds-services/rls-patient-view", json=body).get_json()["cards"]
    assert [c["source"]["topic"]["code"] for c in cards] == ["iv-iron-indicated"]
    assert "**<10 ng/mL**" in cards[0]["detail"]
