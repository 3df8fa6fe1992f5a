"""Every request a real client sent (or documents), replayed over HTTP: the exact cards.

The requests are in ``fhir_fixtures/clients/`` (copied from the project's captures of the CDS
Hooks Sandbox and from Epic's and Oracle Health's documentation; see its README). Each must get
the exact list of (rule id, indicator) that ``fhir_fixtures/clients/expected.json`` states.
"""

from __future__ import annotations

import copy
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from cds_service.app import create_app
from cds_service.protocol import validator

from .fake_fhir import serve_captured
from .support import CLIENTS, rule_pairs

EXPECTED: dict[str, dict[str, Any]] = json.loads(
    (CLIENTS / "expected.json").read_text(encoding="utf-8")
)["requests"]
SERVICES = {
    "patient-view": "rls-patient-view",
    "order-select": "rls-order-select",
    "order-sign": "rls-order-sign",
}


def _load(name: str) -> dict[str, Any]:
    return json.loads((CLIENTS / name).read_text(encoding="utf-8"))


def _hook_requests() -> set[str]:
    """Every file under clients/ that is a hook call (has 'hook' and 'hookInstance')."""
    found = set()
    for path in CLIENTS.rglob("*.json"):
        body = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(body, dict) and "hook" in body and "hookInstance" in body:
            found.add(str(path.relative_to(CLIENTS)))
    return found




def _app(now: datetime, tmp_path: Path, **config: Any) -> Any:
    return create_app({"require_auth": False, "clock": lambda: now, "data_dir": tmp_path, **config})


def _post(body: dict[str, Any], now: datetime, tmp_path: Path, **config: Any) -> Any:
    app = _app(now, tmp_path, **config)
    return app.test_client().post(f"/cds-services/{SERVICES[body['hook']]}", json=body)


def _profile_config(profile: str) -> dict[str, Any]:
    """In-process there is no JWT: the profile the client's issuer would select is the default.
    Epic is recognised from its request extensions alone."""
    return {} if profile == "epic" else {"ehr_profile": profile}


def test_every_captured_hook_request_has_an_expectation() -> None:
    assert _hook_requests() == set(EXPECTED)


WITH_PREFETCH = sorted(n for n in EXPECTED if "fhir_server_data" not in EXPECTED[n])


@pytest.mark.parametrize("name", WITH_PREFETCH)
def test_client_request_gets_its_exact_cards(name: str, tmp_path: Path) -> None:
    expected = EXPECTED[name]
    now = datetime.fromisoformat(expected["now"].replace("Z", "+00:00"))
    app = _app(now, tmp_path, **_profile_config(expected["profile"]))
    body_sent = _load(name)
    url = f"/cds-services/{SERVICES[body_sent['hook']]}"
    response = app.test_client().post(url, json=body_sent)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    validator("cds-response").validate(body)
    assert rule_pairs(body) == [list(p) for p in expected["cards"]]
    # What this client would reject or ignore, by its documented constraints: nothing.
    assert app.extensions["rls_cds"].profiles.lint(body, expected["profile"]) == []
    if "deletes" in expected:  # the agonist card offers to remove exactly the Sandbox's draft
        card = next(c for c in body["cards"] if c["source"]["topic"]["code"].startswith("dopa"))
        actions = [a for s in card["suggestions"] for a in s["actions"]]
        deletes = {a["resourceId"] for a in actions if a["type"] == "delete"}
        assert deletes == {expected["deletes"]}


def test_sandbox_single_object_fields_are_read_as_arrays(tmp_path: Path) -> None:
    """Rx View's draft with category and reasonCode as objects answers exactly as the same
    draft with both wrapped in arrays: the reason is read (RLS), nothing is skipped."""
    now = datetime.fromisoformat("2026-12-02T15:00:00+00:00")
    sent = _load("sandbox/order-select-pramipexole-with-reason.json")
    wrapped = copy.deepcopy(sent)
    draft = wrapped["context"]["draftOrders"]["entry"][0]["resource"]
    assert isinstance(draft["category"], dict) and isinstance(draft["reasonCode"], dict)
    draft["category"], draft["reasonCode"] = [draft["category"]], [draft["reasonCode"]]
    as_sent, as_r4 = (_post(b, now, tmp_path).get_json() for b in (sent, wrapped))
    assert rule_pairs(as_sent) == rule_pairs(as_r4)
    assert [c["detail"] for c in as_sent["cards"]] == [c["detail"] for c in as_r4["cards"]]
    assert "could not be read" not in json.dumps(as_sent)


