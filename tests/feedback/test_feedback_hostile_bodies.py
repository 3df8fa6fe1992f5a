"""Hostile feedback bodies get the same 400 JSON on SQLite and PostgreSQL, over the whole app:
nesting 100,000 deep (was a RecursionError 500), a lone surrogate (was 500 on both databases),
a NUL in a comment (was 503 "transient" on PostgreSQL and stored on SQLite)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from cds_service import create_app

URL = "/cds-services/rls-order-select/feedback"
RULE = "iv-iron-indicated"


@pytest.fixture
def client(database_url: str, tmp_path: Path) -> FlaskClient:
    app = create_app({"require_auth": False, "data_dir": tmp_path, "database_url": database_url})
    return app.test_client()


def _post(client: FlaskClient, raw: bytes) -> tuple[int, dict]:
    response = client.post(URL, data=raw, headers={"Content-Type": "application/json"})
    assert response.mimetype == "application/json"
    return response.status_code, response.get_json()


def _only_issue(body: dict) -> dict:
    assert body["resourceType"] == "OperationOutcome" and len(body["issue"]) == 1
    return body["issue"][0]


def _nothing_stored(client: FlaskClient) -> None:
    report = client.get("/analytics/feedback").get_json()
    assert all(r["accepted"] == r["overridden"] == 0 for r in report["rules"]), report


def _comment_body(make_item: Callable, comment_json: str) -> bytes:
    item = make_item(RULE, "overridden", overrideReason={"userComment": "PLACEHOLDER"})
    return json.dumps({"feedback": [item]}).replace('"PLACEHOLDER"', comment_json).encode()


def test_a_body_nested_100000_deep_is_400(client: FlaskClient) -> None:
    raw = b'{"feedback": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    status, body = _post(client, raw)
    issue = _only_issue(body)
    assert status == 400 and issue["expression"] == ["$"]
    assert issue["diagnostics"].startswith("request body must be valid JSON (depth limit")
    _nothing_stored(client)


def test_a_body_nested_past_the_feedback_limit_is_400(client: FlaskClient) -> None:
    raw = b'{"feedback": ' + b"[" * 40 + b"]" * 40 + b"}"  # valid JSON, 41 levels
    status, body = _post(client, raw)
    assert status == 400
    assert _only_issue(body)["diagnostics"] == "request body is nested deeper than 32 levels"


@pytest.mark.parametrize(
    "comment_json", ['"\\ud800"', '"ok \\udfff then"'], ids=["high", "low"]
)
def test_a_lone_surrogate_is_400(
    client: FlaskClient, make_item: Callable, comment_json: str
) -> None:
    status, body = _post(client, _comment_body(make_item, comment_json))
    issue = _only_issue(body)
    assert status == 400 and issue["expression"] == ["$"]
    assert "surrogate" in issue["diagnostics"]
    _nothing_stored(client)


def test_a_surrogate_encoded_as_bytes_is_400(client: FlaskClient, make_item: Callable) -> None:
    raw = _comment_body(make_item, '"x"').replace(b'"x"', b'"\xed\xa0\x80"')
    status, body = _post(client, raw)
    assert status == 400 and _only_issue(body)["expression"] == ["$"]


def test_a_nul_in_a_comment_is_400_naming_the_field(
    client: FlaskClient, make_item: Callable
) -> None:
    status, body = _post(client, _comment_body(make_item, '"before\\u0000after"'))
    issue = _only_issue(body)
    assert status == 400
    assert issue["expression"] == ["feedback[0].overrideReason.userComment"]
    assert issue["diagnostics"] == "must not contain a NUL character (U+0000)"
    _nothing_stored(client)
    # The same feedback without the NUL is stored: the store is healthy, not "transient".
    status, body = _post(client, _comment_body(make_item, '"before after"'))
    assert (status, body) == (200, {"received": 1, "stored": 1})
