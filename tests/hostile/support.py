"""Shared pieces of the hostile-input tests: apps, raw JSON text, and the response contract."""

from __future__ import annotations

import json
import traceback
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask
from jsonschema import Draft202012Validator

from cds_service import create_app

ROOT = Path(__file__).resolve().parents[2]
OPENAPI_PATH = ROOT / "cds_service" / "openapi.json"
SCHEMAS = ROOT / "cds_service" / "schemas"

HOOK_SERVICE = {
    "patient-view": "rls-patient-view",
    "order-select": "rls-order-select",
    "order-sign": "rls-order-sign",
}
SERVICE_IDS = tuple(sorted(HOOK_SERVICE.values()))

# Why a module skips on a machine set up from pyproject.toml before these were added to it.
NEEDS = ("hostile-input tests need schemathesis, hypothesis and openapi-spec-validator: add them "
         "to the test extras in pyproject.toml")

# The service may answer a service call with these, and nothing else, whatever the body.
SERVICE_CALL_STATUSES = {200, 400, 412, 413}

# Requests sent by the generated tests, by test family; printed at the end of the run.
REQUEST_COUNTS: Counter[str] = Counter()
# Known findings (KNOWN_CRASHES) the generated requests ran into; printed at the end too.
KNOWN_SEEN: Counter[str] = Counter()


def build_app(data_dir: Path, **overrides: Any) -> Flask:
    """The app as tests use it: auth off, feedback in ``data_dir``, no FHIR server reachable."""
    config: dict[str, Any] = {
        "require_auth": False,
        "data_dir": data_dir,
        "database_url": None,
        "fhir_allowlist": (),
        "fhir_allow_http": False,
    }
    config.update(overrides)
    return create_app(config)


def load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


RESPONSE_VALIDATOR = Draft202012Validator(load_json(SCHEMAS / "cds-response.schema.json"))


# ---- raw JSON text -------------------------------------------------------------------------


@dataclass(frozen=True)
class Raw:
    """JSON text inserted as is: NaN, 1e400, 10**400 digits, '\\ud800', 10,000 nested arrays."""

    text: str
    name: str = ""

    def __repr__(self) -> str:  # keep hypothesis reports short for 1 MB values
        return f"Raw({self.name or self.text[:40]!r})"


def to_json_text(value: Any) -> str:
    """JSON text of ``value`` where ``Raw`` leaves are written verbatim (not valid JSON, maybe)."""
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, Mapping):
        items = (f"{json.dumps(str(k))}:{to_json_text(v)}" for k, v in value.items())
        return "{" + ",".join(items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(to_json_text(v) for v in value) + "]"
    return json.dumps(value)


# ---- the response contract -----------------------------------------------------------------


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def strict_json(text: str) -> Any:
    """Parse as RFC 8259 JSON: NaN and Infinity are refused (Python's json accepts them)."""
    return json.loads(text, parse_constant=_no_constants)


def problems(status: int, content_type: str | None, text: str) -> list[str]:
    """Every way a response breaks the contract: JSON always, OperationOutcome for errors,
    cards valid against cds-response.schema.json, never a stack trace."""
    found: list[str] = []
    if status >= 500:
        found.append(f"status {status}")
    if "Traceback (most recent call last)" in text or 'File "/' in text:
        found.append("stack trace in the body")
    if not (content_type or "").startswith("application/json"):
        found.append(f"content type {content_type!r}")
    try:
        body = strict_json(text)
    except ValueError as exc:
        return [*found, f"body is not JSON ({exc}): {text[:200]!r}"]
    if status >= 300:
        if not isinstance(body, dict) or body.get("resourceType") != "OperationOutcome":
            found.append(f"error body is not an OperationOutcome: {text[:200]!r}")
        else:
            issues = body.get("issue")
            if not isinstance(issues, list) or not issues:
                found.append("OperationOutcome without issues")
            else:
                for issue in issues:
                    if not (isinstance(issue, dict) and isinstance(issue.get("severity"), str)
                            and isinstance(issue.get("code"), str)):
                        found.append(f"malformed issue {issue!r:.200}")
    return found


def card_problems(text: str) -> list[str]:
    """Schema errors of a 200 service answer."""
    body = strict_json(text)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message:.200}"
            for e in RESPONSE_VALIDATOR.iter_errors(body)]


def check_service_answer(response: Any, allowed: set[int] = SERVICE_CALL_STATUSES) -> None:
    """Assert the answer to a service call keeps the contract (for Flask test responses)."""
    text = response.get_data(as_text=True)
    found = problems(response.status_code, response.content_type, text)
    if response.status_code not in allowed:
        found.append(f"status {response.status_code} not in {sorted(allowed)}")
    if response.status_code == 200 and not found:
        found += card_problems(text)
    assert not found, f"{response.status_code}: {found}; body {text[:300]!r}"


# ---- where the app crashes -------------------------------------------------------------------

# Crash sites (exception type, file, function: the deepest frame inside cds_service) of open
# findings, each with a strict-xfail reproducer in test_findings.py. The generated tests count
# these instead of failing on them, and fail on any other 5xx. Empty: every finding is fixed.
KNOWN_CRASHES: dict[tuple[str, str, str], str] = {}


@dataclass(frozen=True)
class Crash:
    kind: str
    file: str
    function: str

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.kind, self.file, self.function)

    def __str__(self) -> str:
        return f"{self.kind} in {self.file}:{self.function}"


def record_crashes(app: Flask) -> list[Crash]:
    """Wrap the app's catch-all error handler (not the app's code) to note where 500s come from.

    The client still gets exactly what the app's handler answers."""
    handlers = app.error_handler_spec[None][None]
    original: Callable[[Exception], Any] = handlers[Exception]
    crashes: list[Crash] = []

    def recording(exc: Exception) -> Any:
        frames = traceback.extract_tb(exc.__traceback__)
        ours = [f for f in frames if "/cds_service/" in f.filename] or frames
        site = ours[-1]
        crashes.append(Crash(type(exc).__name__, Path(site.filename).name, site.name))
        return original(exc)

    handlers[Exception] = recording
    return crashes
