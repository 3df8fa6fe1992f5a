"""Every fixture at DEBUG: no patient id, name, birth date, lab value or token in any log line."""

from __future__ import annotations

import io
import logging
import re

import pytest

from cds_service import create_app
from tests.scenario_support import load_scenarios

TOKEN = "tok-SECRET-LOGS-321"
NOISE = re.compile(  # log timestamps, durations and HTTP status: numbers that are not the patient's
    r'"ts":"[^"]*"|"duration_ms":[0-9.]+|"status":\d+|\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d[,.\d]*'
)


def _secrets(request: dict) -> set[str]:
    """Patient-identifying and clinical values present in the request."""
    found = {request["context"]["patientId"], TOKEN}
    for value in (request.get("prefetch") or {}).values():
        entries = value.get("entry", []) if isinstance(value, dict) else []
        resources = [e.get("resource", {}) for e in entries] + [value or {}]
        for resource in resources:
            if resource.get("resourceType") == "Patient":
                found.add(str(resource.get("birthDate", "")))
                for name in resource.get("name", []):
                    found.update(name.get("given", []))
                    found.add(name.get("family", ""))
            quantity = resource.get("valueQuantity") or {}
            if isinstance(quantity.get("value"), int | float):
                found.add(str(quantity["value"]))
    return {s for s in found if s and len(s) >= 2}


def _leaks(text: str, secret: str) -> bool:
    """Whether ``secret`` appears as a whole token (so 'Wil' does not match 'Will')."""
    return re.search(rf"(?<![\w.]){re.escape(secret)}(?![\w])", text) is not None


@pytest.mark.parametrize("sc", load_scenarios(), ids=lambda s: s.name)
def test_no_patient_data_or_token_in_logs(sc, tmp_path, caplog) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    access = logging.getLogger("cds_service.access")
    access.addHandler(handler)
    caplog.set_level(logging.DEBUG)
    try:
        app = create_app({"require_auth": False, "clock": lambda: sc.now, "data_dir": tmp_path})
        body = dict(sc.request, fhirServer="https://ehr.example.org/fhir",
                    fhirAuthorization={"access_token": TOKEN, "token_type": "Bearer",
                                       "expires_in": 300, "scope": "patient/*.read",
                                       "subject": "cds"})
        response = app.test_client().post(f"/cds-services/{sc.service}", json=body)
        assert response.status_code == 200
    finally:
        access.removeHandler(handler)
    logged = NOISE.sub("", caplog.text + stream.getvalue())
    assert stream.getvalue(), "the access log line must be there"
    leaked = sorted(s for s in _secrets(sc.request) if _leaks(logged, s))
    assert leaked == []


def test_access_line_is_ascii_even_for_an_unusual_method() -> None:
    from cds_service.observability.access_log import INVALID, access_record

    app = create_app({"require_auth": False})
    with app.test_request_context("/cds-services", method="GÉT"):
        assert access_record(405, 0.001)["method"] == INVALID
    with app.test_request_context("/cds-services", method="GET"):
        assert access_record(200, 0.001)["method"] == "GET"
