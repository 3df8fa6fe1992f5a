"""The observability extension in-process: health, readiness, metrics and the access log."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import flask
import pytest
from prometheus_client import REGISTRY

from cds_service.observability import (
    PUBLIC_ENDPOINTS,
    init_observability,
    observe_cards,
    observe_feedback,
    observe_fhir_fallback,
)
from cds_service.observability import metrics as metrics_module
from cds_service.observability.metrics import BoundedLabel

SECRET_MARKERS = ("Bearer", "s3cr3t-token", "patient-123", "Doe", "1970-01-01", "q=")


def make_app(checks: dict[str, Callable[[], bool]] | None = None) -> flask.Flask:
    """An app with the extension and a stand-in for the lead's CDS service view."""
    app = flask.Flask(__name__)
    init_observability(app, readiness_checks=checks or {"knowledge": lambda: True})

    @app.post("/cds-services/<service_id>")
    def call(service_id: str) -> flask.Response:
        flask.g.cds_log = {
            "service": service_id,
            "hook": "order-select",
            "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
            "rules": ["iv-iron-indicated", "dopamine-agonist-against"],
        }
        observe_cards(flask.g.cds_log["rules"])
        return flask.jsonify(cards=[])

    @app.get("/boom")
    def boom() -> flask.Response:
        raise RuntimeError("view failed")

    return app


