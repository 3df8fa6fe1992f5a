"""Start and stop the benchmarked WSGI servers on free loopback ports; read their workers' RSS.

Every server runs 2 worker processes of one app (``bench.app_fixed_clock:app`` or
``bench.floor_app:app``), with the JSON library picked by BENCH_JSON in its environment.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
WORKERS = 2
HOST = "127.0.0.1"

APPS = {"service": "bench.app_fixed_clock:app", "floor": "bench.floor_app:app"}


def _gunicorn(worker_class: str, *extra: str) -> Any:
    def command(app: str, port: int) -> list[str]:
        return [
            sys.executable,
            "-m",
            "gunicorn",
            "--config",
            "python:bench.gunicorn_settings",
            "--workers",
            str(WORKERS),
            "--worker-class",
            worker_class,
            *extra,
            "--bind",
            f"{HOST}:{port}",
            app,
        ]

    return command


def _granian(*extra: str) -> Any:
    def command(app: str, port: int) -> list[str]:
        return _granian_command(app, port, *extra)

    return command


def _granian_command(app: str, port: int, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "granian",
        "--interface",
        "wsgi",
        "--workers",
        str(WORKERS),
        "--host",
        HOST,
        "--port",
        str(port),
        "--no-ws",
        "--log-level",
        "warning",
        *extra,
        app,
    ]


def _granian_front(app: str, port: int) -> list[str]:
    """The shipped default of ``rls-cds serve``: granian's ASGI interface in front of the app
    through cds_service/buffered_asgi.py (the ``front`` beside each benchmarked ``app``)."""
    command = _granian_command(app.replace(":app", ":front"), port)
    command[command.index("wsgi")] = "asgi"
    return command


# name -> command builder; the first is the baseline the stretch target is measured against.
# granian's WSGI default is backpressure // 2 = 256 blocking (Python) threads per worker, which
# all contend for one GIL; granian-bt1 runs one Python thread per worker and queues in Rust.
SERVERS = {
    "gunicorn-sync": _gunicorn("sync"),
    "gunicorn-gthread": _gunicorn("gthread", "--threads", "4"),
    "granian": _granian(),
    "granian-bt1": _granian("--blocking-threads", "1"),
    "granian-front": _granian_front,
}
KEEP_ALIVE = {name: name != "gunicorn-sync" for name in SERVERS}  # sync closes every connection


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def post(
    url: str, body: bytes, timeout: float = 5.0, headers: dict[str, str] | None = None
) -> tuple[int, bytes]:
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": "application/json", **(headers or {})},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (loopback)
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as handle:
                stat = handle.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry))
    return tree


def descendants(pid: int) -> list[int]:
    tree, found, todo = _children(), [], [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def memory_mb(pid: int) -> dict[str, float] | None:
    """VmRSS (resident now) and VmHWM (peak resident) of ``pid`` in MiB, from /proc."""
    values = {}
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as handle:
            for line in handle:
                key, _, rest = line.partition(":")
                if key in ("VmRSS", "VmHWM"):
                    values[key] = round(int(rest.split()[0]) / 1024, 1)
    except OSError:
        return None
    out = {"rss_mb": values.get("VmRSS", 0.0), "peak_rss_mb": values.get("VmHWM", 0.0)}
    # PSS (shared pages split between the processes that map them) and USS (pages only this
    # process holds): what one more worker costs, where RSS counts every shared library whole.
    rollup: dict[str, int] = {}
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii", errors="replace") as handle:
            for line in handle:
                key, _, rest = line.partition(":")
                if key in ("Pss", "Private_Clean", "Private_Dirty"):
                    rollup[key] = int(rest.split()[0])
    except OSError:
        return out
    out["pss_mb"] = round(rollup.get("Pss", 0) / 1024, 1)
    private = rollup.get("Private_Clean", 0) + rollup.get("Private_Dirty", 0)
    out["uss_mb"] = round(private / 1024, 1)
    return out


TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` (all its threads), in seconds; 0 when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return handle.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def _migrate(data_dir: str) -> None:
    """The service's database made and migrated before the workers start, as ``rls-cds serve``
    does in its preflight: otherwise each worker of the benchmark app races to migrate it, and
    loads Alembic and SQLAlchemy, which the shipped workers never import."""
    from cds_service.feedback import FeedbackStore, default_database_url

    with FeedbackStore(default_database_url(Path(data_dir))) as store:
        store.migrate()


def stop_group(process: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    """SIGTERM to a server started in its own session, SIGKILL to its group after ``timeout``.

    granian's main process can wait out its whole kill timeout (30 s) for a worker that got the
    signal while still starting; a benchmark that stops a server right after its first answer
    must not wait for that, nor leave the group behind."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # the group this Popen made (own session)
            process.wait(5)
    # Workers left behind by a master that died first: only this server's own group.
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