def test_epic_empty_searches_are_empty_not_missing(tmp_path: Path) -> None:
    """Epic's empty search (a searchset whose only entry is a warning OperationOutcome with
    search.mode outcome) is read as no resources: no fetch is attempted, no 412."""
    body = _load("epic/patient-view.json")
    empty = body["prefetch"]["medications"]
    assert [e["search"]["mode"] for e in empty["entry"]] == ["outcome"]
    now = datetime.fromisoformat("2026-12-02T15:00:00+00:00")
    # No FHIR server is allowed, so any attempt to fetch would answer 412.
    response = _post(body, now, tmp_path, fhir_allowlist=())
    assert response.status_code == 200
    assert rule_pairs(response.get_json()) == [["iv-iron-indicated", "info"]]


def test_an_error_outcome_in_prefetch_is_fetched_or_412(tmp_path: Path) -> None:
    """An OperationOutcome reporting an error is the client saying it failed: the key is
    fetched, and with no allowed FHIR server the answer is 412 naming that key."""
    body = _load("epic/patient-view.json")
    outcome = body["prefetch"]["medications"]["entry"][0]["resource"]
    outcome["issue"][0]["severity"] = "error"
    now = datetime.fromisoformat("2026-12-02T15:00:00+00:00")
    response = _post(body, now, tmp_path, fhir_allowlist=())
    assert response.status_code == 412
    assert response.get_json()["issue"][0]["expression"] == ["prefetch.medications"]


def test_an_outcome_whose_severity_is_not_text_is_fetched_or_412(tmp_path: Path) -> None:
    """A severity sent as a list or an object says nothing benign: read as a failure (fetched,
    else 412 naming the key), never a 500."""
    for severity in (["warning"], {"code": "warning"}):
        body = _load("epic/patient-view.json")
        outcome = body["prefetch"]["medications"]["entry"][0]["resource"]
        outcome["issue"][0]["severity"] = severity
        now = datetime.fromisoformat("2026-12-02T15:00:00+00:00")
        response = _post(body, now, tmp_path, fhir_allowlist=())
        assert response.status_code == 412
        assert response.get_json()["issue"][0]["expression"] == ["prefetch.medications"]


def test_epic_long_draft_ids_are_judged(tmp_path: Path) -> None:
    body = _load("epic/order-select.json")
    selection = body["context"]["selections"][0]
    assert len(selection.split("/")[1]) > 64  # longer than FHIR's 64: Epic's own ids are
    now = datetime.fromisoformat("2026-12-02T15:00:00+00:00")
    cards = _post(body, now, tmp_path).get_json()["cards"]
    agonist = next(c for c in cards if c["source"]["topic"]["code"] == "dopamineagonistagainst")
    assert "pramipexole" in agonist["summary"].lower()
    # Under Epic's profile one action per suggestion: removing the draft is its own suggestion,
    # naming Epic's long id exactly.
    deletes = [s["actions"] for s in agonist["suggestions"] if s["actions"][0]["type"] == "delete"]
    assert deletes == [[{"type": "delete", "description": "Remove the draft order for pramipexole",
                         "resourceId": selection}]]


def test_oracle_patient_view_through_the_tenant_fhir_server(tmp_path: Path) -> None:
    """Oracle sends no prefetch: every key is read from the tenant-scoped FHIR base on the
    allowlist, with the EHR's bearer token, and the cards are those of the data served."""
    expected = EXPECTED["oracle/patient-view.json"]
    body = _load("oracle/patient-view.json")
    assert "prefetch" not in body
    now = datetime.fromisoformat(expected["now"].replace("Z", "+00:00"))
    with serve_captured(CLIENTS / expected["fhir_server_data"]) as (base, fake):
        body["fhirServer"] = base
        app = _app(now, tmp_path, fhir_allowlist=(base,), fhir_allow_http=True,
                   ehr_profile="oracle")
        response = app.test_client().post("/cds-services/rls-patient-view", json=body)
        seen = list(fake.seen)
    assert response.status_code == 200, response.get_json()
    assert rule_pairs(response.get_json()) == [list(p) for p in expected["cards"]]
    assert app.extensions["rls_cds"].profiles.lint(response.get_json(), "oracle") == []
    token = body["fhirAuthorization"]["access_token"]
    assert {path.rsplit("/", 1)[-1] for path, _ in seen} >= {
        "Condition", "Observation", "MedicationRequest", "MedicationAdministration"
    }
    assert {auth for _, auth in seen} == {f"Bearer {token}"}


