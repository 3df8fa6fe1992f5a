"""fill_missing_prefetch with mocked FHIR servers ([P3], [P4], [L1])."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
import responses

from cds_service.fhir.client import FhirAccessPolicy, FhirUnavailable
from cds_service.fhir.fallback import (
    fetch_prefetch_sequential,
    fill_missing_prefetch,
    make_session,
)
from cds_service.fhir.prefetch import missing_keys

from .prefetch_templates import TEMPLATES

BASE = "https://ehr.example.org/fhir"
TOKEN = "tok-SECRET-456"
POLICY = FhirAccessPolicy(allowlist=(BASE,))
PATIENT = {"resourceType": "Patient", "id": "p1"}
EMPTY = {"resourceType": "Bundle", "type": "searchset", "total": 0}
OUTCOME = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "timeout"}]}


def _body(**extra: object) -> dict:
    body: dict = {
        "hook": "patient-view",
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "fhirServer": BASE,
        "context": {"userId": "Practitioner/u1", "patientId": "p1"},
        "fhirAuthorization": {
            "access_token": TOKEN,
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": "patient/*.read",
            "subject": "cds",
        },
    }
    body.update(extra)
    return body


def _fill(templates: dict, body: dict, prefetch: dict | None, **kw: object) -> dict:
    """fill_missing_prefetch on a pool that is drained before the test ends.

    A fetch still running after a failure or the deadline would otherwise record its call in
    the ``responses`` registry of whatever test runs next.
    """
    policy = kw.pop("policy", POLICY)
    if "executor" in kw:
        return fill_missing_prefetch(
            templates, body, prefetch, policy=policy, session=make_session(), **kw
        )
    with ThreadPoolExecutor(6) as pool:
        return fill_missing_prefetch(
            templates, body, prefetch, policy=policy, session=make_session(), executor=pool, **kw
        )


def _mock_all_searches() -> None:
    responses.get(f"{BASE}/Patient/p1", json=PATIENT)
    for rtype in ("Condition", "Observation", "MedicationRequest", "MedicationAdministration"):
        responses.get(f"{BASE}/{rtype}", json=EMPTY)


@responses.activate
def test_all_keys_absent_are_fetched_with_the_token() -> None:
    _mock_all_searches()
    timings: dict[str, float] = {}
    result = _fill(TEMPLATES, _body(), None, timings=timings)
    assert set(result) == set(TEMPLATES)
    assert result["patient"] == PATIENT and result["conditions"] == EMPTY
    assert len(responses.calls) == len(TEMPLATES)
    assert all(c.request.headers["Authorization"] == f"Bearer {TOKEN}" for c in responses.calls)
    assert set(timings) == {*TEMPLATES, "_total"}
    query = next(c.request.url for c in responses.calls if "Observation" in c.request.url)
    assert "patient=p1" in query and "_sort=-date" in query and "2276-4" in query


@responses.activate
def test_open_server_without_fhir_authorization() -> None:
    _mock_all_searches()
    body = _body()
    del body["fhirAuthorization"]
    assert _fill(TEMPLATES, body, {})["patient"] == PATIENT
    assert all("Authorization" not in c.request.headers for c in responses.calls)


@responses.activate
def test_present_keys_are_kept_null_is_not_fetched_and_outcome_is_refetched() -> None:
    responses.get(f"{BASE}/Condition", json=EMPTY)
    given_patient = {"resourceType": "Patient", "id": "p1", "gender": "female"}
    prefetch = {
        "patient": given_patient,
        "medications": None,
        "conditions": OUTCOME,
        "unrelated": {"kept": True},
    }
    templates = {k: TEMPLATES[k] for k in ("patient", "medications", "conditions")}
    result = _fill(templates, _body(), prefetch)
    assert result == {
        "patient": given_patient,
        "medications": None,
        "conditions": EMPTY,
        "unrelated": {"kept": True},
    }
    assert [c.request.url.split("?")[0] for c in responses.calls] == [f"{BASE}/Condition"]
    assert prefetch["conditions"] == OUTCOME  # the caller's dict is not changed


@responses.activate
def test_complete_prefetch_needs_no_server() -> None:
    prefetch = {key: EMPTY for key in TEMPLATES}
    body = _body()
    del body["fhirServer"]
    assert _fill(TEMPLATES, body, prefetch) == prefetch
    assert len(responses.calls) == 0


def test_missing_keys() -> None:
    assert missing_keys(
        {"a": "", "b": "", "c": "", "d": ""}, {"a": None, "b": OUTCOME, "c": PATIENT}
    ) == ["b", "d"]


@responses.activate
def test_no_fhir_server_is_unavailable() -> None:
    body = _body()
    del body["fhirServer"]
    with pytest.raises(FhirUnavailable, match="no fhirServer") as info:
        _fill(TEMPLATES, body, {"patient": PATIENT})
    assert info.value.key == "conditions"


@responses.activate
def test_server_off_the_allowlist_gets_no_request() -> None:
    body = _body(fhirServer="https://attacker.example.com/fhir")
    with pytest.raises(FhirUnavailable, match="not on the allowlist") as info:
        _fill(TEMPLATES, body, None)
    assert len(responses.calls) == 0
    assert info.value.key == "patient" and TOKEN not in str(info.value)


@responses.activate
def test_template_that_cannot_be_filled_is_unavailable() -> None:
    templates = {"me": "Practitioner/{{userPractitionerId}}"}
    body = _body(context={"userId": "PractitionerRole/r1", "patientId": "p1"})
    with pytest.raises(FhirUnavailable, match="cannot build the query") as info:
        _fill(templates, body, None)
    assert info.value.key == "me" and len(responses.calls) == 0


@pytest.mark.parametrize("concurrent", [True, False])
@responses.activate
def test_first_failing_key_is_reported(concurrent: bool) -> None:
    responses.get(f"{BASE}/Patient/p1", json=PATIENT)
    responses.get(f"{BASE}/Condition", status=401)
    responses.get(f"{BASE}/Observation", status=503)
    templates = {k: TEMPLATES[k] for k in ("patient", "conditions", "ironStudies")}
    with pytest.raises(FhirUnavailable) as info:
        _fill(templates, _body(), None, concurrent=concurrent)
    if concurrent:  # whichever failure completes first ends the wait
        assert (info.value.key, info.value.reason) in [
            ("conditions", "FHIR server answered 401"),
            ("ironStudies", "FHIR server answered 503"),
        ]
    else:
        assert (info.value.key, info.value.reason) == ("conditions", "FHIR server answered 401")


@responses.activate
def test_404_on_an_instance_read_is_unavailable() -> None:
    responses.get(f"{BASE}/Patient/p1", status=404, json=OUTCOME)
    with pytest.raises(FhirUnavailable, match="answered 404"):
        _fill({"patient": TEMPLATES["patient"]}, _body(), None)


def _slow(seconds: float, payload: dict, release: threading.Event | None = None) -> Callable:
    """A responses callback that answers after ``seconds`` (or as soon as ``release`` is set)."""

    def callback(request: requests.PreparedRequest) -> tuple[int, dict, str]:
        (release or threading.Event()).wait(seconds)
        return 200, {"Content-Type": "application/fhir+json"}, json.dumps(payload)

    return callback


@responses.activate
def test_fetches_run_concurrently() -> None:
    responses.add_callback("GET", f"{BASE}/Patient/p1", callback=_slow(0.3, PATIENT))
    for rtype in ("Condition", "Observation", "MedicationRequest", "MedicationAdministration"):
        responses.add_callback("GET", f"{BASE}/{rtype}", callback=_slow(0.3, EMPTY))
    policy = FhirAccessPolicy(allowlist=(BASE,), deadline_s=5.0)
    start = time.monotonic()
    _fill(TEMPLATES, _body(), None, policy=policy)
    concurrent = time.monotonic() - start
    start = time.monotonic()
    fetch_prefetch_sequential(TEMPLATES, _body(), None, policy=policy, session=make_session())
    sequential = time.monotonic() - start
    assert sequential >= 6 * 0.3
    assert concurrent < 1.2


@responses.activate
def test_one_overall_deadline_for_all_keys() -> None:
    release = threading.Event()
    responses.add_callback("GET", f"{BASE}/Patient/p1", callback=_slow(0.05, PATIENT))
    responses.add_callback("GET", f"{BASE}/Condition", callback=_slow(1.5, EMPTY, release))
    templates = {k: TEMPLATES[k] for k in ("patient", "conditions")}
    policy = FhirAccessPolicy(allowlist=(BASE,), deadline_s=0.3)
    pool = ThreadPoolExecutor(2)
    start = time.monotonic()
    try:
        with pytest.raises(FhirUnavailable, match=r"timed out after 0\.3 s") as info:
            _fill(templates, _body(), None, policy=policy, executor=pool)
        assert time.monotonic() - start < 1.0
        assert info.value.key == "conditions"
    finally:
        release.set()
        pool.shutdown(wait=True)


@responses.activate
def test_shared_executor_is_used_and_left_running() -> None:
    _mock_all_searches()
    with ThreadPoolExecutor(2) as pool:
        assert _fill(TEMPLATES, _body(), None, executor=pool)["patient"] == PATIENT
        assert pool.submit(lambda: 1).result() == 1


@responses.activate
def test_the_token_is_never_logged(caplog: pytest.LogCaptureFixture) -> None:
    responses.get(f"{BASE}/Patient/p1", json=PATIENT)
    responses.get(f"{BASE}/Condition", status=403)
    caplog.set_level(logging.DEBUG)
    _fill({"patient": TEMPLATES["patient"]}, _body(), None)
    with pytest.raises(FhirUnavailable):
        _fill({"conditions": TEMPLATES["conditions"]}, _body(), None)
    assert caplog.records and TOKEN not in caplog.text
