"""Slow clients against a running server: do normal requests still get answered in time?

``N`` loopback sockets trickle a request one byte a second (headers, or complete headers and
then the body) for a fixed window, while a normal ``order-select`` request is sent every second
on a fresh connection. The figure is how many normal requests were answered (any HTTP status)
within ``answer_within`` seconds. Every loop is bounded by the window; sockets are closed at
the end. Used by ``tests/deploy/test_slow_clients.py`` and by hand::

    python -m bench.slow_clients --port 8080 --headers 20 --bodies 20 --window 20
"""

from __future__ import annotations

import argparse
import http.client
import json
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FIXTURE = REPO / "fhir_fixtures" / "rls-low-ferritin-orders-pramipexole" / "request.json"
PATH = "/cds-services/rls-order-select"


@dataclass(frozen=True)
class SlowClientRun:
    """What happened to the normal requests sent while the slow sockets trickled."""

    slow_headers: int
    slow_bodies: int
    sent: int
    answered_in_time: int
    slowest_s: float
    slow_sockets_open_at_end: int

    def line(self) -> str:
        return (
            f"{self.slow_headers} slow-header + {self.slow_bodies} slow-body sockets: "
            f"{self.answered_in_time}/{self.sent} normal requests answered in time, slowest "
            f"{self.slowest_s:.2f} s, {self.slow_sockets_open_at_end} slow sockets open at the end"
        )


def _slow_request_bytes(host: str, port: int, mode: str) -> tuple[bytes, bytes]:
    """(sent at once, trickled): all of it trickled for headers, the body alone for body."""
    body = FIXTURE.read_bytes()
    head = (
        f"POST {PATH} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode("ascii")
    if mode == "headers":
        return b"", head + body
    return head, body


def _trickle(host: str, port: int, count: int, mode: str, stop: threading.Event) -> list[int]:
    """Open ``count`` sockets and send one byte a second on each until ``stop``; [still open]."""
    at_once, trickled = _slow_request_bytes(host, port, mode)
    sockets: list[socket.socket] = []
    for _ in range(count):
        try:
            sock = socket.create_connection((host, port), timeout=2)
            sock.settimeout(0.05)
            if at_once:
                sock.sendall(at_once)
            sockets.append(sock)
        except OSError:
            continue
    position = 0
    while not stop.wait(1.0) and position < len(trickled):
        byte = trickled[position : position + 1]
        for sock in list(sockets):
            try:
                sock.send(byte)
            except OSError:  # the server closed it: that is allowed
                sockets.remove(sock)
                sock.close()
        position += 1
    still_open = [len(sockets)]
    for sock in sockets:
        sock.close()
    return still_open


def _normal_request(host: str, port: int, body: bytes, within: float) -> float | None:
    """Seconds one normal request took to get any HTTP answer, or None if not within ``within``."""
    started = time.monotonic()
    connection = http.client.HTTPConnection(host, port, timeout=within)
    try:
        connection.request("POST", PATH, body, {"Content-Type": "application/json"})
        response = connection.getresponse()
        response.read()
    except OSError:
        return None
    finally:
        connection.close()
    elapsed = time.monotonic() - started
    return elapsed if elapsed <= within else None


def measure(
    port: int,
    headers: int = 0,
    bodies: int = 0,
    window_s: float = 20.0,
    answer_within: float = 2.0,
    host: str = "127.0.0.1",
) -> SlowClientRun:
    """Trickle slow headers and bodies for ``window_s``; send one normal request a second."""
    body = FIXTURE.read_bytes()
    stop = threading.Event()
    still_open: list[int] = []
    tricklers = [
        threading.Thread(
            target=lambda m=mode, n=count: still_open.extend(_trickle(host, port, n, m, stop)),
            daemon=True,
        )
        for mode, count in (("headers", headers), ("body", bodies))
        if count
    ]
    for trickler in tricklers:
        trickler.start()
    time.sleep(1.5)  # every slow socket is connected and has sent its first byte
    timings: list[float | None] = []
    end = time.monotonic() + window_s
    while time.monotonic() < end:
        tick = time.monotonic()
        timings.append(_normal_request(host, port, body, answer_within))
        time.sleep(max(0.0, 1.0 - (time.monotonic() - tick)))
    stop.set()
    for trickler in tricklers:
        trickler.join(timeout=10)
    answered = [t for t in timings if t is not None]
    return SlowClientRun(
        slow_headers=headers,
        slow_bodies=bodies,
        sent=len(timings),
        answered_in_time=len(answered),
        slowest_s=max(answered, default=0.0),
        slow_sockets_open_at_end=sum(still_open),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--headers", type=int, default=20, help="sockets trickling headers")
    parser.add_argument("--bodies", type=int, default=0, help="sockets trickling bodies")
    parser.add_argument("--window", type=float, default=20.0)
    args = parser.parse_args()
    run = measure(args.port, args.headers, args.bodies, args.window)
    print(json.dumps(run.__dict__), "#", run.line())


if __name__ == "__main__":
    main()
