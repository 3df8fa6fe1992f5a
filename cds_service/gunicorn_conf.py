"""Gunicorn settings for the service, read from ``CDS_*`` environment variables.

Used as ``gunicorn --config python:cds_service.gunicorn_conf cds_service.wsgi:app``; command-line
options (``--bind``, ``--workers``) override what is set here. On SIGTERM the master stops
accepting connections, lets every worker finish its in-flight requests for up to
``graceful_timeout`` seconds, and exits 0.

Prometheus multiprocess mode is prepared here, in the master, before any worker imports
prometheus_client: ``PROMETHEUS_MULTIPROC_DIR`` is created (or a private temporary directory is
made when it is unset), emptied of stale samples at start, and each dead worker's live gauges
are dropped by ``child_exit``.
"""

from __future__ import annotations

import glob
import os
import shutil
import tempfile
from typing import Any

from cds_service import gunicorn_errors
from cds_service.serving import default_workers, effective_cpu_count
from cds_service.serving import env_int as _env_int

gunicorn_errors.install()  # gunicorn's own 400/431 answers are JSON, like every other error

_OWN_DIR_MARK = "RLS_CDS_PROMETHEUS_DIR_MADE"


def _prepare_multiproc_dir() -> tuple[str, bool]:
    """Make sure PROMETHEUS_MULTIPROC_DIR names a directory; True when this module made it.

    The mark survives a configuration reload (SIGHUP), so a reload reuses the directory.
    """
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "").strip()
    if path:
        os.makedirs(path, exist_ok=True)
        return path, os.environ.get(_OWN_DIR_MARK) == path
    path = tempfile.mkdtemp(prefix="rls-cds-prometheus-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
    os.environ[_OWN_DIR_MARK] = path
    return path, True


_MULTIPROC_DIR, _MULTIPROC_DIR_IS_OURS = _prepare_multiproc_dir()

bind = [f"{os.environ.get('CDS_HOST', '127.0.0.1')}:{_env_int('CDS_PORT', 8080, minimum=1)}"]
workers = _env_int("CDS_WORKERS", 0) or default_workers(effective_cpu_count())
# Chosen by measurement (README "Performance"): sync workers cost the least CPU per request.
# CDS_WORKER_CLASS=gthread suits deployments where many requests need the FHIR fallback, whose
# fetches (up to CDS_FHIR_DEADLINE_S) would otherwise hold a sync worker.
worker_class = os.environ.get("CDS_WORKER_CLASS", "sync").strip() or "sync"
if worker_class not in ("sync", "gthread"):
    raise SystemExit(f"CDS_WORKER_CLASS must be sync or gthread, got {worker_class!r}")
# gunicorn turns sync into gthread whenever threads > 1, so threads only apply to gthread.
threads = _env_int("CDS_THREADS", 4, minimum=1) if worker_class == "gthread" else 1
timeout = _env_int("CDS_TIMEOUT", 30, minimum=1)
graceful_timeout = _env_int("CDS_GRACEFUL_TIMEOUT", 30)
keepalive = _env_int("CDS_KEEPALIVE", 5)
max_requests = _env_int("CDS_MAX_REQUESTS", 0)
max_requests_jitter = max_requests // 10  # workers recycle at different times
# The heartbeat files live in memory when /dev/shm exists (containers: a slow or read-only disk).
_SHM = "/dev/shm"
worker_tmp_dir = _SHM if os.path.isdir(_SHM) and os.access(_SHM, os.W_OK) else None
preload_app = False

# The app writes its own JSON access line per request (logger cds_service.access).
accesslog = None
errorlog = "-"
loglevel = os.environ.get("CDS_LOG_LEVEL", "info").lower()
proc_name = "rls-cds"
# Gunicorn 25+ would open a control socket under $HOME, shared by every instance of a user; the
# image's user has no home, and orchestration (SIGTERM, SIGHUP, probes) needs none.
control_socket_disable = True


def on_starting(server: Any) -> None:
    """Drop samples a previous run left in the multiprocess directory."""
    for stale in glob.glob(os.path.join(_MULTIPROC_DIR, "*.db")):
        os.remove(stale)


def child_exit(server: Any, worker: Any) -> None:
    """Forget the live gauges of a worker that has exited."""
    from prometheus_client import multiprocess  # imported late: the env is set by then

    multiprocess.mark_process_dead(worker.pid, _MULTIPROC_DIR)


def on_exit(server: Any) -> None:
    """Remove the multiprocess directory when this module made it."""
    if _MULTIPROC_DIR_IS_OURS:
        shutil.rmtree(_MULTIPROC_DIR, ignore_errors=True)
