"""cds_service/openapi.json: a valid OpenAPI 3.1 document that says what the app really does."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from werkzeug.exceptions import MethodNotAllowed, NotFound

from tests.fhir_builders import observation, request

from .support import NEEDS, OPENAPI_PATH, SERVICE_IDS, load_json, problems
from .sync_openapi import synced

schemathesis = pytest.importorskip("schemathesis", reason=NEEDS)
validate = pytest.importorskip("openapi_spec_validator", reason=NEEDS).validate

DOC = load_json(OPENAPI_PATH)
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
OPERATIONS = [(path, method.upper()) for path, item in DOC["paths"].items()
              for method in item if method in METHODS]
# Routes that are being built by others; only these may be missing from the app, and only
# with a skip that says so.
PENDING = {"/cds-services/{service_id}/feedback", "/healthz", "/readyz", "/metrics"}
# Routes the app has on purpose without describing them as API: static files, HTML consoles.
UNDOCUMENTED = {"/static/<path:filename>", "/console", "/review"}


def concrete(path: str) -> str:
    return path.replace("{service_id}", SERVICE_IDS[0])


def test_openapi_document_validates() -> None:
    assert DOC["openapi"].startswith("3.1")
    validate(DOC)  # raises OpenAPIValidationError with the first problem


def test_schemathesis_loads_every_operation() -> None:
    schema = schemathesis.openapi.from_path(OPENAPI_PATH)
    labels = []
    for result in schema.get_all_operations():
        labels.append(result.ok().label)  # ok() raises on an operation it cannot read
    assert sorted(labels) == sorted(f"{method} {path}" for path, method in OPERATIONS)


def test_copies_in_the_document_are_current() -> None:
    """CdsRequest, CdsResponse, CdsCard and the ServiceId enum repeat the schema files and the
    hook definitions; they must not drift from what the app uses."""
    assert synced(DOC) == DOC, "stale copy: run .venv/bin/python -m tests.hostile.sync_openapi"


def test_service_ids_are_the_discovered_services(hostile_app: Flask) -> None:
    services = hostile_app.test_client().get("/cds-services").get_json()["services"]
    listed = [service["id"] for service in services]
    assert DOC["components"]["parameters"]["ServiceId"]["schema"]["enum"] == listed


@pytest.mark.parametrize(("path", "method"), OPERATIONS, ids=[f"{m} {p}" for p, m in OPERATIONS])
def test_every_documented_operation_is_routed(hostile_app: Flask, path: str,
                                              method: str) -> None:
    adapter = hostile_app.url_map.bind("localhost")
    try:
        adapter.match(concrete(path), method=method)
    except (NotFound, MethodNotAllowed) as exc:
        if path in PENDING:
            pytest.skip(f"pending: {method} {path} is described but not routed yet "
                        f"({type(exc).__name__}); another person is building it")
        raise AssertionError(
            f"{method} {path} is in openapi.json but the app does not route it") from None


def test_every_api_route_is_documented(hostile_app: Flask) -> None:
    documented = {path.replace("{service_id}", "<service_id>") for path in DOC["paths"]}
    for rule in hostile_app.url_map.iter_rules():
        if rule.rule in UNDOCUMENTED or rule.rule.startswith(("/console/", "/review/")):
            continue
        assert rule.rule in documented, f"{rule.rule} is routed but not in openapi.json"
        item = DOC["paths"][next(p for p in DOC["paths"]
                                 if p.replace("{service_id}", "<service_id>") == rule.rule)]
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert method.lower() in item, f"{method} {rule.rule} is not in openapi.json"


def _operation(path: str, method: str) -> Any:
    return schemathesis.openapi.from_path(OPENAPI_PATH)[path][method]


def _valid_request(hook: str) -> dict[str, Any]:
    return request(hook, observations=[observation("f", "2276-4", 20, "ng/mL"),
                                       observation("t", "2502-3", 12, "%")])


@pytest.mark.parametrize("hook", ["patient-view", "order-select", "order-sign"])
def test_service_answers_match_the_document(hostile_app: Flask, hook: str) -> None:
    """A valid call, an invalid one and an unknown service: documented status, body, type."""
    operation = _operation("/cds-services/{service_id}", "POST")
    client = hostile_app.test_client()
    service = {"patient-view": "rls-patient-view", "order-select": "rls-order-select",
               "order-sign": "rls-order-sign"}[hook]
    ok = client.post(f"/cds-services/{service}", json=_valid_request(hook))
    assert ok.status_code == 200 and ok.get_json()["cards"]
    operation.validate_response(ok)
    for response in (
        client.post(f"/cds-services/{service}", json={"hook": hook}),
        client.post(f"/cds-services/{service}", data="x", content_type="text/plain"),
        client.post("/cds-services/no-such-service", json=_valid_request(hook)),
    ):
        assert not problems(response.status_code, response.content_type,
                            response.get_data(as_text=True))
        operation.validate_response(response)


def test_discovery_matches_the_document(hostile_app: Flask) -> None:
    response = hostile_app.test_client().get("/cds-services")
    _operation("/cds-services", "GET").validate_response(response)


def test_preflight_matches_the_document(hostile_app: Flask) -> None:
    response = hostile_app.test_client().options(
        f"/cds-services/{SERVICE_IDS[0]}",
        headers={"Origin": "https://sandbox.cds-hooks.org",
                 "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "authorization, content-type"})
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "Authorization" in response.headers["Access-Control-Allow-Headers"]
    _operation("/cds-services/{service_id}", "OPTIONS").validate_response(response)


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics"])
def test_operational_endpoints_match_the_document(hostile_app: Flask, path: str) -> None:
    response = hostile_app.test_client().get(path)
    if response.status_code == 404:
        pytest.skip(f"pending: GET {path} is not routed yet")
    _operation(path, "GET").validate_response(response)


@pytest.mark.parametrize("name", sorted(
    DOC["paths"]["/cds-services/{service_id}"]["post"]["requestBody"]["content"]
    ["application/json"]["examples"]))
def test_request_examples_are_answered_with_cards(hostile_app: Flask, name: str) -> None:
    examples = (DOC["paths"]["/cds-services/{service_id}"]["post"]["requestBody"]["content"]
                ["application/json"]["examples"])
    body = examples[name]["value"]
    service = {"patient-view": "rls-patient-view", "order-select": "rls-order-select",
               "order-sign": "rls-order-sign"}[body["hook"]]
    response = hostile_app.test_client().post(f"/cds-services/{service}", json=body)
    assert response.status_code == 200 and response.get_json()["cards"]
    _operation("/cds-services/{service_id}", "POST").validate_response(response)


def test_feedback_example_is_accepted(hostile_app: Flask) -> None:
    example = (DOC["paths"]["/cds-services/{service_id}/feedback"]["post"]["requestBody"]
               ["content"]["application/json"]["example"])
    try:
        hostile_app.url_map.bind("localhost").match(f"/cds-services/{SERVICE_IDS[0]}/feedback",
                                                    method="POST")
    except (NotFound, MethodNotAllowed):
        pytest.skip("pending: feedback is not routed yet")
    response = hostile_app.test_client().post(f"/cds-services/{SERVICE_IDS[0]}/feedback",
                                              json=example)
    assert response.status_code == 200, response.get_data(as_text=True)
    _operation("/cds-services/{service_id}/feedback", "POST").validate_response(response)
