"""CDS_SERVER=granian: the command rls-cds serve runs, graceful SIGTERM, metrics over workers."""

from __future__ import annotations

import signal
from pathlib import Path

from cds_service.granian_serve import granian_argv, prepare_metrics_dir

from .sleepy_app import SLOW_BODY
from .support import (
    HERE,
    counted_metrics,
    free_port,
    metric_value,
    python_path_env,
    sigterm_mid_request,
)


def sleepy_granian(port: int, env: dict[str, str]) -> list[str]:
    """The exact command ``rls-cds serve`` builds, serving tests/deploy/sleepy_app.py."""
    return granian_argv("127.0.0.1", port, None, env, app="sleepy_app:asgi_app")


def test_sigterm_lets_the_in_flight_request_finish() -> None:
    port = free_port()
    # granian waits out the kill timeout for a worker that was still starting at SIGTERM, so the
    # timeout is kept short here; the in-flight request itself needs 1 s.
    env = python_path_env({"CDS_WORKERS": "2", "CDS_GRACEFUL_TIMEOUT": "8"})
    prepare_metrics_dir(env)
    done = sigterm_mid_request(sleepy_granian(port, env), env, port, HERE)
    assert done.error is None, f"in-flight request failed: {done.error!r}\n{done.log}"
    assert done.answer == (200, SLOW_BODY), "the response failed or arrived incomplete"
    # granian may end by re-raising the signal once its workers are done.
    assert done.exit_code in (0, -signal.SIGTERM), done.log
    assert done.seconds < 15, "shutdown outlasted the kill timeout"
    assert '"path":"/slow","status":200' in done.log


def test_metrics_are_summed_over_granian_workers(tmp_path: Path) -> None:
    port = free_port()
    env = python_path_env(
        {"CDS_WORKERS": "2", "CDS_GRACEFUL_TIMEOUT": "5", "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    )
    (tmp_path / "counter_424242.db").write_bytes(b"stale")  # a previous run's samples
    prepare_metrics_dir(env)
    text, _ = counted_metrics(sleepy_granian(port, env), env, port, HERE, requests=12)
    assert metric_value(text, "cds_cards_total", 'rule_id="test-rule"') == 12, text
    assert metric_value(text, "cds_http_requests_total", 'service="sleepy",status="200"') == 12
