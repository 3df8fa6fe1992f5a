"""Parity: every scenario gives the same cards with full, partial and no prefetch, the missing
keys being fetched from a (mocked) FHIR server; and the 412 answers of the fallback path."""

from __future__ import annotations

import copy
import json

import pytest
import responses

from cds_service import create_app
from cds_service.fhir.templates import substitute
from tests.conftest import NOW
from tests.fhir_builders import request
from tests.scenario_support import load_scenarios, service_definition

BASE = "https://ehr.example.org/fhir"
TOKEN = "tok-PARITY-789"
EMPTY = {"resourceType": "Bundle", "type": "searchset", "total": 0, "entry": []}
SCENARIOS = [s for s in load_scenarios() if not s.known_issue]


def _app(now, tmp_path):
    return create_app({"require_auth": False, "clock": lambda: now, "data_dir": tmp_path,
                       "fhir_allowlist": (BASE,)})


def _serve(templates: dict[str, str], body: dict, keys: list[str]) -> None:
    """Register what an EHR's FHIR server would answer for each prefetch key we removed."""
    for key in keys:
        value = body["prefetch"][key]
        url = f"{BASE}/{substitute(templates[key], body['context'])}"
        if value is None:
            responses.get(url, json=EMPTY if "?" in templates[key] else {}, status=200
                          if "?" in templates[key] else 404, match_querystring=True)
        else:
            # a prefetched page may carry a 'next' link; served here as the complete answer
            served = {k: v for k, v in value.items() if k != "link"}
            responses.get(url, json=served, match_querystring=True)


def _cards(client, service: str, body: dict) -> list[tuple[str, str]]:
    response = client.post(f"/cds-services/{service}", json=body)
    assert response.status_code == 200, response.get_json()
    return sorted((c["source"]["topic"]["code"], c["indicator"])
                  for c in response.get_json()["cards"])


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # responses' match_querystring
@pytest.mark.parametrize("mode", ["partial", "none"])
@pytest.mark.parametrize("sc", SCENARIOS, ids=[s.name for s in SCENARIOS])
@responses.activate
def test_same_cards_with_partial_or_no_prefetch(sc, mode, tmp_path) -> None:
    templates = service_definition(sc.service)["prefetch"]
    full = copy.deepcopy(sc.request)
    if full["prefetch"].get("patient") is None:
        pytest.skip("a null Patient has no FHIR-server equivalent (a read would answer 404)")
    client = _app(sc.now, tmp_path).test_client()
    expected = _cards(client, sc.service, full)
    body = copy.deepcopy(full)
    keys = list(templates)[::2] if mode == "partial" else list(templates)
    _serve(templates, body, keys)
    for key in keys:
        del body["prefetch"][key]
    body["fhirServer"] = BASE
    body["fhirAuthorization"] = {"access_token": TOKEN, "token_type": "Bearer",
                                 "expires_in": 300, "scope": "patient/*.read", "subject": "cds"}
    assert _cards(client, sc.service, body) == expected
    assert len(responses.calls) == len(keys)
    assert all(c.request.headers["Authorization"] == f"Bearer {TOKEN}" for c in responses.calls)


@responses.activate
def test_server_not_on_allowlist_is_never_contacted(tmp_path) -> None:
    body = request("patient-view")
    del body["prefetch"]["conditions"]
    body["fhirServer"] = "https://evil.example.org/fhir"
    client = _app(NOW, tmp_path).test_client()
    response = client.post("/cds-services/rls-patient-view", json=body)
    assert response.status_code == 412
    assert response.get_json()["issue"][0]["expression"] == ["prefetch.conditions"]
    assert "allowlist" in response.get_json()["issue"][0]["diagnostics"]
    assert len(responses.calls) == 0


@pytest.mark.parametrize("status", [401, 403, 500, 503])
@responses.activate
def test_server_errors_are_412(tmp_path, status) -> None:
    body = request("patient-view")
    del body["prefetch"]["conditions"]
    body["fhirServer"] = BASE
    responses.get(f"{BASE}/Condition", status=status, json={"resourceType": "OperationOutcome"})
    client = _app(NOW, tmp_path).test_client()
    response = client.post("/cds-services/rls-patient-view", json=body)
    assert response.status_code == 412
    assert f"answered {status}" in response.get_json()["issue"][0]["diagnostics"]


@responses.activate
def test_empty_search_is_data_not_412(tmp_path) -> None:
    body = request("patient-view")
    del body["prefetch"]["conditions"]
    body["fhirServer"] = BASE
    responses.get(f"{BASE}/Condition", json=EMPTY)
    client = _app(NOW, tmp_path).test_client()
    response = client.post("/cds-services/rls-patient-view", json=body)
    assert (response.status_code, response.get_json()) == (200, {"cards": []})


def test_no_fhir_server_is_412(client) -> None:
    body = request("patient-view")
    del body["prefetch"]["patient"]
    response = client.post("/cds-services/rls-patient-view", json=body)
    assert response.status_code == 412
    assert json.loads(response.data)["issue"][0]["expression"] == ["prefetch.patient"]
