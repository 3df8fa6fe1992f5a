"""Serving with granian, the default of ``rls-cds serve`` (``CDS_SERVER=gunicorn`` for gunicorn).

granian parses HTTP in Rust and runs the app through cds_service/buffered_asgi.py, which reads
each whole request before a Python thread sees it: clients that send headers or bodies one byte
a second hold no thread (measured in README "Performance": gunicorn sync answered 0 of 10 normal
requests beside 20 such sockets, this stack all of them). granian neither kills stuck workers
(``CDS_TIMEOUT``) nor recycles them (``CDS_MAX_REQUESTS``), so those two variables do not apply
here. The rest is mapped: worker count (cgroup-aware), application threads (``CDS_THREADS``,
default 1, in the front), graceful shutdown time, log level, and Prometheus multiprocess mode
(the directory is prepared here, before the workers import prometheus_client, and emptied of a
previous run's samples).
"""

from __future__ import annotations

import glob
import os
import sys
import tempfile
from collections.abc import Mapping, MutableMapping

from cds_service.serving import default_workers, effective_cpu_count, env_int

APP = "cds_service.asgi:app"
LOG_LEVELS = {"debug", "info", "warning", "error", "critical"}


def prepare_metrics_dir(env: MutableMapping[str, str]) -> str:
    """PROMETHEUS_MULTIPROC_DIR for the workers: as given (or a new temporary one), emptied."""
    path = env.get("PROMETHEUS_MULTIPROC_DIR", "").strip()
    if not path:
        path = tempfile.mkdtemp(prefix="rls-cds-prometheus-")
    os.makedirs(path, exist_ok=True)
    for stale in glob.glob(os.path.join(path, "*.db")):
        os.remove(stale)
    env["PROMETHEUS_MULTIPROC_DIR"] = path
    return path


def granian_argv(
    host: str,
    port: int,
    workers: int | None,
    environ: Mapping[str, str] = os.environ,
    app: str = APP,
) -> list[str]:
    """``python -m granian ...`` serving ``app`` with the CDS_* settings of ``environ``."""
    count = (
        workers
        or env_int("CDS_WORKERS", 0, environ=environ)
        or default_workers(effective_cpu_count())
    )
    level = environ.get("CDS_LOG_LEVEL", "info").strip().lower() or "info"
    if level not in LOG_LEVELS:
        raise SystemExit(f"CDS_LOG_LEVEL must be one of {sorted(LOG_LEVELS)}, got {level!r}")
    return [
        sys.executable,
        "-m",
        "granian",
        "--interface",
        "asgi",
        "--host",
        host,
        "--port",
        str(port),
        "--workers",
        str(count),
        "--workers-kill-timeout",
        str(env_int("CDS_GRACEFUL_TIMEOUT", 30, minimum=1, environ=environ)),
        "--respawn-failed-workers",
        "--no-ws",
        "--log-level",
        level,
        app,
    ]
