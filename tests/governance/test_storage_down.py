"""Analytics routes when the database fails under them: 503 with a JSON OperationOutcome (the
reports read with SQLAlchemy; their errors are answered as the feedback endpoint's are)."""

from __future__ import annotations

import sqlite3

import pytest

from cds_service import create_app
from cds_service.database import default_database_url

ROUTES = ["/analytics/feedback", "/analytics/feedback.html", "/analytics/firing",
          "/analytics/firing.html", "/analytics/triage", "/analytics/audit-events"]


@pytest.fixture
def broken_client(tmp_path):
    app = create_app({"require_auth": False, "data_dir": tmp_path})
    client = app.test_client()
    for route in ROUTES:  # each answers while the database is there
        assert client.get(route).status_code == 200, route
    path = default_database_url(tmp_path).removeprefix("sqlite:///")
    with sqlite3.connect(path) as connection:
        for table in ("feedback_items", "cards_issued", "evaluations", "evaluation_rules"):
            connection.execute(f"DROP TABLE {table}")
    return client


@pytest.mark.parametrize("route", ROUTES)
def test_a_failed_report_is_503_json(broken_client, route: str) -> None:
    response = broken_client.get(route)
    assert response.status_code == 503
    body = response.get_json()
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"][0]["code"] == "transient"
    assert "Traceback" not in response.get_data(as_text=True)
