"""Schemathesis generates requests from cds_service/openapi.json and sends them in process.

Each generated case goes to the app with authentication off, POSTs to the other services too
(same body, another hook), and to the app with client JWTs required (the generated bearer
tokens must all be refused with 401). Every answer must be a documented status with a body of
the documented shape; every error JSON with an OperationOutcome; never a 5xx, except
/readyz's 503, which is its documented "not ready" report.

Reproducible: each batch runs with a fixed hypothesis seed and no example database.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from .support import NEEDS, OPENAPI_PATH, REQUEST_COUNTS, SERVICE_IDS, problems

schemathesis = pytest.importorskip("schemathesis", reason=NEEDS)
hypothesis = pytest.importorskip("hypothesis", reason=NEEDS)
GenerationMode = schemathesis.GenerationMode
HealthCheck, Phase = hypothesis.HealthCheck, hypothesis.Phase
given, seed, settings = hypothesis.given, hypothesis.seed, hypothesis.settings

pytestmark = pytest.mark.usefixtures("quiet_access_log")

SCHEMA = schemathesis.openapi.from_path(OPENAPI_PATH)
OPERATIONS = {result.ok().label: result.ok() for result in SCHEMA.get_all_operations()}
POSITIVE, NEGATIVE = GenerationMode.POSITIVE, GenerationMode.NEGATIVE
PROTECTED = ("/cds-services", "/analytics")

# (operation, generation modes, examples per batch, number of batches). Hypothesis draws get
# slower as a run goes on, so several seeded batches of ~100 cover more in less time than one
# long run. Operations without parameters have one possible request: one example each.
PLAN: list[tuple[str, tuple[GenerationMode, ...], int, int]] = [
    ("POST /cds-services/{service_id}", (POSITIVE, NEGATIVE), 100, 3),
    ("POST /cds-services/{service_id}/feedback", (POSITIVE, NEGATIVE), 50, 2),
    ("GET /cds-services", (POSITIVE, NEGATIVE), 50, 1),
    ("OPTIONS /cds-services", (POSITIVE,), 50, 1),
    ("OPTIONS /cds-services/{service_id}", (POSITIVE, NEGATIVE), 50, 1),
    ("OPTIONS /cds-services/{service_id}/feedback", (POSITIVE, NEGATIVE), 30, 1),
    ("GET /analytics/feedback", (POSITIVE, NEGATIVE), 60, 1),
    ("GET /analytics/feedback.html", (POSITIVE, NEGATIVE), 30, 1),
    ("GET /analytics/audit-events", (POSITIVE, NEGATIVE), 30, 1),
    ("GET /analytics/firing", (POSITIVE, NEGATIVE), 30, 1),
    ("GET /analytics/firing.html", (POSITIVE, NEGATIVE), 20, 1),
    ("GET /analytics/triage", (POSITIVE, NEGATIVE), 20, 1),
    ("GET /", (POSITIVE,), 1, 1),
    ("GET /healthz", (POSITIVE,), 1, 1),
    ("GET /readyz", (POSITIVE,), 1, 1),
    ("GET /metrics", (POSITIVE,), 1, 1),
]
CASES = [(label, mode, examples, batches) for label, modes, examples, batches in PLAN
         for mode in modes]


def test_plan_covers_every_operation() -> None:
    assert sorted({label for label, *_ in PLAN}) == sorted(OPERATIONS)


def _describe(response: Any) -> str:
    """The request exactly as sent (schemathesis keeps the prepared request)."""
    sent = response.request
    body = sent.body if isinstance(sent.body, bytes | str | None) else repr(sent.body)
    if isinstance(body, bytes):
        body = body.decode("utf-8", "backslashreplace")
    headers = {k: v for k, v in sent.headers.items() if k.lower() not in ("user-agent",)}
    return f"{sent.method} {sent.url} headers={headers!r:.300} body={(body or '')[:400]!r}"


def _judge(case: Any, response: Any, *, app_requires_auth: bool) -> list[str]:
    operation = case.operation
    status = response.status_code
    text = response.content.decode("utf-8", "replace")
    content_type = (response.headers.get("content-type") or [""])[0]
    found: list[str] = []
    if operation.path == "/readyz" and status == 503:
        return found  # the documented readiness report, not an error
    documented = operation.responses.find_by_status_code(status) is not None
    if not documented:
        found.append(f"status {status} is not documented")
    if status >= 300 or content_type.startswith("application/json"):
        found += problems(status, content_type, text)
    elif status >= 500:
        found.append(f"status {status}")
    if app_requires_auth and case.method != "OPTIONS" and \
            case.formatted_path.startswith(PROTECTED) and status != 401:
        found.append(f"status {status} without a valid client JWT (expected 401)")
    if documented and not found:
        try:
            operation.validate_response(response)
        except Exception as exc:  # schemathesis raises a FailureGroup describing each failure
            found.append(f"not as documented: {str(exc)[:300]}")
    return found


@pytest.mark.parametrize(("label", "mode", "examples", "batches"), CASES,
                         ids=[f"{label} {mode.value}" for label, mode, *_ in CASES])
def test_generated_requests_keep_the_contract(hostile_app: Flask, auth_app: Flask, label: str,
                                              mode: GenerationMode, examples: int,
                                              batches: int) -> None:
    operation = OPERATIONS[label]
    failures: dict[str, str] = {}
    sent = 0

    def send(case: Any, app: Flask, *, requires_auth: bool) -> None:
        nonlocal sent
        response = case.call(app=app)
        sent += 1
        for problem in _judge(case, response, app_requires_auth=requires_auth):
            failures.setdefault(f"{label} {response.status_code}: {problem[:120]}",
                                f"{problem}\n    request: {_describe(response)}")

    def run_case(case: Any) -> None:
        send(case, hostile_app, requires_auth=False)
        send(case, auth_app, requires_auth=True)
        service = (case.path_parameters or {}).get("service_id")
        if service in SERVICE_IDS and case.method == "POST":
            for other in SERVICE_IDS:
                if other != service:
                    case.path_parameters = {**case.path_parameters, "service_id": other}
                    send(case, hostile_app, requires_auth=False)

    for batch in range(batches):
        run: Callable[[], None] = seed(1000 + batch)(settings(
            max_examples=examples, deadline=None, database=None, derandomize=False,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )(given(case=operation.as_strategy(generation_mode=mode))(run_case)))
        run()

    REQUEST_COUNTS["schemathesis"] += sent
    assert sent >= min(examples, 1) * batches
    assert not failures, f"{len(failures)} kinds of contract failure:\n" + "\n".join(
        failures.values())
