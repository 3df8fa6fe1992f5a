"""One-time tokens across every worker of ``rls-cds serve`` (issue 15 item 1), as users start
it: three gunicorn workers, no Redis, the default SQLite database (and PostgreSQL, as compose
uses). Each of three tokens sent ten times at once is accepted exactly once; the rejections
name their reason in the service log."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from tests.feedback.conftest import _reachable_pg, scratch_schema

from .support import REPO, free_port, running, tool_missing, venv_executable, wait_for_http

ISS = "https://ehr.example.org"
KEY = ec.generate_private_key(ec.SECP384R1())


def _status(url: str, token: str) -> int:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def _token(aud: str, lifetime: int = 300) -> str:
    now = int(time.time())
    claims = {"iss": ISS, "aud": aud, "iat": now, "exp": now + lifetime, "jti": str(uuid.uuid4())}
    return jwt.encode(claims, KEY, algorithm="ES384", headers={"kid": "k1"})


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    """The default (SQLite under CDS_DATA_DIR), or PostgreSQL in a fresh schema."""
    if request.param == "sqlite":
        yield {}
        return
    base, why = _reachable_pg()
    if base is None:
        pytest.skip(f"PostgreSQL is unreachable ({why})")
    with scratch_schema(base, "jti_test") as url:
        yield {"CDS_DATABASE_URL": url}


def test_each_token_is_accepted_once_across_three_workers(
    tmp_path: Path, database: dict[str, str]
) -> None:
    if venv_executable("rls-cds") is None:
        tool_missing("rls-cds", "the project is not installed in this virtualenv")
    jwk = {**jwt.algorithms.ECAlgorithm.to_jwk(KEY.public_key(), as_dict=True), "kid": "k1"}
    (tmp_path / "jwks.json").write_text(json.dumps({"keys": [jwk]}))
    port = free_port()
    env = {
        **os.environ,
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
        "CDS_TRUSTED_ISSUERS": json.dumps({ISS: {"jwks_file": str(tmp_path / "jwks.json")}}),
        "CDS_DATA_DIR": str(tmp_path / "var"),
        "CDS_SERVER": "gunicorn",
        "CDS_LOG_LEVEL": "INFO",
    }
    for name in ("CDS_DATABASE_URL", "CDS_REDIS_URL", "CDS_REQUIRE_AUTH",
                 "PROMETHEUS_MULTIPROC_DIR", "CDS_JWT_MAX_LIFETIME_S"):
        env.pop(name, None)
    env.update(database)
    url = f"http://127.0.0.1:{port}/cds-services"
    argv = ["rls-cds", "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "3"]
    with running(argv, env, REPO) as proc:
        wait_for_http(f"http://127.0.0.1:{port}/healthz", proc, timeout=60)
        tokens = [_token(url) for _ in range(3)]
        results: list[tuple[int, int]] = []
        lock = threading.Lock()
        barrier = threading.Barrier(30)

        def send(index: int) -> None:
            barrier.wait()
            status = _status(url, tokens[index])
            with lock:
                results.append((index, status))

        threads = [threading.Thread(target=send, args=(i % 3,)) for i in range(30)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        ten_years = _status(url, _token(url, lifetime=10 * 365 * 86_400))
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=45)
        log = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
    assert Counter(results) == {(i, 200): 1 for i in range(3)} | {(i, 401): 9 for i in range(3)}
    assert ten_years == 401
    assert len(set(_worker_pids(log))) == 3, log
    assert log.count("client JWT rejected: replayed_jti") == 27, log
    assert log.count("client JWT rejected: lifetime_too_long") == 1, log
    for token in tokens:
        assert token.split(".")[1] not in log and token.split(".")[2] not in log


def _worker_pids(log: str) -> list[str]:
    return [line.rsplit(" ", 1)[-1] for line in log.splitlines() if "Booting worker" in line]


def test_compose_redis_keeps_token_ids() -> None:
    """With Redis (compose), jti keys must not be evictable and must survive a Redis restart."""
    import yaml

    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text(encoding="utf-8"))
    redis = compose["services"]["redis"]
    command = redis["command"]
    option = {command[i]: command[i + 1] for i in range(1, len(command) - 1, 2)}
    assert option["--maxmemory-policy"] == "noeviction"
    assert option["--appendonly"] == "yes"
    assert "redis-data:/data" in redis["volumes"] and "redis-data" in compose["volumes"]
