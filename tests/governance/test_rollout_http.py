"""End to end over HTTP: one rule silent for issuer A, active for issuer B."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from cds_service.governance.tables import evaluation_rules, evaluations
from tests.governance.support import ISS_A, ISS_B, call, fixture, served

RULE = "iv-iron-not-indicated"
FIXTURE = "rls-ferritin-90-band-orders-fcm"  # fires exactly that rule


@pytest.fixture
def site_file(tmp_path):
    path = tmp_path / "sites.yaml"
    path.write_text(
        f"changed_by: Dr Test (CDS committee)\nchange_note: pilot at A\n"
        f"sites:\n  {ISS_A}:\n    rules: {{{RULE}: silent}}\n"
    )
    return path


@pytest.fixture
def app(tmp_path, site_file):
    _, now, _ = fixture(FIXTURE)
    return served(tmp_path, site_file, now, enable_console=True)


def _rows(app):
    governance = app.extensions["rls_cds"].governance
    governance.recorder.flush()
    with governance.database.sqlalchemy_engine().connect() as conn:
        evals = conn.execute(select(evaluations).order_by(evaluations.c.site)).mappings().all()
        fired = conn.execute(
            select(evaluation_rules.c.site, evaluation_rules.c.rule_id, evaluation_rules.c.mode)
            .order_by(evaluation_rules.c.site)
        ).all()
    return evals, [tuple(r) for r in fired]


def test_silent_for_a_active_for_b_and_both_recorded(app):
    body, _, service = fixture(FIXTURE)
    client = app.test_client()
    path = f"/cds-services/{service}"
    answer_a = call(client, ISS_A, path, body)
    answer_b = call(client, ISS_B, path, body)
    assert answer_a.status_code == answer_b.status_code == 200
    assert answer_a.get_json() == {"cards": []}
    cards_b = answer_b.get_json()["cards"]
    assert [(c["source"]["topic"]["code"], c["indicator"]) for c in cards_b] == [(RULE, "info")]

    evals, fired = _rows(app)
    assert [(e["site"], e["hook"], e["service_id"], e["cards"]) for e in evals] == [
        (ISS_A, "order-select", service, 0), (ISS_B, "order-select", service, 1)]
    assert fired == [(ISS_A, RULE, "silent"), (ISS_B, RULE, "active")]
    patient = body["context"]["patientId"]
    for e in evals:
        assert e["patient_ref"] is None  # no opt-in
        assert len(e["patient_hmac"]) == 64 and patient not in json.dumps(dict(e), default=str)
        assert e["knowledge_version"] == "2026.11.0" and len(e["knowledge_sha256"]) == 64
    # one key for every site without its own: the same patient hashes alike at A and B
    assert evals[0]["patient_hmac"] == evals[1]["patient_hmac"]


def test_no_card_call_is_recorded(app):
    body, _, service = fixture("no-rls-orders-pramipexole-no-card")
    response = call(app.test_client(), ISS_B, f"/cds-services/{service}", body)
    assert response.get_json() == {"cards": []}
    evals, fired = _rows(app)
    assert [(e["site"], e["cards"]) for e in evals] == [(ISS_B, 0)] and fired == []


def test_off_drops_the_rule_entirely(tmp_path):
    path = tmp_path / "sites.json"
    path.write_text(json.dumps({"sites": {"default": {"rules": {RULE: "off"}}}}))
    body, now, service = fixture(FIXTURE)
    app = served(tmp_path, path, now)
    assert call(app.test_client(), ISS_B, f"/cds-services/{service}", body).get_json() == {
        "cards": []}
    evals, fired = _rows(app)
    assert [(e["site"], e["cards"]) for e in evals] == [(ISS_B, 0)] and fired == []


def test_config_change_log_and_review_page(tmp_path, site_file, app):
    review = app.test_client().get("/review").get_data(as_text=True)
    assert 'id="site-modes"' in review
    row = review.split(f'<tr data-rule-id="{RULE}"><td><code>{RULE}</code></td>', 1)[1]
    # columns: default, then issuer A
    assert row.startswith('<td class="mode-active">active</td><td class="mode-silent">silent</td>')
    assert "by Dr Test (CDS committee)" in review and "pilot at A" in review

    # same file again: no new version; a changed file: one new version with the difference
    _, now, _ = fixture(FIXTURE)
    served(tmp_path, site_file, now)
    site_file.write_text(f"changed_by: Dr Two\nsites:\n  {ISS_A}:\n    rules: {{{RULE}: active}}\n")
    app2 = served(tmp_path, site_file, now)
    from cds_service.governance.changes import config_history

    history = config_history(app2.extensions["rls_cds"].governance.database)
    assert [h["changed_by"] for h in history] == ["Dr Two", "Dr Test (CDS committee)"]
    assert history[0]["changes"] == [
        {"site": ISS_A, "rule": RULE, "from": "silent", "to": "active"}]
    assert history[1]["changes"] == [{"site": ISS_A, "rule": RULE, "from": None, "to": "silent"}]
    assert history[0]["previous_sha256"] == history[1]["sha256"]


def test_auth_off_uses_the_configured_site_id(tmp_path, site_file):
    body, now, service = fixture(FIXTURE)
    app = served(tmp_path, site_file, now, require_auth=False, site_id=ISS_A)
    response = app.test_client().post(f"/cds-services/{service}", json=body)
    assert response.get_json() == {"cards": []}
    evals, fired = _rows(app)
    assert fired == [(ISS_A, RULE, "silent")]


def test_audit_events_export_validates(app):
    from cds_service.governance.audit import validate_bundle

    body, _, service = fixture(FIXTURE)
    client = app.test_client()
    call(client, ISS_A, f"/cds-services/{service}", body)
    call(client, ISS_B, f"/cds-services/{service}", body)
    app.extensions["rls_cds"].governance.recorder.flush()
    response = call(client, ISS_A, "/analytics/audit-events")
    assert response.status_code == 200 and response.mimetype == "application/fhir+json"
    bundle = response.get_json()
    validate_bundle(bundle)
    events = [e["resource"] for e in bundle["entry"]]
    assert [e["agent"][0]["who"]["identifier"]["value"] for e in events] == [ISS_A, ISS_B]
    rules = [[(x["what"]["identifier"]["value"], x["detail"][0]["valueString"])
              for x in e["entity"] if x["name"] == "rule"] for e in events]
    assert rules == [[(RULE, "silent")], [(RULE, "active")]]
    patients = [next(x["what"] for x in e["entity"] if x["name"] == "patient") for e in events]
    assert all(set(p) == {"identifier"} for p in patients)
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "collection"
    only_b = call(client, ISS_A, f"/analytics/audit-events?site={ISS_B}").get_json()
    assert len(only_b["entry"]) == 1
    assert call(client, ISS_A, "/analytics/audit-events?since=2999-01-01").get_json()["entry"] == []
    bad = call(client, ISS_A, "/analytics/audit-events?since=yesterday")
    assert bad.status_code == 400
    assert bad.get_json()["issue"][0]["diagnostics"] == (
        "since must be an ISO 8601 date or date-time")


def test_patient_reference_only_on_opt_in(tmp_path, monkeypatch):
    monkeypatch.setenv("RLS_TEST_KEY_A", "secret-of-a")
    path = tmp_path / "sites.yaml"
    path.write_text(f"sites:\n  {ISS_A}:\n    record_patient_reference: true\n"
                    f"    patient_key_env: RLS_TEST_KEY_A\n")
    body, now, service = fixture(FIXTURE)
    app = served(tmp_path, path, now)
    client = app.test_client()
    call(client, ISS_A, f"/cds-services/{service}", body)
    call(client, ISS_B, f"/cds-services/{service}", body)
    evals, _ = _rows(app)
    patient = body["context"]["patientId"]
    from cds_service.governance.records import patient_hmac

    assert [(e["site"], e["patient_ref"]) for e in evals] == [
        (ISS_A, f"Patient/{patient}"), (ISS_B, None)]
    assert evals[0]["patient_hmac"] == patient_hmac(b"secret-of-a", patient)
    assert evals[1]["patient_hmac"] != evals[0]["patient_hmac"]  # B: the default key


def test_analytics_and_metrics_count_silent_cards(app):
    body, _, service = fixture(FIXTURE)
    client = app.test_client()
    for iss in (ISS_A, ISS_B, ISS_A):
        call(client, iss, f"/cds-services/{service}", body)
    app.extensions["rls_cds"].governance.recorder.flush()
    now = call(client, ISS_A, "/analytics/firing").get_json()  # records carry wall-clock time
    assert now["evaluations"] == {ISS_A: 2, ISS_B: 1}
    assert [(r["rule"], r["site"], r["mode"], r["window"]) for r in now["rules"]] == [
        (RULE, ISS_A, "silent", {"fired": 2, "evaluations": 2, "per_100": 100.0}),
        (RULE, ISS_B, "active", {"fired": 1, "evaluations": 1, "per_100": 100.0}),
    ]
    page = call(client, ISS_A, "/analytics/firing.html")
    assert page.status_code == 200 and f'<tr data-rule="{RULE}" data-mode="silent">' in \
        page.get_data(as_text=True)
    assert client.get("/analytics/firing").status_code == 401  # behind client auth
    metrics = client.get("/metrics").get_data(as_text=True)
    assert f'cds_rules_fired_total{{mode="silent",rule_id="{RULE}",site="{ISS_A}"}}' in metrics


def test_site_order_codes_reach_only_that_site(tmp_path):
    path = tmp_path / "sites.json"
    path.write_text(json.dumps({"sites": {ISS_A: {"order_codes": {
        "epic": {"preference_list": {"pregabalin": "PL-9"}}}}}}))
    body, now, service = fixture("rls-low-ferritin-orders-pramipexole")
    app = served(tmp_path, path, now, ehr_profile="epic")
    client = app.test_client()

    def pregabalin(iss):
        cards = call(client, iss, f"/cds-services/{service}", body).get_json()["cards"]
        return cards[2]["suggestions"][2]["actions"][0]["resource"][
            "medicationCodeableConcept"]["coding"][0]

    assert pregabalin(ISS_A) == {
        "system": "urn:com.epic.cdshooks.action.code.system.preference-list-item",
        "code": "PL-9"}
    assert pregabalin(ISS_B)["system"] != (
        "urn:com.epic.cdshooks.action.code.system.preference-list-item")


def test_bad_site_order_codes_are_named(tmp_path):
    from cds_service.errors import ConfigurationError

    path = tmp_path / "sites.json"
    path.write_text(json.dumps({"sites": {"a": {"order_codes": {
        "epic": {"preference_list": {"ibuprofen": "1"}}}}}}))
    with pytest.raises(ConfigurationError) as raised:
        served(tmp_path, path, fixture(FIXTURE)[1])
    assert str(raised.value).startswith(
        "CDS_SITE_CONFIG sites.a.order_codes.epic.preference_list: unknown key(s) ['ibuprofen']")
