"""CDS_SERVER=granian: the command rls-cds serve runs, graceful SIGTERM, metrics over workers."""

from __future__ import annotations

import os
import re
import signal
import threading
import time
from pathlib import Path

from cds_service.granian_serve import granian_argv, prepare_metrics_dir

from .sleepy_app import SLOW_BODY
from .support import HERE, free_port, http_get, python_path_env, running, wait_for_http


def sleepy_granian(port: int, env: dict[str, str]) -> list[str]:
    """The exact command ``rls-cds serve`` builds, serving tests/deploy/sleepy_app.py."""
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        return granian_argv("127.0.0.1", port, None, app="sleepy_app:app")
    finally:
        os.environ.clear()
        os.environ.update(saved)


def test_sigterm_lets_the_in_flight_request_finish(tmp_path: Path) -> None:
    port = free_port()
    # granian waits out the kill timeout for a worker that was still starting at SIGTERM, so the
    # timeout is kept short here; the in-flight request itself needs 1 s.
    env = python_path_env({"CDS_WORKERS": "2", "CDS_GRACEFUL_TIMEOUT": "8"})
    prepare_metrics_dir(env)
    result: dict[str, object] = {}

    def slow_request() -> None:
        try:
            result["answer"] = http_get(f"http://127.0.0.1:{port}/slow", timeout=15)
        except Exception as exc:  # reported by the assertion below
            result["error"] = exc

    with running(sleepy_granian(port, env), env, HERE) as proc:
        wait_for_http(f"http://127.0.0.1:{port}/healthz", proc)
        client = threading.Thread(target=slow_request)
        started = time.monotonic()
        client.start()
        time.sleep(0.3)  # the request is now sleeping inside a worker
        proc.send_signal(signal.SIGTERM)
        client.join(timeout=20)
        exit_code = proc.wait(timeout=20)
        elapsed = time.monotonic() - started
        log = proc.stdout.read().decode(errors="replace") if proc.stdout else ""

    assert "error" not in result, f"in-flight request failed: {result.get('error')!r}\n{log}"
    status, body = result["answer"]
    assert status == 200
    assert body == SLOW_BODY, "the response arrived incomplete"
    # granian ends by re-raising the signal once its workers are done (exit status 143).
    assert exit_code in (0, -signal.SIGTERM), log
    assert elapsed < 15, "shutdown outlasted the kill timeout"
    assert '"path":"/slow","status":200' in log


def test_metrics_are_summed_over_granian_workers(tmp_path: Path) -> None:
    workers = "2"
    port = free_port()
    env = python_path_env(
        {
            "CDS_WORKERS": workers,
            "CDS_GRACEFUL_TIMEOUT": "5",
            "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
        }
    )
    (tmp_path / "counter_424242.db").write_bytes(b"stale")
    prepare_metrics_dir(env)
    requests = 12
    with running(sleepy_granian(port, env), env, HERE) as proc:
        wait_for_http(f"http://127.0.0.1:{port}/healthz", proc)
        for _ in range(requests):
            assert http_get(f"http://127.0.0.1:{port}/count")[0] == 200
        _, body = http_get(f"http://127.0.0.1:{port}/metrics")
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
    text = body.decode()
    cards = re.search(r'^cds_cards_total\{rule_id="test-rule"\} (\S+)$', text, re.M)
    calls = re.search(
        r'^cds_http_requests_total\{service="sleepy",status="200"\} (\S+)$', text, re.M
    )
    assert cards and float(cards.group(1)) == requests, text
    assert calls and float(calls.group(1)) == requests, text
