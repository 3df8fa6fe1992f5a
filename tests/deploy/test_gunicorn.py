"""cds_service/gunicorn_conf.py: settings from the environment, graceful SIGTERM, metrics."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from .sleepy_app import SLOW_BODY
from .support import (
    HERE,
    counted_metrics,
    free_port,
    metric_value,
    python_path_env,
    sigterm_mid_request,
)

SETTINGS = (
    "bind",
    "workers",
    "threads",
    "timeout",
    "graceful_timeout",
    "keepalive",
    "max_requests",
    "accesslog",
    "worker_class",
    "control_socket_disable",
)


def load_settings(env: dict[str, str]) -> dict[str, object]:
    """The settings gunicorn reads from the config module, imported in a fresh interpreter."""
    code = (
        "import json, cds_service.gunicorn_conf as c;"
        f"print(json.dumps({{k: getattr(c, k) for k in {SETTINGS!r}}}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=python_path_env(env),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture
def conf(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> ModuleType:
    """The config module imported here, its multiprocess directory pointed at tmp_path."""
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    import cds_service.gunicorn_conf as module

    return importlib.reload(module)


def test_defaults(tmp_path: Path) -> None:
    settings = load_settings({"PROMETHEUS_MULTIPROC_DIR": str(tmp_path)})
    assert settings["bind"] == ["127.0.0.1:8080"]
    assert settings["worker_class"] == "sync"
    assert settings["graceful_timeout"] == 30
    assert settings["timeout"] == 30
    assert settings["keepalive"] == 5
    assert settings["threads"] == 1  # sync: more threads would silently switch to gthread
    assert settings["accesslog"] is None
    assert settings["control_socket_disable"] is True
    assert isinstance(settings["workers"], int) and settings["workers"] >= 3


def test_environment_overrides(tmp_path: Path) -> None:
    settings = load_settings(
        {
            "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
            "CDS_HOST": "0.0.0.0",
            "CDS_PORT": "9000",
            "CDS_WORKERS": "7",
            "CDS_THREADS": "2",
            "CDS_TIMEOUT": "60",
            "CDS_GRACEFUL_TIMEOUT": "12",
            "CDS_KEEPALIVE": "75",
            "CDS_MAX_REQUESTS": "1000",
            "CDS_WORKER_CLASS": "gthread",
        }
    )
    assert settings["worker_class"] == "gthread"
    assert settings["bind"] == ["0.0.0.0:9000"]
    assert (settings["workers"], settings["threads"], settings["timeout"]) == (7, 2, 60)
    assert (settings["graceful_timeout"], settings["keepalive"]) == (12, 75)
    assert settings["max_requests"] == 1000


def test_bad_values_stop_with_a_message(tmp_path: Path) -> None:
    env = python_path_env({"PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "CDS_WORKERS": "many"})
    result = subprocess.run(
        [sys.executable, "-c", "import cds_service.gunicorn_conf"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode != 0
    assert "CDS_WORKERS must be an integer" in result.stderr


def test_workers_follow_the_cpu_count_and_the_container_limit(
    conf: ModuleType, tmp_path: Path
) -> None:
    cpu_max = tmp_path / "cpu.max"
    cpu_max.write_text("150000 100000\n")
    assert conf.effective_cpu_count(str(cpu_max)) == min(2, len(os.sched_getaffinity(0)))
    cpu_max.write_text("max 100000\n")
    unlimited = conf.effective_cpu_count(str(cpu_max))
    assert unlimited >= 1
    assert conf.effective_cpu_count(str(tmp_path / "absent")) == unlimited
    cpu_max.write_text("50000 100000\n")
    assert conf.effective_cpu_count(str(cpu_max)) == 1
    assert conf.default_workers(1) == 3
    assert conf.default_workers(4) == 9


def test_hooks_clean_the_multiprocess_directory(conf: ModuleType, tmp_path: Path) -> None:
    (tmp_path / "counter_123.db").write_bytes(b"stale")
    (tmp_path / "gauge_livesum_456.db").write_bytes(b"live")
    (tmp_path / "keep.txt").write_text("not ours")
    conf.on_starting(server=None)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]
    (tmp_path / "gauge_livesum_456.db").write_bytes(b"live")

    class Worker:
        pid = 456

    conf.child_exit(server=None, worker=Worker())
    assert not (tmp_path / "gauge_livesum_456.db").exists()
    conf.on_exit(server=None)
    assert tmp_path.exists(), "a directory given by the environment is never removed"


def gunicorn_argv(port: int) -> list[str]:
    """gunicorn with the project's config serving tests/deploy/sleepy_app.py on ``port``."""
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "--config",
        "python:cds_service.gunicorn_conf",
        "--chdir",
        str(HERE),
        "--bind",
        f"127.0.0.1:{port}",
        "sleepy_app:app",
    ]


def test_sigterm_finishes_the_in_flight_request_and_exits_0(tmp_path: Path) -> None:
    port = free_port()
    env = python_path_env({"CDS_WORKERS": "2", "CDS_GRACEFUL_TIMEOUT": "30"})
    done = sigterm_mid_request(gunicorn_argv(port), env, port, tmp_path)
    assert done.error is None, f"in-flight request failed: {done.error!r}\n{done.log}"
    assert done.answer == (200, SLOW_BODY), "the response failed or arrived incomplete"
    assert done.exit_code == 0, done.log
    assert done.seconds < 20, "shutdown waited for the graceful timeout, not for the request"
    assert "Handling signal: term" in done.log
    assert '"path":"/slow","status":200' in done.log


def test_metrics_are_summed_over_workers(tmp_path: Path) -> None:
    port = free_port()
    env = python_path_env({"CDS_WORKERS": "2", "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)})
    text, exit_code = counted_metrics(gunicorn_argv(port), env, port, tmp_path, requests=12)
    assert exit_code == 0
    assert metric_value(text, "cds_cards_total", 'rule_id="test-rule"') == 12, text
    assert metric_value(text, "cds_http_requests_total", 'service="sleepy",status="200"') == 12
    assert list(tmp_path.glob("counter_*.db")), "the workers wrote their samples to the directory"
