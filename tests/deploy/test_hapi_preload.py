"""deploy/hapi/: the fixture Bundle is valid R4 and preload.sh loads it once HAPI answers."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from fhir.resources.R4B import get_fhir_model_class

from .support import REPO, tool_missing

HAPI = REPO / "deploy" / "hapi"
BUNDLE = HAPI / "fixture-patients.json"


def bundle(today: str = "2026-01-15") -> dict[str, Any]:
    """The fixture Bundle with its date placeholder filled in, as preload.sh does."""
    return json.loads(BUNDLE.read_text(encoding="utf-8").replace("__TODAY__", today))


def codes(resource: dict[str, Any], element: str) -> set[tuple[str, str]]:
    """(system, code) pairs of a CodeableConcept element."""
    return {(c["system"], c["code"]) for c in resource.get(element, {}).get("coding", [])}


def test_bundle_is_a_valid_r4_transaction_of_puts() -> None:
    data = bundle()
    get_fhir_model_class("Bundle").model_validate(data)
    assert data["type"] == "transaction"
    for entry in data["entry"]:
        resource = entry["resource"]
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)
        assert entry["request"] == {
            "method": "PUT",
            "url": f"{resource['resourceType']}/{resource['id']}",
        }, "fixed ids keep a second preload idempotent"


def test_bundle_holds_two_rls_patients_with_iron_studies_and_pramipexole() -> None:
    resources = [entry["resource"] for entry in bundle()["entry"]]
    patients = {r["id"] for r in resources if r["resourceType"] == "Patient"}
    assert len(patients) == 2
    by_patient: dict[str, set[tuple[str, str]]] = {p: set() for p in patients}
    for r in resources:
        if r["resourceType"] == "Patient":
            continue
        subject = r["subject"]["reference"].removeprefix("Patient/")
        assert subject in patients, f"{r['id']} points at an unknown patient"
        element = "medicationCodeableConcept" if "medicationCodeableConcept" in r else "code"
        by_patient[subject] |= codes(r, element)
    rls = ("http://snomed.info/sct", "32914008")
    ferritin = ("http://loinc.org", "2276-4")
    tsat = ("http://loinc.org", "2502-3")
    for patient, found in by_patient.items():
        assert {rls, ferritin, tsat} <= found, patient
    pramipexole = ("http://www.nlm.nih.gov/research/umls/rxnorm", "859040")
    assert sum(pramipexole in found for found in by_patient.values()) == 1
    labs = [r for r in resources if r["resourceType"] == "Observation"]
    assert all(r["status"] == "final" and r["effectiveDateTime"] == "2026-01-15" for r in labs)
    assert {r["valueQuantity"]["code"] for r in labs} == {"ng/mL", "%"}


class FakeHapi(BaseHTTPRequestHandler):
    """HAPI stand-in: /fhir/metadata fails once, then answers; POST /fhir records the Bundle."""

    metadata_calls = 0
    posted: list[tuple[str, bytes]] = []

    def log_message(self, format: str, *args: Any) -> None:
        """Keep the test output quiet."""

    def do_GET(self) -> None:
        cls = type(self)
        cls.metadata_calls += 1
        if self.path != "/fhir/metadata" or cls.metadata_calls == 1:
            self.send_error(503)
            return
        self.reply({"resourceType": "CapabilityStatement", "status": "active"})

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).posted.append((self.headers["Content-Type"], body))
        entries = [{"response": {"status": "201 Created"}} for _ in json.loads(body)["entry"]]
        self.reply({"resourceType": "Bundle", "type": "transaction-response", "entry": entries})

    def reply(self, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/fhir+json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def fake_hapi() -> Iterator[str]:
    """The base URL of a FakeHapi on loopback."""
    FakeHapi.metadata_calls = 0
    FakeHapi.posted = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeHapi)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/fhir"
    finally:
        server.shutdown()
        server.server_close()


def test_preload_waits_for_hapi_then_posts_the_bundle_dated_today(fake_hapi: str) -> None:
    if shutil.which("curl") is None:
        tool_missing("curl", "preload.sh runs curl, as the curlimages/curl container does")
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "FHIR_BASE": fake_hapi,
        "BUNDLE": str(BUNDLE),
        "RETRY_DELAY": "1",
        "WAIT_SECONDS": "20",
    }
    result = subprocess.run(
        ["sh", str(HAPI / "preload.sh")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert FakeHapi.metadata_calls >= 2, "the first, failing /metadata answer was retried"
    [(content_type, body)] = FakeHapi.posted
    assert content_type == "application/fhir+json"
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    assert b"__TODAY__" not in body
    assert json.loads(body) == bundle(today)
    assert "loading 9 resources" in result.stdout
    assert "201 Created" in result.stdout
