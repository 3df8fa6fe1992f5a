"""Free-text override comments may name patients: stored only when CDS_STORE_FEEDBACK_COMMENTS
allows it (off by default, on in the quickstart), and masked in every report."""

from __future__ import annotations

import json
from pathlib import Path

from cds_service import create_app
from cds_service.cards.card_ids import new_card_uuid
from cds_service.feedback.report import redact_comment
from cds_service.feedback.tables import feedback_items

COMMENT = "Pt MRN 4471920 seen 2026-06-01, call jane.doe@example.org"


def _post(tmp_path: Path, **settings: object) -> object:
    app = create_app({"require_auth": False, "data_dir": tmp_path, **settings})
    card = new_card_uuid("dopamine-agonist-against")
    body = {"feedback": [{
        "card": card, "outcome": "overridden", "outcomeTimestamp": "2026-06-15T09:02:00Z",
        "overrideReason": {"reason": {"system": "urn:rls-cds:override-reason",
                                      "code": "patient-preference"},
                           "userComment": COMMENT}}]}
    response = app.test_client().post("/cds-services/rls-order-select/feedback", json=body)
    assert response.status_code == 200 and response.get_json()["stored"] == 1
    return app


def _stored(app) -> list[tuple]:
    store = app.extensions["rls_cds"].store
    with store._db.sqlalchemy_engine().connect() as conn:  # noqa: SLF001
        rows = conn.execute(feedback_items.select()).mappings().all()
    return [(r["user_comment"], json.loads(r["override_reason"])) for r in rows]


def test_comments_are_not_stored_by_default(tmp_path: Path) -> None:
    app = _post(tmp_path)
    ((comment, reason),) = _stored(app)
    assert comment is None and "userComment" not in reason
    assert reason["reason"]["code"] == "patient-preference"
    report = app.test_client().get("/analytics/feedback").get_json()
    assert "topUserComments" not in json.dumps(report)
    assert "4471920" not in app.test_client().get("/analytics/feedback.html").get_data(True)


def test_stored_comments_are_masked_in_every_report(tmp_path: Path) -> None:
    app = _post(tmp_path, store_feedback_comments=True)
    ((comment, _),) = _stored(app)
    assert comment == COMMENT
    masked = "Pt MRN # seen #-#-#, call [e-mail]"
    (rule,) = app.test_client().get("/analytics/feedback").get_json()["rules"]
    assert rule["topUserComments"] == [{"userComment": masked, "count": 1}]
    page = app.test_client().get("/analytics/feedback.html").get_data(as_text=True)
    assert masked in page and "4471920" not in page and "example.org" not in page


def test_redaction_masks_numbers_and_addresses() -> None:
    assert redact_comment("ferritin 42 on 2026-05-16") == "ferritin # on #-#-#"
    assert redact_comment("mail a.b@c.org") == "mail [e-mail]"
