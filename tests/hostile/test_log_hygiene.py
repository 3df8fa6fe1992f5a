"""No patient data and no token in the logs, whatever the request and however it ends.

Every request below carries distinctive values (a patient id, a birth date, a ferritin value,
an access token, a practitioner id, a comment) and the test captures everything that is logged
at DEBUG, by every logger (the JSON access log does not propagate: it is captured too), and
everything written to stdout and stderr, then looks for those values.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest
import responses
from flask import Flask

from tests.fhir_builders import bundle, condition, medication_request, observation

from .support import HOOK_SERVICE, build_app, to_json_text

PATIENT_ID = "zzpatient42"
BIRTH_DATE = "1931-07-04"
FERRITIN = 41.37
TOKEN = "tok-SECRET-123"
PRACTITIONER = "zzdoctor77"
COMMENT = "zzcomment-about-zzpatient42"
SECRETS = (PATIENT_ID, BIRTH_DATE, str(FERRITIN), TOKEN, PRACTITIONER, COMMENT)
FHIR_SERVER = "https://fhir.zz-hygiene.test/r4"


def _prefetch() -> dict[str, Any]:
    return {
        "patient": {"resourceType": "Patient", "id": PATIENT_ID, "birthDate": BIRTH_DATE},
        "conditions": bundle(condition(patient=PATIENT_ID)),
        "ironStudies": bundle(observation("f", "2276-4", FERRITIN, "ng/mL", patient=PATIENT_ID),
                              observation("t", "2502-3", 12.5, "%", patient=PATIENT_ID)),
        "medications": bundle(medication_request("m1", "859040", "pramipexole 0.5 MG",
                                                 status="active", patient=PATIENT_ID)),
        "medicationHistory": None,
        "ivIronAdministrations": None,
    }


def _request(hook: str, **changes: Any) -> dict[str, Any]:
    context: dict[str, Any] = {"userId": f"Practitioner/{PRACTITIONER}",
                               "patientId": PATIENT_ID}
    if hook != "patient-view":
        draft = medication_request("draft-1", "859040", "pramipexole", patient=PATIENT_ID)
        context["draftOrders"] = {"resourceType": "Bundle", "type": "collection",
                                  "entry": [{"resource": draft}]}
        if hook == "order-select":
            context["selections"] = ["MedicationRequest/draft-1"]
    body: dict[str, Any] = {
        "hook": hook, "hookInstance": "0e7f8b0c-5d3c-4b8e-9a51-6b1f3f2f2a10",
        "fhirServer": FHIR_SERVER,
        "fhirAuthorization": {"access_token": TOKEN, "token_type": "Bearer", "expires_in": 300,
                              "scope": f"patient/*.read user/Practitioner.read "
                                       f"launch/patient/{PATIENT_ID}",
                              "subject": PRACTITIONER, "patient": PATIENT_ID},
        "context": context, "prefetch": _prefetch(),
    }
    body.update(changes)
    return body


def _without(body: dict[str, Any], *keys: str) -> dict[str, Any]:
    body["prefetch"] = {k: v for k, v in body["prefetch"].items() if k not in keys}
    return body


def _fhir_answer(request: Any) -> tuple[int, dict[str, str], str]:
    """A FHIR server with this patient's data, for the fallback to fetch from."""
    path = request.path_url
    prefetch = _prefetch()
    if f"/Patient/{PATIENT_ID}" in path:
        resource = prefetch["patient"]
    elif "/Condition" in path:
        resource = prefetch["conditions"]
    elif "/Observation" in path:
        resource = prefetch["ironStudies"]
    else:
        resource = bundle()
    return 200, {"Content-Type": "application/fhir+json"}, json.dumps(resource)


