"""``POST /console/send``: a request answered as of a given date, through the service's code
path, so a fixture gives its documented cards on any day."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cds_service import create_app
from cds_service.config import REPO_ROOT

FIXTURE = REPO_ROOT / "fhir_fixtures" / "rls-low-ferritin-orders-pramipexole"


@pytest.fixture
def client(tmp_path: Path):
    app = create_app({"require_auth": False, "enable_console": True, "data_dir": tmp_path})
    return app.test_client()


def _send(client, **body):
    return client.post("/console/send", json=body)


def test_a_fixture_as_of_its_date_gives_its_documented_cards(client) -> None:
    expected = json.loads((FIXTURE / "expected.json").read_text())
    request = json.loads((FIXTURE / "request.json").read_text())
    response = _send(client, service=expected["service"], now=expected["now"], request=request)
    assert response.status_code == 200
    cards = response.get_json()["cards"]
    assert [(c["source"]["topic"]["code"], c["indicator"]) for c in cards] == [
        ("dopamine-agonist-against", "warning"), ("iv-iron-indicated", "info"),
        ("alpha2delta-first-line", "info")]
    later = _send(client, service=expected["service"], now="2030-01-01", request=request)
    assert [c["source"]["topic"]["code"] for c in later.get_json()["cards"]] == [
        "dopamine-agonist-against", "iron-studies-needed", "alpha2delta-first-line"]


@pytest.mark.parametrize(("body", "diagnostics", "field"), [
    ({"service": "nope", "now": "2026-06-15"},
     "service must be the id of one of this server's services", "service"),
    ({"service": "rls-order-select", "now": "soon"},
     "now must be a date or date-time, e.g. 2026-06-15T09:00:00Z", "now"),
    ({"service": "rls-order-select", "now": "2026-06-15", "request": {"hook": "order-select"}},
     "'hookInstance' is required", "(request)"),
])
def test_bad_console_requests_say_what_is_wrong(client, body, diagnostics, field) -> None:
    response = client.post("/console/send", json=body)
    assert response.status_code == 400
    (issue,) = response.get_json()["issue"]
    assert (issue["diagnostics"], issue.get("expression")) == (diagnostics, [field])


def test_without_the_console_there_is_no_send(tmp_path: Path) -> None:
    app = create_app({"require_auth": False, "data_dir": tmp_path})
    assert app.test_client().post("/console/send", json={}).status_code == 404