@pytest.fixture(autouse=True)
def fresh_service_labels(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts with an unrestricted service label, and leaves the module as it was."""
    monkeypatch.setattr(metrics_module, "_service_label", BoundedLabel(limit=32))


@pytest.fixture
def access_lines(capsys: pytest.CaptureFixture[str]) -> Iterator[Callable[[], list[dict]]]:
    """Read the JSON access lines written to stdout so far."""

    def read() -> list[dict]:
        out = capsys.readouterr().out
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    yield read


def sample(name: str, **labels: str) -> float:
    """The current value of a sample in the default registry (0 when absent)."""
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_healthz_is_ok_and_uncached() -> None:
    response = make_app().test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}
    assert response.headers["Cache-Control"] == "no-store"


def test_readyz_ready_when_every_check_passes() -> None:
    app = make_app({"knowledge": lambda: True, "store": lambda: True})
    response = app.test_client().get("/readyz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ready", "checks": {"knowledge": True, "store": True}}


def test_readyz_503_names_failing_and_raising_checks() -> None:
    def broken() -> bool:
        raise ConnectionError("database is down")

    app = make_app({"knowledge": lambda: True, "store": broken, "cache": lambda: False})
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "not ready"
    assert body["checks"] == {"knowledge": True, "store": False, "cache": False}
    assert body["failing"] == ["cache", "store"]


def test_public_endpoints_are_the_registered_ones() -> None:
    app = make_app()
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert endpoints >= PUBLIC_ENDPOINTS
    paths = {rule.rule for rule in app.url_map.iter_rules() if rule.endpoint in PUBLIC_ENDPOINTS}
    assert paths == {"/healthz", "/readyz", "/metrics"}


def test_init_twice_is_refused() -> None:
    app = make_app()
    with pytest.raises(RuntimeError):
        init_observability(app, readiness_checks={})


def test_metrics_exposition_counts_requests_cards_and_latency() -> None:
    client = make_app().test_client()
    before = sample("cds_http_requests_total", service="rls-order-select", status="200")
    cards_before = sample("cds_cards_total", rule_id="iv-iron-indicated")
    latency_before = sample("cds_http_request_duration_seconds_count", service="rls-order-select")
    for _ in range(3):
        assert client.post("/cds-services/rls-order-select", json={}).status_code == 200
    assert sample("cds_http_requests_total", service="rls-order-select", status="200") == before + 3
    assert sample("cds_cards_total", rule_id="iv-iron-indicated") == cards_before + 3
    assert (
        sample("cds_http_request_duration_seconds_count", service="rls-order-select")
        == latency_before + 3
    )
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain")
    text = response.get_data(as_text=True)
    assert 'cds_http_requests_total{service="rls-order-select",status="200"}' in text
    assert "# TYPE cds_http_request_duration_seconds histogram" in text
    assert 'cds_cards_total{rule_id="dopamine-agonist-against"}' in text


def test_metrics_speaks_openmetrics_when_asked() -> None:
    response = (
        make_app()
        .test_client()
        .get("/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"})
    )
    assert response.content_type.startswith("application/openmetrics-text")
    assert response.get_data(as_text=True).rstrip().endswith("# EOF")


def test_requests_without_a_service_count_under_dash() -> None:
    client = make_app().test_client()
    before = sample("cds_http_requests_total", service="-", status="404")
    client.get("/no-such-page")
    assert sample("cds_http_requests_total", service="-", status="404") == before + 1


def test_fhir_fallback_and_feedback_helpers() -> None:
    ok_before = sample("cds_fhir_fallback_duration_seconds_count", outcome="ok")
    failed_before = sample("cds_fhir_fallback_duration_seconds_count", outcome="failed")
    timeouts_before = sample("cds_fhir_fallback_failures_total", reason="timeout")
    accepted_before = sample("cds_feedback_total", outcome="accepted")
    observe_fhir_fallback(0.2, ok=True, reason=None)
    observe_fhir_fallback(2.5, ok=False, reason="timeout")
    observe_feedback("accepted", 3)
    observe_feedback("accepted", 0)
    assert sample("cds_fhir_fallback_duration_seconds_count", outcome="ok") == ok_before + 1
    assert sample("cds_fhir_fallback_duration_seconds_count", outcome="failed") == failed_before + 1
    assert sample("cds_fhir_fallback_failures_total", reason="timeout") == timeouts_before + 1
    assert sample("cds_feedback_total", outcome="accepted") == accepted_before + 3


def test_bounded_label_caps_distinct_values_and_rejects_odd_text() -> None:
    label = BoundedLabel(limit=3)
    assert [label(f"rule-{i}") for i in range(5)] == [
        "rule-0",
        "rule-1",
        "rule-2",
        "other",
        "other",
    ]
    assert label("rule-1") == "rule-1"
    assert label(None) == "-"
    assert label("") == "-"
    assert label("/cds-services/x?patient=1") == "other"
    assert label("x" * 200) == "other"
    assert label(42) == "other"


def test_known_services_limit_the_service_label() -> None:
    app = flask.Flask(__name__)
    init_observability(app, readiness_checks={}, known_services=["rls-order-select"])

    @app.post("/cds-services/<service_id>")
    def call(service_id: str) -> flask.Response:
        flask.g.cds_log = {"service": service_id}
        return flask.jsonify(cards=[])

    client = app.test_client()
    before = sample("cds_http_requests_total", service="other", status="200")
    client.post("/cds-services/made-up-by-a-client", json={})
    assert sample("cds_http_requests_total", service="other", status="200") == before + 1
    assert sample("cds_http_requests_total", service="made-up-by-a-client", status="200") == 0


def test_access_log_is_one_json_line_with_the_cds_fields(access_lines) -> None:
    client = make_app().test_client()
    access_lines()
    client.post("/cds-services/rls-order-select", json={})
    [line] = access_lines()
    assert set(line) == {
        "ts",
        "method",
        "path",
        "status",
        "duration_ms",
        "service",
        "hook",
        "hookInstance",
        "rules",
    }
    assert line["method"] == "POST"
    assert line["path"] == "/cds-services/<service_id>"
    assert line["status"] == 200
    assert line["service"] == "rls-order-select"
    assert line["hook"] == "order-select"
    assert line["hookInstance"] == "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea"
    assert line["rules"] == ["iv-iron-indicated", "dopamine-agonist-against"]
    assert line["ts"].endswith("Z")
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0


def test_access_log_omits_absent_cds_fields(access_lines) -> None:
    client = make_app().test_client()
    access_lines()
    client.get("/healthz")
    [line] = access_lines()
    assert set(line) == {"ts", "method", "path", "status", "duration_ms"}
    assert line["path"] == "/healthz"


def test_access_log_never_carries_query_headers_body_or_tokens(access_lines) -> None:
    client = make_app().test_client()
    access_lines()
    client.post(
        "/cds-services/rls-order-select?patient=patient-123&q=1",
        json={
            "context": {"patientId": "patient-123"},
            "fhirAuthorization": {"access_token": "s3cr3t-token"},
            "prefetch": {"patient": {"name": [{"family": "Doe"}], "birthDate": "1970-01-01"}},
        },
        headers={"Authorization": "Bearer s3cr3t-token", "X-Patient": "patient-123"},
    )
    client.get("/patients/patient-123/Doe?token=s3cr3t-token")
    raw = json.dumps(access_lines())
    for marker in SECRET_MARKERS:
        assert marker not in raw
    assert "<unmatched>" in raw


def test_access_log_sanitises_what_the_view_puts_in_g(access_lines) -> None:
    app = flask.Flask(__name__)
    init_observability(app, readiness_checks={})

    @app.get("/odd")
    def odd() -> flask.Response:
        flask.g.cds_log = {"hookInstance": "John Doe, born 1970", "rules": "not-a-list"}
        return flask.jsonify(ok=True)

    access_lines()
    app.test_client().get("/odd")
    [line] = access_lines()
    assert line["hookInstance"] == "<invalid>"
    assert line["rules"] == []


def test_a_failing_view_is_logged_once_as_500(access_lines) -> None:
    client = make_app().test_client()
    access_lines()
    before = sample("cds_http_requests_total", service="-", status="500")
    assert client.get("/boom").status_code == 500
    lines = access_lines()
    assert [(line["path"], line["status"]) for line in lines] == [("/boom", 500)]
    assert sample("cds_http_requests_total", service="-", status="500") == before + 1