@pytest.fixture(scope="module")
def hygiene_app(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    return build_app(tmp_path_factory.mktemp("hygiene"), fhir_allowlist=(FHIR_SERVER,),
                     log_level="DEBUG")


@pytest.fixture
def everything_logged(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """What CDS_LOG_LEVEL=DEBUG gives (wsgi.py: the root at DEBUG), with the service's own
    loggers at DEBUG too; loggers that do not propagate (the access log) get caplog's handler.
    Libraries keep their own levels, as in production (SQLAlchemy stays at WARNING)."""
    caplog.set_level(logging.DEBUG)
    levels, hooked = [], []
    for name, logger in list(logging.Logger.manager.loggerDict.items()):
        if not isinstance(logger, logging.Logger):
            continue
        if name.startswith("cds_service") and logger.level != logging.NOTSET:
            levels.append((logger, logger.level))
            logger.setLevel(logging.DEBUG)
        if not logger.propagate:
            logger.addHandler(caplog.handler)
            hooked.append(logger)
    try:
        yield caplog
    finally:
        for logger in hooked:
            logger.removeHandler(caplog.handler)
        for logger, level in levels:
            logger.setLevel(level)


def _call(name: str, path: str, body: Any, headers: dict[str, str] | None = None,
          marks: Any = ()) -> Any:
    return pytest.param(name, path, body, headers or {}, id=name, marks=marks)


def _requests() -> Iterator[Any]:
    """(name, path, body, headers): each way a call can go, with the secrets on board."""
    for hook, service in HOOK_SERVICE.items():
        path = f"/cds-services/{service}"
        yield _call(f"{hook} cards", path, _request(hook))
        yield _call(f"{hook} fallback", path,
                    _without(_request(hook), "patient", "ironStudies"))
        yield _call(f"{hook} fallback refused", path,
                    _without(_request(hook, fhirServer="https://elsewhere.zz-hygiene.test"),
                             "conditions"))
        yield _call(
            f"{hook} 400 bad hookInstance", path, _request(hook, hookInstance=PATIENT_ID))
        yield _call(f"{hook} 400 wrong patient", path,
                    _request(hook, context={**_request(hook)["context"], "patientId": "other"}))
        bad_code = _request(hook)  # a crash (while H3 is open): the 500 path logs nothing either
        bad_code["prefetch"]["ironStudies"]["entry"][0]["resource"]["code"] = {
            "coding": [{"system": [PATIENT_ID], "code": "2276-4"}]}
        yield _call(f"{hook} 500 (finding H3)", path, bad_code)
        yield _call(f"{hook} 415", path, to_json_text(_request(hook)),
                    {"Content-Type": "text/plain"})
    yield _call("feedback", "/cds-services/rls-patient-view/feedback",
                {"feedback": [{"card": "00000000-0000-4000-8000-000000000001",
                               "outcome": "overridden",
                               "outcomeTimestamp": "2026-06-15T09:00:00Z",
                               "overrideReason": {"userComment": COMMENT}}]})
    yield _call("feedback 400", "/cds-services/rls-patient-view/feedback",
                {"feedback": [{"card": PATIENT_ID, "outcome": TOKEN}]})


CALLS = list(_requests())


@pytest.mark.parametrize(("name", "path", "body", "headers"), CALLS)
def test_nothing_identifying_is_logged(hygiene_app: Flask, everything_logged: Any,
                                       capsys: pytest.CaptureFixture[str], name: str, path: str,
                                       body: Any, headers: dict[str, str]) -> None:
    data = body if isinstance(body, str) else to_json_text(body)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as fhir:
        fhir.add_callback(responses.GET, re.compile(re.escape(FHIR_SERVER) + r"/.*"),
                          callback=_fhir_answer)
        response = hygiene_app.test_client().post(
            path, data=data, headers={"Content-Type": "application/json", **headers})
        fetched = len(fhir.calls)
    assert response.status_code < 500 or "500" in name, response.get_data(as_text=True)
    if name.endswith("fallback"):
        assert (response.status_code, fetched) == (200, 2)  # the fallback really fetched
    captured = capsys.readouterr()
    records = everything_logged.records
    assert records, "nothing was logged: is the capture wired?"
    texts = [everything_logged.text, captured.out, captured.err]
    for record in records:
        texts += [record.getMessage(), repr(record.args), record.exc_text or "",
                  repr(getattr(record, "__dict__", {}))]
    logged = "\n".join(texts)
    leaked = [secret for secret in SECRETS if secret in logged]
    assert not leaked, f"{leaked} appear in the logs: {logged[:2000]}"


def test_bearer_token_is_not_logged(tmp_path_factory: pytest.TempPathFactory,
                                    everything_logged: Any,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    """A client JWT that fails verification (auth on): 401, and neither it nor its claims
    are logged."""
    app = build_app(tmp_path_factory.mktemp("hygiene-auth"), require_auth=True,
                    trust_sandbox=True)
    header = "eyJhbGciOiJFUzM4NCIsInR5cCI6IkpXVCIsImtpZCI6Inp6a2lkIn0"  # ES384, kid zzkid
    claims = "eyJpc3MiOiJ0b2stU0VDUkVULTEyMyIsInN1YiI6Inp6cGF0aWVudDQyIn0"  # iss, sub secrets
    for token in (TOKEN, f"{header}.{claims}.c2ln", f"{TOKEN}.{TOKEN}.{TOKEN}"):
        response = app.test_client().post(
            "/cds-services/rls-patient-view", data=to_json_text(_request("patient-view")),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
        assert response.status_code == 401
    captured = capsys.readouterr()
    logged = "\n".join([everything_logged.text, captured.out, captured.err,
                        *(repr(r.args) for r in everything_logged.records)])
    leaked = [s for s in (*SECRETS, header, claims) if s in logged]
    assert not leaked, f"{leaked} appear in the logs: {logged[:2000]}"


def test_capture_sees_debug_records(hygiene_app: Flask, everything_logged: Any) -> None:
    """The capture above is not vacuous: DEBUG records of the service reach it."""
    logging.getLogger("cds_service.fhir.fallback").debug("probe %s", "debug-visible")
    logging.getLogger("cds_service.access").debug("probe %s", "access-visible")
    assert "debug-visible" in everything_logged.text
    assert "access-visible" in everything_logged.text
