"""Every answer the service gives to every fixture request, uuids blanked: a before/after check.

``python -m bench.golden write FILE`` records, for each request body under fhir_fixtures/ (the
scenarios and the client captures), the HTTP status and the exact response bytes under each
output profile, plus the answers to a fixed set of broken variants of each body (wrong types,
missing required elements, unknown code systems, a non-JSON body). ``python -m bench.golden
check FILE`` recomputes them and lists every difference. A speed change must leave it empty.
"""

from __future__ import annotations

import copy
import json
import re
import sys
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fhir_fixtures"
UUID = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
PROFILES = ("spec", "epic", "oracle", "sandbox")
DEFAULT_NOW = "2026-06-15T09:00:00Z"


def requests() -> Iterator[tuple[str, dict[str, Any], str]]:
    """(name, body, now) for every fixture file that is a CDS Hooks request."""
    for path in sorted(FIXTURES.rglob("*.json")):
        try:
            body = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            continue
        if not (isinstance(body, dict) and "hook" in body and "context" in body):
            continue
        expected = path.parent / "expected.json"
        now = DEFAULT_NOW
        if expected.exists():
            meta = json.loads(expected.read_text(encoding="utf-8"))
            if isinstance(meta, dict) and isinstance(meta.get("now"), str):
                now = meta["now"]
        yield str(path.relative_to(REPO)), body, now


def _resources(body: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for value in (body.get("prefetch") or {}).values():
        if isinstance(value, dict) and value.get("resourceType") == "Bundle":
            for entry in value.get("entry") or []:
                if isinstance(entry, dict) and isinstance(entry.get("resource"), dict):
                    yield entry["resource"]
        elif isinstance(value, dict):
            yield value


def variants(body: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """Broken copies of ``body``: each tells the reading layer one thing it must refuse or skip."""
    mutations: list[tuple[str, Callable[[dict[str, Any]], None]]] = [
        ("no-patientId", lambda b: b["context"].pop("patientId", None)),
        ("context-list", lambda b: b.__setitem__("context", [])),
        ("hook-number", lambda b: b.__setitem__("hook", 7)),
        ("prefetch-list", lambda b: b.__setitem__("prefetch", [])),
        ("patient-wrong-id", lambda b: (b.get("prefetch") or {}).get("patient", {}).__setitem__(
            "id", "someone-else") if isinstance((b.get("prefetch") or {}).get("patient"), dict)
            else None),
    ]
    for kind in ("Observation", "Condition", "MedicationRequest", "Patient",
                 "MedicationAdministration"):
        for field, value in (
            ("status", 12), ("status", "not-a-status"), ("code", "text"),
            ("subject", "Patient/x"), ("effectiveDateTime", "2026-13-45"),
            ("valueQuantity", {"value": "12", "unit": "ng/mL"}), ("birthDate", "yesterday"),
            ("clinicalStatus", {"coding": [{"system": 5, "code": "active"}]}),
            ("medicationCodeableConcept", {"coding": "x"}), ("intent", None),
            ("resourceType", "Nonsense"),
        ):
            def mutate(b: dict[str, Any], kind: str = kind, field: str = field,
                       value: Any = value) -> None:
                for resource in _resources(b):
                    if resource.get("resourceType") == kind and field in resource:
                        resource[field] = value
                        return
            mutations.append((f"{kind}.{field}={json.dumps(value)}", mutate))
        mutations.append((f"{kind}-drop-required", lambda b, kind=kind: [
            r.pop(k, None) for r in list(_resources(b))[:3] if r.get("resourceType") == kind
            for k in ("status", "code", "intent", "subject")]))
    for name, mutate in mutations:
        copied = copy.deepcopy(body)
        try:
            mutate(copied)
        except (AttributeError, KeyError, TypeError):
            continue
        if copied != body:
            yield name, copied


def answers() -> dict[str, Any]:
    from cds_service import create_app
    from cds_service.cards import card_ids

    out: dict[str, Any] = {}
    apps: dict[str, Any] = {}
    for name, body, now in requests():
        clock = datetime.fromisoformat(now.replace("Z", "+00:00"))
        key = now
        if key not in apps:
            apps[key] = create_app({"require_auth": False, "clock": lambda c=clock: c})
        client = apps[key].test_client()
        service = {"order-select": "rls-order-select", "order-sign": "rls-order-sign",
                   "patient-view": "rls-patient-view"}.get(body.get("hook"), "rls-patient-view")
        path = f"/cds-services/{service}"

        def post(data: bytes, profile: str | None = None, client: Any = client,
                 path: str = path) -> str:
            runtime = client.application.extensions["rls_cds"]
            saved = runtime.settings.ehr_profile
            if profile:
                object.__setattr__(runtime.settings, "ehr_profile", profile)
            try:
                r = client.post(path, data=data, content_type="application/json")
            finally:
                object.__setattr__(runtime.settings, "ehr_profile", saved)
            return f"{r.status_code} " + UUID.sub(b"<uuid>", r.data).decode()

        raw = json.dumps(body).encode()
        for profile in PROFILES:
            out[f"{name} [{profile}]"] = post(raw, profile)
        for variant, changed in variants(body):
            out[f"{name} <{variant}>"] = post(json.dumps(changed).encode())
        out[f"{name} <not-json>"] = post(raw[:-3])
    del card_ids
    return out


def main(argv: list[str]) -> int:
    import contextlib
    import io

    if len(argv) != 2 or argv[0] not in ("write", "check"):
        print(__doc__)
        return 2
    with contextlib.redirect_stdout(io.StringIO()):
        got = answers()
    target = Path(argv[1])
    if argv[0] == "write":
        target.write_text(json.dumps(got, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        print(f"{len(got)} answers written to {target}")
        return 0
    want = json.loads(target.read_text(encoding="utf-8"))
    diffs = sorted(k for k in set(want) | set(got) if want.get(k) != got.get(k))
    for key in diffs[:40]:
        print(f"DIFF {key}\n  was: {str(want.get(key))[:400]}\n  now: {str(got.get(key))[:400]}")
    print(f"{len(got)} answers, {len(diffs)} differences")
    return 1 if diffs else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
