"""Override-comment triage: rules ranked by override rate and complaining comments."""

from __future__ import annotations

import json

from cds_service.cards.card_ids import new_card_uuid
from cds_service.cli import main
from cds_service.governance.triage import complaints_in
from tests.governance.support import ISS_A, call, fixture, served

BAD, OK = "iv-iron-indicated", "alpha2delta-first-line"


def _item(rule, outcome, comment=None):
    item = {"card": new_card_uuid(rule), "outcome": outcome,
            "outcomeTimestamp": "2026-06-15T10:00:00Z"}
    if outcome == "accepted":
        item["acceptedSuggestions"] = [{"id": "s1"}]
    if comment is not None:
        item["overrideReason"] = {"userComment": comment}
    return item


def test_complaint_phrases():
    assert complaints_in("Patient is ALREADY on IV iron; wrong card") == ["already", "wrong"]
    assert complaints_in("Not RLS, this is PLMD") == ["not rls"]
    assert complaints_in("patient prefers oral therapy") == []
    assert complaints_in("wrongly worded") == []  # whole words only


def test_triage_ranks_the_complained_rule_first_over_http(tmp_path):
    _, now, _ = fixture("rls-ferritin-90-band-orders-fcm")
    app = served(tmp_path, None, now, store_feedback_comments=True)  # triage reads comments
    client = app.test_client()
    items = [
        _item(BAD, "overridden", "already had IV iron last month"),
        _item(BAD, "overridden", "already had IV iron last month"),
        _item(BAD, "overridden", "Wrong: not RLS <script>"),
        _item(BAD, "accepted"),
        _item(OK, "overridden", "patient prefers to wait"),
        _item(OK, "accepted"), _item(OK, "accepted"), _item(OK, "accepted"),
    ]
    stored = call(client, ISS_A, "/cds-services/rls-order-select/feedback", {"feedback": items})
    assert stored.status_code == 200 and stored.get_json()["stored"] == 8
    ranked = call(client, ISS_A, "/analytics/triage").get_json()
    assert [(r["rule"], r["score"], r["override_rate"], r["complaint_share"]) for r in ranked] == [
        (BAD, 1.75, 0.75, 1.0), (OK, 0.25, 0.25, 0.0)]
    assert ranked[0]["comments"] == [
        {"text": "already had IV iron last month", "count": 2, "complaints": ["already"]},
        {"text": "Wrong: not RLS <script>", "count": 1, "complaints": ["wrong", "not rls"]},
    ]
    page = call(client, ISS_A, "/analytics/feedback.html").get_data(as_text=True)
    section = page.split('<section id="triage">', 1)[1]
    assert section.index(f'data-rule="{BAD}"') < section.index(f'data-rule="{OK}"')
    assert "<mark>Wrong</mark>: <mark>not RLS</mark> &lt;script&gt;" in section
    assert "<script>" not in page


def test_triage_cli(tmp_path, capsys):
    _, now, _ = fixture("rls-ferritin-90-band-orders-fcm")
    app = served(tmp_path, None, now, store_feedback_comments=True)
    call(app.test_client(), ISS_A, "/cds-services/rls-order-select/feedback",
         {"feedback": [_item(BAD, "overridden", "duplicate alert")]})
    url = f"sqlite:///{tmp_path}/var/feedback.sqlite3"
    capsys.readouterr()  # the access log line of the POST
    assert main(["triage", "--database-url", url]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"2.00  {BAD}: 1 of 1 overridden, 100% complaining",
        "        1 x 'duplicate alert' [duplicate]",
    ]
    assert main(["triage", "--database-url", url, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["rule"] == BAD
