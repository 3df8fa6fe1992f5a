"""Byte-level mutations of every shipped request: fhir_fixtures/*/request.json and the real
clients' captures (fhir_fixtures/clients/**.json, hook calls and feedback), posted where each
belongs. Flipped bits, JSON punctuation dropped or doubled, spans cut, copied or spliced from
another file, and hostile tokens (lone surrogates, NUL, 1e400, NaN, deep brackets) written in.

In process (every mutant): the answer is a documented status, strict JSON, an OperationOutcome
when not 200, cards valid when 200, and never a 5xx. Against ``rls-cds serve`` with its shipped
defaults (a sample): the same contract over real sockets, and afterwards the server still
answers and no worker died. Mutants are drawn from fixed seeds, so a failure replays exactly.
"""

from __future__ import annotations

import http.client
import os
import random
import re
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from tests.deploy.support import free_port, python_path_env, venv_executable, wait_for_http

from .support import (
    HOOK_SERVICE,
    REQUEST_COUNTS,
    ROOT,
    SERVICE_CALL_STATUSES,
    card_problems,
    problems,
)

pytestmark = pytest.mark.usefixtures("quiet_access_log")

FIXTURES = ROOT / "fhir_fixtures"
FEEDBACK_STATUSES = {200, 400, 413}
MUTANTS_PER_SEED = 30
LIVE_SAMPLE = 600
TOKENS = [
    b'"\\ud800"', b'"\\udfff"', b'"a\\u0000b"', b"\x00", b"\xff\xfe", b"\xed\xa0\x80", b"1e400",
    b"-1e-400", b"NaN", b"Infinity", b"9" * 400, b"[" * 2000, b"{" * 50, b'"' + b"x" * 70000 + b'"',
    b"null", b"true", b"[]", b"{}", b'""', b"-0", b"0.0000000000000000000001", b"\\", b'\\"',
]
PUNCTUATION = b'{}[]:,"\\'
# Values that keep the document JSON, so that the mutant reaches the readers behind the parser.
VALUES = [
    b"null", b"true", b"0", b"-1", b"-0", b"1.5e308", b"0.0000000000000000000001", b"9" * 400,
    b"[]", b"{}", b'""', b'" "', b"[" * 30 + b"]" * 30, b'{"a":' * 20 + b"1" + b"}" * 20,
    b'"' + b"x" * 70000 + b'"', b'"\\u202e\\u0301\\ufeff"', b'"2024-02-30T25:61:61Z"',
    b'"0000-01-01"', b'"http://169.254.169.254/latest"', b'"Observation/../../x"',
    b'"urn:uuid:"', b'[null, 1, "x", {}]', b'"\\u0000"', b'"\\ud800"',
]
SCALAR = re.compile(rb'"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null')


def _target(path: Path, raw: bytes) -> str:
    """The URL path a file is posted to: its service, or that service's feedback endpoint."""
    hook = re.search(rb'"hook"\s*:\s*"([a-z-]+)"', raw)
    name = path.name
    by_name = next((h for h in HOOK_SERVICE if h in name or h in str(path.parent)), None)
    service = HOOK_SERVICE.get((hook.group(1).decode() if hook else None) or by_name or "",
                               "rls-order-select")
    if "feedback" in name:
        service = HOOK_SERVICE.get(by_name or "", "rls-order-select")
        return f"/cds-services/{service}/feedback"
    return f"/cds-services/{service}"


def _seeds() -> list[tuple[str, Path, bytes]]:
    files = sorted(FIXTURES.glob("*/request.json")) + sorted((FIXTURES / "clients").rglob("*.json"))
    seeds = []
    for path in files:
        raw = path.read_bytes()
        if path.name == "expected.json" or not raw.lstrip().startswith(b"{"):
            continue  # expected cards, not requests
        seeds.append((_target(path, raw), path, raw))
    return seeds


SEEDS = _seeds()


def mutate(raw: bytes, other: bytes, rng: random.Random, values_only: bool = False) -> bytes:
    """One to three byte-level edits of ``raw`` (``other`` is the donor for splices); with
    ``values_only``, JSON values replaced by other values (the document stays JSON)."""
    data = bytearray(raw)
    for _ in range(rng.randint(1, 3)):
        at = rng.randrange(len(data) + 1)
        kind = 7 if values_only else rng.randrange(7)
        if kind == 7:  # replace one JSON value (key or scalar) with another value
            spans = [m.span() for m in SCALAR.finditer(data)]
            if spans:
                start, end = rng.choice(spans)
                data[start:end] = rng.choice(VALUES)
        elif kind == 0 and data:  # flip one bit
            i = min(at, len(data) - 1)
            data[i] ^= 1 << rng.randrange(8)
        elif kind == 1:  # write in a hostile token
            data[at:at] = rng.choice(TOKENS)
        elif kind == 2:  # cut a span
            del data[at : at + rng.randint(1, 64)]
        elif kind == 3:  # double a span
            data[at:at] = data[at : at + rng.randint(1, 256)]
        elif kind == 4:  # drop or double one piece of JSON punctuation
            spots = [i for i, b in enumerate(data) if b in PUNCTUATION]
            if spots:
                i = rng.choice(spots)
                data[i:i + 1] = b"" if rng.random() < 0.5 else bytes([data[i]]) * 2
        elif kind == 5:  # splice a span of another shipped request
            start = rng.randrange(len(other))
            data[at:at] = other[start : start + rng.randint(1, 512)]
        else:  # truncate
            del data[at:]
    return bytes(data)


