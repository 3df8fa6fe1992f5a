"""Helpers for the console tests: the app as the lead wires it, and small CDS requests."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from flask import Flask

from cds_service.app import create_app
from cds_service.console import console_blueprint

REVIEW_DATE = datetime(2026, 11, 21, 8, 30, tzinfo=UTC)
PID = "console-patient"
SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
XSS_TEXT = (
    '<script>window.__xss=1</script><img src=x onerror="window.__xss=2;alert(2)">'
    " [click](javascript:window.__xss=3) <javascript:alert(4)> pramipexole 0.25 mg tablet"
)
PRAMIPEXOLE_CARDS = [
    {"rule": "iron-studies-needed", "indicator": "info"},
    {"rule": "dopamine-agonist-against", "indicator": "warning"},
    {"rule": "alpha2delta-first-line", "indicator": "info"},
]


def build_app(enable: bool, fixtures_dir: Path | None = None, **settings: Any) -> Flask:
    """``create_app`` with the console on or off, registered the way the lead registers it.

    Once ``create_app`` registers the blueprint itself this only points it at ``fixtures_dir``.
    """
    config = {"require_auth": False, "enable_console": enable, "clock": lambda: REVIEW_DATE}
    app = create_app({**config, **settings})
    if enable and "console" not in app.blueprints:
        app.register_blueprint(console_blueprint(fixtures_dir or Path("/nonexistent")))
    if fixtures_dir is not None:
        app.config["CONSOLE_FIXTURES_DIR"] = fixtures_dir
    return app


def _bundle(*resources: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [{"resource": r} for r in resources],
    }


def _lab(oid: str, code: str, value: float, unit: str, when: str) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": code}]},
        "subject": {"reference": f"Patient/{PID}"},
        "effectiveDateTime": when,
        "valueQuantity": {
            "value": value,
            "unit": unit,
            "system": "http://unitsofmeasure.org",
            "code": unit,
        },
    }


def cds_request(hook: str, med_text: str | None = None, labs: bool = False) -> dict[str, Any]:
    """An adult with RLS; optionally a drafted drug named ``med_text`` and recent iron labs."""
    context: dict[str, Any] = {"userId": "Practitioner/console", "patientId": PID}
    if med_text is not None:
        draft = {
            "resourceType": "MedicationRequest",
            "id": "draft-1",
            "status": "draft",
            "intent": "order",
            "subject": {"reference": f"Patient/{PID}"},
            "medicationCodeableConcept": {"text": med_text},
        }
        context["draftOrders"] = _bundle(draft)
        if hook == "order-select":
            context["selections"] = ["MedicationRequest/draft-1"]
    iron = (
        [
            _lab("ferritin", "2276-4", 40, "ng/mL", "2026-05-01T08:00:00Z"),
            _lab("tsat", "2502-3", 15, "%", "2026-05-01T08:00:00Z"),
        ]
        if labs
        else []
    )
    condition = {
        "resourceType": "Condition",
        "id": "rls",
        "subject": {"reference": f"Patient/{PID}"},
        "clinicalStatus": {"coding": [{"system": CLINICAL, "code": "active"}]},
        "code": {"coding": [{"system": SNOMED, "code": "32914008"}]},
    }
    return {
        "hookInstance": "0b0c5f2c-9c3e-4d0e-8a5e-6a1f3c0d2b7e",
        "hook": hook,
        "context": context,
        "prefetch": {
            "patient": {"resourceType": "Patient", "id": PID, "birthDate": "1970-03-01"},
            "conditions": _bundle(condition),
            "ironStudies": _bundle(*iron),
            "medications": _bundle(),
            "medicationHistory": _bundle(),
            "ivIronAdministrations": _bundle(),
        },
    }


def write_scenario(root: Path, name: str, request: Any, expected: dict[str, Any]) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "request.json").write_text(json.dumps(request), encoding="utf-8")
    (folder / "expected.json").write_text(json.dumps(expected), encoding="utf-8")
    return folder


def make_fixtures(root: Path) -> Path:
    """Three scenarios: a drafted pramipexole, low iron at a fixed date, and hostile text."""
    write_scenario(
        root,
        "sign-pramipexole",
        cds_request("order-sign", "pramipexole 0.125 mg"),
        {
            "description": "Pramipexole drafted for RLS with no iron studies",
            "now": "2026-06-01T12:00:00Z",
            "service": "rls-order-sign",
            "cards": PRAMIPEXOLE_CARDS,
        },
    )
    write_scenario(
        root,
        "view-low-iron",
        cds_request("patient-view", labs=True),
        {
            "description": "Ferritin 40 and TSAT 15% a month before 'now' (stale by today's date)",
            "now": "2026-06-01T12:00:00Z",
            "service": "rls-patient-view",
            "cards": [{"rule": "iv-iron-indicated", "indicator": "info"}],
        },
    )
    write_scenario(
        root,
        "sign-hostile-text",
        cds_request("order-sign", XSS_TEXT),
        {
            "description": '<img src=x onerror="window.__xss=5"> hostile description',
            "now": "2026-06-01T12:00:00Z",
            "service": "rls-order-sign",
            "cards": PRAMIPEXOLE_CARDS,
        },
    )
    (root / "not-a-scenario").mkdir()
    return root


class _Tags(HTMLParser):
    """Every start tag of a page with its attributes, as a browser would parse them."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def assert_no_active_content(html: str) -> None:
    tags = _Tags(html).tags
    assert [a for t, a in tags if t == "script" and not a.get("src")] == [], "inline script"
    assert [t for t, _ in tags if t in ("style", "img", "iframe", "object", "embed")] == []
    attributes = {name for _, a in tags for name in a}
    assert not [n for n in attributes if n.startswith("on") or n == "style"], attributes
    hrefs = [a["href"] or "" for _, a in tags if "href" in a]
    assert all(h.startswith(("https://", "http://", "/", "#", "data:,")) for h in hrefs), hrefs