def test_oracle_other_tenant_is_not_on_the_allowlist(tmp_path: Path) -> None:
    """One allowlist entry per tenant: the same host under another tenant gets no request."""
    body = _load("oracle/patient-view.json")
    now = datetime.fromisoformat("2026-12-02T15:00:00+00:00")
    with serve_captured(CLIENTS / "oracle/fhir-server-data.json") as (base, fake):
        other = base.rsplit("/", 1)[0] + "/another-tenant"
        body["fhirServer"] = other
        response = _post(body, now, tmp_path, fhir_allowlist=(base,), fhir_allow_http=True)
        seen = list(fake.seen)
    assert response.status_code == 412
    assert "not on the allowlist" in response.get_json()["issue"][0]["diagnostics"]
    assert seen == []


def test_access_log_names_how_each_key_was_read_and_what_was_not(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Integration testers see, without any patient data, why an answer is what it is."""
    now = datetime.fromisoformat("2026-12-02T15:00:00+00:00")
    capsys.readouterr()
    _post(_load("sandbox/order-select-empty-draft.json"), now, tmp_path)
    _post(_load("epic/patient-view.json"), now, tmp_path)
    out = capsys.readouterr().out
    lines = [json.loads(line) for line in out.splitlines() if line.startswith('{"ts"')]
    assert lines[0]["unreadable"] == ["MedicationRequest.medication:absent"]
    assert lines[1]["prefetch"] == [
        "patient:data", "conditions:data", "ironStudies:data",
        "medications:empty", "medicationHistory:empty", "ivIronAdministrations:empty",
    ]
    assert "rls-sbx-1" not in out and "eRLSq7Kd2mPtW4vXbN9cYfA3" not in out


def test_epic_medication_by_absolute_reference_is_resolved(tmp_path: Path) -> None:
    """An active ropinirole order whose medicationReference is an absolute URL to a Medication
    included in the same search (Epic's absolute references) is read as ropinirole."""
    body = _load("epic/patient-view.json")
    base = body["fhirServer"]
    patient = body["context"]["patientId"]
    medication = {
        "resourceType": "Medication",
        "id": "eMed.Ropi3",
        "code": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                             "code": "72302"}]},
    }
    order = {
        "resourceType": "MedicationRequest",
        "id": "eRx.Ropi3",
        "status": "active",
        "intent": "order",
        "medicationReference": {"reference": f"{base}/Medication/eMed.Ropi3"},
        "subject": {"reference": f"{base}/Patient/{patient}"},
        "authoredOn": "2026-09-01",
    }
    body["prefetch"]["medications"] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": 1,
        "entry": [
            {"fullUrl": f"{base}/MedicationRequest/eRx.Ropi3", "resource": order,
             "search": {"mode": "match"}},
            {"fullUrl": f"{base}/Medication/eMed.Ropi3", "resource": medication,
             "search": {"mode": "include"}},
        ],
    }
    now = datetime.fromisoformat("2026-12-02T15:00:00+00:00")
    cards = _post(body, now, tmp_path).get_json()["cards"]
    assert rule_pairs({"cards": cards}) == [
        ["augmentation-risk-active-da", "warning"], ["iv-iron-indicated", "info"]
    ]
    assert "ropinirole" in cards[0]["summary"].lower()


def test_sandbox_patient_view_offers_nothing_it_cannot_apply(tmp_path: Path) -> None:
    """The Sandbox's Patient View holds no order: a "Draft IV ferric carboxymaltose" button there
    changed nothing and still posted "accepted" feedback (seen driving the real Sandbox). Under
    the sandbox profile patient-view cards carry no suggestions; under spec they keep them."""
    body = _load("sandbox/patient-view.json")
    now = datetime.fromisoformat("2026-12-02T15:00:00+00:00")
    as_sandbox = _post(body, now, tmp_path, ehr_profile="sandbox").get_json()
    as_spec = _post(body, now, tmp_path / "spec").get_json()
    assert rule_pairs(as_sandbox) == rule_pairs(as_spec)
    assert [("suggestions" in c, "selectionBehavior" in c) for c in as_sandbox["cards"]] == [
        (False, False), (False, False)
    ]
    iron = next(c for c in as_spec["cards"] if c["source"]["topic"]["code"] == "iv-iron-indicated")
    assert [s["label"] for s in iron["suggestions"]] == ["Draft IV ferric carboxymaltose"]
