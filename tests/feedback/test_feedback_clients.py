"""Feedback exactly as real clients sent it (fhir_fixtures/clients/, see FEEDBACK.md there),
posted to the whole app, with the rows it stores and the analytics it gives."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from cds_service import create_app
from cds_service.feedback.tables import feedback_items

CLIENTS = Path(__file__).resolve().parents[2] / "fhir_fixtures" / "clients"
EPIC = "urn:com.epic.cdshooks.feedback.overrideReason.reasonCategory"
OURS = "urn:rls-cds:override-reason"

# file -> (service, card, rule, outcome, reason system, reason code): one item per Sandbox POST
SANDBOX_ROWS = {
    "feedback-patient-view-accepted.json": (
        "rls-patient-view", "efe7356a-726e-489c-b4a3-04cd95b22eef", "iv-iron-indicated",
        "accepted", None, None),
    "feedback-patient-view-dismissed.json": (
        "rls-patient-view", "efe7356a-726e-489c-b4a3-04cd95b22eef", "iv-iron-indicated",
        "overridden", None, None),
    "feedback-patient-view-overridden-with-reason.json": (
        "rls-patient-view", "366c1bba-0053-4a37-b5a3-33e0df26d562",
        "augmentation-risk-active-da", "overridden", OURS, "specialist-managed"),
}
ARRAYS = {  # arrays-normalised/: card prefix -> rule (the same cards, clicked per suggestion)
    "311cb562": "alpha2delta-first-line",
    "efe7356a": "iv-iron-indicated",
    "e34baeba": "dopamine-agonist-against",
}


def _service(name: str) -> str:
    hook = next(h for h in ("patient-view", "order-select", "order-sign") if h in name)
    return f"rls-{hook}"


@pytest.fixture
def client(tmp_path: Path) -> FlaskClient:
    settings = {"require_auth": False, "data_dir": tmp_path, "store_feedback_comments": True}
    return create_app(settings).test_client()


def _rows(client: FlaskClient) -> list[tuple[Any, ...]]:
    store = client.application.extensions["rls_cds"].store
    c = feedback_items.c
    columns = [c.service_id, c.card_uuid, c.rule_id, c.outcome, c.reason_system, c.reason_code,
               c.reason_display, c.reason_title, c.user_comment]
    with store._db.sqlalchemy_engine().connect() as conn:  # white-box: the exact stored rows
        return [tuple(row) for row in conn.execute(select(*columns).order_by(c.id))]


def test_epic_batch_stores_its_four_items_with_both_reason_forms(client: FlaskClient) -> None:
    body = json.loads((CLIENTS / "epic" / "feedback-batch.json").read_text())
    url = "/cds-services/rls-order-select/feedback"
    response = client.post(url, json=body)
    # All four are valid: two overrides (Coding; Epic's extension keys), one acceptance with a
    # suggestion id, one override of card "123456" (kept, with no rule: it is not a UUID).
    assert (response.status_code, response.get_json()) == (200, {"received": 4, "stored": 4})
    svc = "rls-order-select"
    assert _rows(client) == [
        (svc, "e0e42194-7460-4538-9d0e-3412a1e6a5db", None, "overridden", OURS,
         "patient-preference", "Patient preference after discussion of risks", None,
         "Discussed augmentation risk; patient wants to continue for now."),
        (svc, "e1f160eb-dbf8-48ba-89ea-f17d96894676", None, "overridden", EPIC, "45",
         "Does not meet criteria", "Does not meet criteria",
         "Iron infusion already scheduled by hematology."),
        (svc, "5e907db3-5f83-48f3-84cc-f8661d5f0d3c", None, "accepted", None, None, None, None,
         None),
        (svc, "123456", None, "overridden", EPIC, "12", "Provider discretion",
         "Provider discretion", None),
    ]
    again = client.post(url, json=body)
    assert (again.status_code, again.get_json()) == (200, {"received": 4, "stored": 0})
    # Epic's extension reasons show up in the analytics by their display.
    report = client.get("/analytics/feedback").get_json()
    assert report["rules"] == [{
        "matched": False,
        "accepted": 1,
        "overridden": 3,
        "acceptanceRate": 0.25,
        "topOverrideReasons": [
            {"code": "12", "count": 1, "system": EPIC, "display": "Provider discretion"},
            {"code": "45", "count": 1, "system": EPIC, "display": "Does not meet criteria"},
            {"code": "patient-preference", "count": 1, "system": OURS,
             "display": "Patient preference after discussion of risks"},
        ],
        "topUserComments": [
            {"userComment": "Discussed augmentation risk; patient wants to continue for now.",
             "count": 1},
            {"userComment": "Iron infusion already scheduled by hematology.", "count": 1},
        ],
    }]
    text = client.get("/analytics/feedback.html").get_data(as_text=True)
    assert "Provider discretion" in text and "Does not meet criteria" in text


def test_epic_appends_feedback_to_the_registered_service_url(client: FlaskClient) -> None:
    body = json.loads((CLIENTS / "epic" / "feedback-batch.json").read_text())
    # Epic appends "/feedback" to the service URL the site registered.
    for url, stored in [
        ("/cds-services/rls-order-sign/feedback", 4),
        ("/cds-services/rls-order-sign/feedback/", 0),
    ]:
        response = client.post(url, json=body)
        assert (response.status_code, response.get_json()) == (
            200, {"received": 4, "stored": stored}), url


def test_sandbox_feedback_posts_are_stored_with_their_rules(client: FlaskClient) -> None:
    expected = []
    files = sorted((CLIENTS / "sandbox").glob("**/feedback-*.json"))
    assert len(files) == 19
    for path in files:
        body = json.loads(path.read_text())
        service = _service(path.name)
        response = client.post(f"/cds-services/{service}/feedback", json=body)
        assert (response.status_code, response.get_json()) == (
            200, {"received": 1, "stored": 1}), path.name
        if path.name in SANDBOX_ROWS:
            row = SANDBOX_ROWS[path.name]
        else:
            item = body["feedback"][0]
            reason = (item.get("overrideReason") or {}).get("reason") or {}
            row = (service, item["card"], ARRAYS[item["card"][:8]], item["outcome"],
                   reason.get("system"), reason.get("code"))
        expected.append((*row, None, None, None))
    assert _rows(client) == expected
    by_rule = {
        r["ruleId"]: (r["accepted"], r["overridden"])
        for r in client.get("/analytics/feedback").get_json()["rules"]
    }
    assert by_rule == {
        "alpha2delta-first-line": (6, 0),
        "augmentation-risk-active-da": (0, 1),
        "dopamine-agonist-against": (6, 2),
        "iv-iron-indicated": (3, 1),
    }


def test_a_batch_with_bad_items_stores_the_good_ones(client: FlaskClient) -> None:
    batch = json.loads((CLIENTS / "epic" / "feedback-batch.json").read_text())["feedback"]
    bad_outcome = {**batch[0], "outcome": "ignored"}
    no_card = {k: v for k, v in batch[1].items() if k != "card"}
    url = "/cds-services/rls-order-select/feedback"
    response = client.post(url, json={"feedback": [bad_outcome, batch[2], no_card, batch[3]]})
    assert response.status_code == 200
    assert response.get_json() == {
        "received": 4,
        "stored": 2,
        "rejected": [
            {"index": 0, "field": "feedback[0].outcome",
             "reason": "required, must be 'accepted' or 'overridden'"},
            {"index": 2, "field": "feedback[2].card",
             "reason": "required, must be the card id (a string of 1-64 chars)"},
        ],
    }
    assert [row[1] for row in _rows(client)] == ["5e907db3-5f83-48f3-84cc-f8661d5f0d3c", "123456"]
    # The same batch again: nothing new stored, the same items reported.
    again = client.post(url, json={"feedback": [bad_outcome, batch[2], no_card, batch[3]]})
    assert again.get_json()["stored"] == 0 and len(again.get_json()["rejected"]) == 2


def test_a_batch_with_no_readable_item_is_400_naming_each(client: FlaskClient) -> None:
    response = client.post(
        "/cds-services/rls-order-select/feedback",
        json={"feedback": [{"card": "x", "outcome": "accepted"}, 7]},
    )
    assert response.status_code == 400
    assert response.get_json() == {
        "resourceType": "OperationOutcome",
        "issue": [
            {"severity": "error", "code": "invalid", "diagnostics": "required",
             "expression": ["feedback[0].outcomeTimestamp"]},
            {"severity": "error", "code": "invalid", "diagnostics": "must be a JSON object",
             "expression": ["feedback[1]"]},
        ],
    }
    assert _rows(client) == []