def mutants(seed: int = 0) -> Iterator[tuple[str, bytes]]:
    """Every seed file's mutants, in a fixed order."""
    rng = random.Random(seed)
    for url, _path, raw in SEEDS:
        for n in range(MUTANTS_PER_SEED):
            yield url, mutate(raw, rng.choice(SEEDS)[2], rng, values_only=n % 2 == 1)


def contract_problems(url: str, status: int, content_type: str | None, text: str) -> list[str]:
    found = problems(status, content_type, text)
    allowed = FEEDBACK_STATUSES if url.endswith("/feedback") else SERVICE_CALL_STATUSES
    if status not in allowed:
        found.append(f"status {status} not in {sorted(allowed)}")
    if status == 200 and not found and not url.endswith("/feedback"):
        found += card_problems(text)
    return found


def test_every_shipped_request_is_a_seed() -> None:
    services = {url for url, *_ in SEEDS if not url.endswith("/feedback")}
    feedback = {url for url, *_ in SEEDS if url.endswith("/feedback")}
    assert len(SEEDS) >= 150
    assert services == {f"/cds-services/{s}" for s in HOOK_SERVICE.values()}
    assert len(feedback) >= 2


def test_mutated_requests_in_process(hostile_app: Flask) -> None:
    client = hostile_app.test_client()
    failures: dict[str, str] = {}
    sent = 0
    for url, body in mutants():
        response = client.post(url, data=body, headers={"Content-Type": "application/json"})
        sent += 1
        text = response.get_data(as_text=True)
        for problem in contract_problems(url, response.status_code, response.content_type, text):
            failures.setdefault(f"{url} {problem[:100]}", f"{problem} <- {body[:300]!r}")
    REQUEST_COUNTS["byte mutations (in process)"] += sent
    print(f"byte mutations in process: {sent} requests")
    assert sent == len(SEEDS) * MUTANTS_PER_SEED
    assert not failures, f"{len(failures)} kinds of failure:\n" + "\n".join(failures.values())


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, object]]:
    exe = venv_executable("rls-cds")
    if exe is None:
        pytest.skip("rls-cds is not installed in this environment")
    tmp = tmp_path_factory.mktemp("mutations-live")
    env = python_path_env({"CDS_REQUIRE_AUTH": "false", "CDS_WORKERS": "2",
                           "CDS_DATA_DIR": str(tmp / "var")})
    env.pop("CDS_SERVER", None)  # the shipped default
    port = free_port()
    # The log goes to a file: hundreds of access lines would fill an unread pipe and block.
    with (tmp / "server.log").open("wb") as log, subprocess.Popen(
        [str(exe), "serve", "--port", str(port)], env=env, cwd=tmp, stdout=log,
        stderr=subprocess.STDOUT, start_new_session=True,
    ) as proc:
        try:
            wait_for_http(f"http://127.0.0.1:{port}/healthz", proc)
            yield port, proc
        finally:
            os.killpg(proc.pid, signal.SIGKILL)


def _workers(pid: int) -> set[str]:
    """The server's worker processes (Linux: the children of its main process)."""
    children = Path(f"/proc/{pid}/task/{pid}/children")
    return set(children.read_text().split()) if children.exists() else set()


def test_mutated_requests_against_the_served_app(live_server: tuple[int, object]) -> None:
    port, proc = live_server
    workers = _workers(proc.pid)  # type: ignore[attr-defined]
    rng = random.Random(7)
    sample = rng.sample(list(mutants(seed=1)), LIVE_SAMPLE)
    failures: dict[str, str] = {}
    for url, body in sample:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            connection.request("POST", url, body, {"Content-Type": "application/json"})
            response = connection.getresponse()
            text = response.read().decode("utf-8", "replace")
            found = contract_problems(url, response.status, response.getheader("Content-Type"),
                                      text)
        except OSError as exc:
            found = [f"no answer within 10 s ({type(exc).__name__})"]
        finally:
            connection.close()
        for problem in found:
            failures.setdefault(f"{url} {problem[:100]}", f"{problem} <- {body[:300]!r}")
    REQUEST_COUNTS["byte mutations (served)"] += len(sample)
    print(f"byte mutations against rls-cds serve: {len(sample)} requests")
    assert not failures, f"{len(failures)} kinds of failure:\n" + "\n".join(failures.values())
    # A stable process: still answering, and no worker died or was respawned on the way.
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    connection.request("GET", "/healthz")
    assert connection.getresponse().status == 200
    connection.close()
    assert proc.poll() is None  # type: ignore[attr-defined]
    assert _workers(proc.pid) == workers, "a worker died or was replaced"  # type: ignore[attr-defined]
