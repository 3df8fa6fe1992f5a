"""F2 over HTTP: the feedback blueprint's statuses and bodies in a tiny Flask app."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from cds_service.feedback import FeedbackStore, default_database_url, feedback_blueprint

RULES = ["rls-iron-check", "rls-dopamine-augmentation"]
URL = "/cds-services/rls-order-select/feedback"


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[FeedbackStore]:
    with FeedbackStore(default_database_url(tmp_path)) as store:
        store.migrate()
        yield store


@pytest.fixture
def client(sqlite_store: FeedbackStore) -> FlaskClient:
    app = Flask(__name__)
    app.register_blueprint(
        feedback_blueprint(sqlite_store, lambda: {"rls-order-select"}, lambda: RULES)
    )
    return app.test_client()


def _issue(response) -> dict:  # type: ignore[no-untyped-def]
    body = response.get_json()
    assert body["resourceType"] == "OperationOutcome"
    assert len(body["issue"]) == 1
    return body["issue"][0]


def test_f2_feedback_is_acknowledged_and_idempotent(
    client: FlaskClient, make_item: Callable
) -> None:
    body = {"feedback": [make_item(RULES[0], "accepted"), make_item(RULES[1], "overridden")]}
    first = client.post(URL, json=body)
    assert first.status_code == 200
    assert first.get_json() == {"received": 2, "stored": 2}
    again = client.post(URL, json=body)
    assert again.status_code == 200 and again.get_json() == {"received": 2, "stored": 0}
    report = client.get("/analytics/feedback").get_json()
    assert [(r["ruleId"], r["accepted"], r["overridden"]) for r in report["rules"]] == [
        ("rls-dopamine-augmentation", 0, 1),
        ("rls-iron-check", 1, 0),
    ]


def test_f2_partly_invalid_feedback_stores_the_good_items(
    client: FlaskClient, make_item: Callable
) -> None:
    body = {"feedback": [make_item(RULES[0], "overridden"), make_item(outcome="maybe")]}
    response = client.post(URL, json=body)
    assert response.status_code == 200
    assert response.get_json() == {
        "received": 2,
        "stored": 1,
        "rejected": [{"index": 1, "field": "feedback[1].outcome",
                      "reason": "required, must be 'accepted' or 'overridden'"}],
    }
    report = client.get("/analytics/feedback").get_json()
    assert [(r["ruleId"], r["overridden"]) for r in report["rules"]] == [(RULES[0], 1)]


def test_f2_invalid_feedback_is_400_naming_the_field(
    client: FlaskClient, make_item: Callable
) -> None:
    body = {"feedback": [make_item(outcome="maybe")]}
    response = client.post(URL, json=body)
    assert response.status_code == 400
    assert response.mimetype == "application/json"
    issue = _issue(response)
    assert issue["severity"] == "error" and issue["code"] == "invalid"
    assert issue["expression"] == ["feedback[0].outcome"]
    assert "accepted" in issue["diagnostics"]
    assert client.get("/analytics/feedback").get_json() == {"rules": []}


@pytest.mark.parametrize(
    ("data", "content_type", "field"),
    [
        ("{not json", "application/json", "$"),
        ('{"feedback": 1}', "text/plain", "feedback"),
        ("null", "application/json", "$"),
        (b"\xff\xfe", "application/json", "$"),
        ("[]", "application/json", "$"),
    ],
)
def test_f2_malformed_bodies_are_400(
    client: FlaskClient, data: str | bytes, content_type: str, field: str
) -> None:
    response = client.post(URL, data=data, content_type=content_type)
    assert response.status_code == 400
    assert _issue(response)["expression"] == [field]


def test_f2_unknown_service_is_404(client: FlaskClient, make_item: Callable) -> None:
    response = client.post("/cds-services/nope/feedback", json={"feedback": [make_item()]})
    assert response.status_code == 404
    assert _issue(response)["code"] == "not-found"


def test_wrong_method_is_json_405(client: FlaskClient) -> None:
    response = client.get(URL)
    assert response.status_code == 405


def test_storage_failure_is_503_and_not_acknowledged(
    client: FlaskClient, sqlite_store: FeedbackStore, make_item: Callable
) -> None:
    with sqlite_store._db.sqlalchemy_engine().begin() as conn:  # white-box: break the database
        conn.execute(text("DROP TABLE feedback_items"))
    response = client.post(URL, json={"feedback": [make_item()]})
    assert response.status_code == 503
    assert _issue(response)["code"] == "transient"
    assert "Traceback" not in response.get_data(as_text=True)


def test_analytics_window_parameters(client: FlaskClient, make_item: Callable) -> None:
    body = {
        "feedback": [
            make_item(RULES[0], "accepted", "2024-04-30T23:00:00Z"),
            make_item(RULES[0], "overridden", "2024-05-01T00:00:00Z"),
        ]
    }
    assert client.post(URL, json=body).status_code == 200
    response = client.get("/analytics/feedback?since=2024-05-01&until=2024-05-02T00:00:00Z")
    assert response.status_code == 200
    assert response.get_json() == {
        "since": "2024-05-01T00:00:00Z",
        "until": "2024-05-02T00:00:00Z",
        "rules": [{"ruleId": RULES[0], "accepted": 0, "overridden": 1, "acceptanceRate": 0.0}],
    }


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("since=yesterday", "since"),
        ("until=2024-99-01", "until"),
        ("since=2024-05-02&until=2024-05-01", "until"),
    ],
)
@pytest.mark.parametrize("path", ["/analytics/feedback", "/analytics/feedback.html"])
def test_analytics_bad_dates_are_400(
    client: FlaskClient, path: str, query: str, field: str
) -> None:
    response = client.get(f"{path}?{query}")
    assert response.status_code == 400
    assert _issue(response)["expression"] == [field]


def test_analytics_html_page(client: FlaskClient, make_item: Callable) -> None:
    comment = {"userComment": "<img src=x onerror=alert(1)>"}
    body = {"feedback": [make_item(RULES[0], "overridden", overrideReason=comment)]}
    assert client.post(URL, json=body).status_code == 200
    response = client.get("/analytics/feedback.html")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert response.headers["Content-Security-Policy"] == (
        "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"
    )
    page = response.get_data(as_text=True)
    assert "<svg" in page and "<img" not in page and "&lt;img src=x" in page


def test_too_large_body_is_json_413(
    sqlite_store: FeedbackStore, client: FlaskClient, make_item: Callable
) -> None:
    client.application.config["MAX_CONTENT_LENGTH"] = 64
    response = client.post(URL, json={"feedback": [make_item() for _ in range(3)]})
    assert response.status_code == 413
    assert _issue(response)["code"] == "processing"