@dataclass
class Server:
    """One running server; use as a context manager so it is always stopped."""

    name: str
    app: str
    json_name: str
    log_dir: Path
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    startup_s: float | None = None
    log_path: Path = field(init=False)
    _data_dir: Any = None

    def __post_init__(self) -> None:
        self.log_path = self.log_dir / f"{self.app}-{self.name}-{self.json_name}.log"

    def url(self, service_id: str) -> str:
        return f"http://{HOST}:{self.port}/cds-services/{service_id}"

    def start(self, probe_service: str, probe_body: bytes, timeout: float = 60.0) -> float:
        """Start, then POST ``probe_body`` until the first 200: the seconds that took."""
        self.port = free_port()
        command = SERVERS[self.name](APPS[self.app], self.port)
        self._data_dir = tempfile.TemporaryDirectory(prefix="rls-cds-bench-data-")
        data_dir = self._data_dir.name  # whatever the service writes goes here
        if self.app != "floor":
            _migrate(data_dir)
        env = {
            **os.environ,
            "BENCH_JSON": self.json_name,
            "PYTHONUNBUFFERED": "1",
            "CDS_DATA_DIR": data_dir,
        }
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("wb")
        started = time.perf_counter()
        self.process = subprocess.Popen(
            command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        deadline = started + timeout
        url = self.url(probe_service)
        while time.perf_counter() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited early; see {self.log_path}")
            try:
                status, _ = post(url, probe_body, timeout=5.0)
            except OSError:
                time.sleep(0.005)
                continue
            if status == 200:
                self.startup_s = time.perf_counter() - started
                return self.startup_s
            raise RuntimeError(f"{self.name} answered {status} to the probe; see {self.log_path}")
        raise RuntimeError(f"{self.name} did not answer within {timeout} s; see {self.log_path}")

    def cpu_seconds(self) -> float:
        """CPU time used so far by the server and its workers (robust to a busy machine)."""
        assert self.process is not None
        pids = [self.process.pid, *descendants(self.process.pid)]
        return sum(cpu_seconds(pid) for pid in pids)

    def memory(self) -> dict[str, Any]:
        """RSS of the server's processes: workers are the descendants that run the app."""
        assert self.process is not None
        procs = []
        for pid in [self.process.pid, *descendants(self.process.pid)]:
            mem = memory_mb(pid)
            if mem is not None:
                procs.append({"pid": pid, "cmd": _cmdline(pid)[:120], **mem})
        master, others = procs[0], procs[1:]
        # Workers: the largest descendants (granian and gunicorn may add small helpers).
        workers = sorted(others, key=lambda p: -p["rss_mb"])[:WORKERS]
        return {
            "master_rss_mb": master["rss_mb"],
            "worker_rss_mb": [w["rss_mb"] for w in workers],
            "worker_peak_rss_mb": [w["peak_rss_mb"] for w in workers],
            "max_worker_rss_mb": max((w["rss_mb"] for w in workers), default=0.0),
            "max_worker_peak_rss_mb": max((w["peak_rss_mb"] for w in workers), default=0.0),
            "processes": procs,
        }

    def stop(self, timeout: float = 15.0) -> None:
        try:
            self._stop_process(timeout)
        finally:
            if self._data_dir is not None:
                self._data_dir.cleanup()
                self._data_dir = None

    def _stop_process(self, timeout: float) -> None:
        if self.process is not None:
            stop_group(self.process, timeout)

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
