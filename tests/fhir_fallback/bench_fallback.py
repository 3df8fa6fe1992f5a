"""Concurrent vs sequential prefetch-fallback latency against a local sekmet-fhir server.

Run from the repository root:
``.venv/bin/python -m tests.fhir_fallback.bench_fallback [ROUNDS] [DELAY_MS ...]``. Each DELAY_MS
puts a loopback proxy in front of the server that holds every request that long, to model the
network latency of a remote EHR (default: 0 and 50).
"""

from __future__ import annotations

import socket
import socketserver
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cds_service.fhir.client import FhirAccessPolicy
from cds_service.fhir.fallback import fill_missing_prefetch, make_session

from .prefetch_templates import TEMPLATES
from .rls_fixtures import PATIENT_A, transaction_bundle
from .sekmet_harness import SekmetServer, sekmet_executable, sekmet_venv


class _DelayHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        server = self.server
        upstream = socket.create_connection(server.upstream)  # type: ignore[attr-defined]
        for sock in (upstream, self.request):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        pump = threading.Thread(target=_pump, args=(upstream, self.request, 0.0), daemon=True)
        pump.start()
        _pump(self.request, upstream, server.delay_s)  # type: ignore[attr-defined]
        pump.join(timeout=5)
        upstream.close()


def _pump(src: socket.socket, dst: socket.socket, delay_s: float) -> None:
    try:
        while chunk := src.recv(65536):
            time.sleep(delay_s)
            dst.sendall(chunk)
    except OSError:
        pass
    finally:
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass


@contextmanager
def delaying_proxy(base_url: str, delay_ms: float) -> Iterator[str]:
    """``base_url`` seen through a loopback proxy that delays each request by ``delay_ms``."""
    if delay_ms <= 0:
        yield base_url
        return
    host_port, _, path = base_url.removeprefix("http://").partition("/")
    host, _, port = host_port.partition(":")
    proxy = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _DelayHandler)
    proxy.daemon_threads = True
    proxy.upstream = (host, int(port))  # type: ignore[attr-defined]
    proxy.delay_s = delay_ms / 1000  # type: ignore[attr-defined]
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{proxy.server_address[1]}/{path}"
    finally:
        proxy.shutdown()
        proxy.server_close()


def measure(base_url: str, token: str | None = None, rounds: int = 20) -> dict[str, dict]:
    """Median, p90 and max milliseconds of one full fallback (all six keys), both ways."""
    policy = FhirAccessPolicy(allowlist=(base_url,), allow_http=True, deadline_s=10.0)
    session = make_session()
    body: dict = {
        "fhirServer": base_url,
        "context": {"userId": "Practitioner/x", "patientId": PATIENT_A},
    }
    if token:
        body["fhirAuthorization"] = {"access_token": token, "token_type": "Bearer"}
    samples: dict[str, list[float]] = {"concurrent": [], "sequential": []}
    for mode in samples:  # one warm-up each: connections, server caches
        fill_missing_prefetch(
            TEMPLATES, body, {}, policy=policy, session=session, concurrent=mode == "concurrent"
        )
    for _ in range(rounds):
        for mode, times in samples.items():
            start = time.perf_counter()
            fill_missing_prefetch(
                TEMPLATES, body, {}, policy=policy, session=session, concurrent=mode == "concurrent"
            )
            times.append((time.perf_counter() - start) * 1000)
    return {
        mode: {
            "median_ms": statistics.median(t),
            "p90_ms": sorted(t)[int(0.9 * len(t))],
            "max_ms": max(t),
            "rounds": len(t),
        }
        for mode, t in samples.items()
    }


def report(results: dict[str, dict], label: str = "") -> str:
    return "\n".join(
        f"{label}{mode:<11} median {r['median_ms']:6.1f} ms  p90 {r['p90_ms']:6.1f} ms  "
        f"max {r['max_ms']:6.1f} ms  ({r['rounds']} rounds, {len(TEMPLATES)} keys)"
        for mode, r in results.items()
    )


def main(argv: list[str]) -> int:
    exe = sekmet_executable()
    if exe is None:
        print(f"sekmet-fhir not installed in {sekmet_venv()}; run scripts/sekmet_venv.sh")
        return 2
    rounds = int(argv[0]) if argv else 20
    delays = [float(d) for d in argv[1:]] or [0.0, 50.0]
    with tempfile.TemporaryDirectory(prefix="sekmet-bench-") as tmp:
        server = SekmetServer(exe, Path(tmp))
        server.start()
        try:
            server.load(transaction_bundle())
            for delay in delays:
                with delaying_proxy(server.base_url, delay) as url:
                    label = f"+{delay:g} ms/request  "
                    print(report(measure(url, rounds=rounds), label), flush=True)
        finally:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
