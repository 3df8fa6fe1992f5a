"""F2 durability: a real server is SIGKILLed mid-stream; every acknowledged item survives."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.request import Request, urlopen

from cds_service.feedback import default_database_url

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
RULES = ["rls-iron-check", "rls-dopamine-augmentation", "rls-gabapentinoid-first"]
SERVICE_URL = "http://127.0.0.1:{port}/cds-services/rls-order-select/feedback"


@contextmanager
def _server(database_url: str, log: Path) -> Iterator[tuple[subprocess.Popen, int]]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }
    with (
        log.open("ab") as stderr,
        subprocess.Popen(
            [sys.executable, str(HERE / "feedback_server.py"), database_url],
            stdout=subprocess.PIPE,
            stderr=stderr,
            env=env,
        ) as proc,
    ):
        try:
            line = proc.stdout.readline() if proc.stdout else b""
            assert line.strip().isdigit(), f"server did not start: {log.read_text()}"
            yield proc, int(line)
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=10)


def _post(port: int, items: list[dict]) -> dict:
    body = json.dumps({"feedback": items}).encode()
    request = Request(
        SERVICE_URL.format(port=port), body, {"Content-Type": "application/json"}, method="POST"
    )
    with urlopen(request, timeout=10) as response:
        assert response.status == 200
        return json.loads(response.read())


def test_f2_acknowledged_feedback_survives_sigkill(tmp_path: Path, make_item: Callable) -> None:
    database_url = default_database_url(tmp_path / "data")
    log = tmp_path / "server.log"
    acked: list[dict] = []
    lock = threading.Lock()

    def poster(port: int, worker: int) -> None:
        deadline = time.monotonic() + 30
        for n in range(1_000_000):
            if time.monotonic() > deadline:
                return
            outcome = "overridden" if n % 2 else "accepted"
            batch = [make_item(RULES[(worker + n) % 3], outcome) for _ in range(3)]
            try:
                _post(port, batch)
            except (OSError, http.client.HTTPException):
                return  # the server is gone; this batch was never acknowledged
            with lock:
                acked.extend(batch)

    with _server(database_url, log) as (proc, port):
        posters = [threading.Thread(target=poster, args=(port, w)) for w in range(4)]
        for thread in posters:
            thread.start()
        deadline = time.monotonic() + 20
        while len(acked) < 300 and time.monotonic() < deadline:
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)  # mid-stream: the posters are still sending
        proc.wait(timeout=10)
        for thread in posters:
            thread.join(timeout=15)
        assert proc.returncode == -signal.SIGKILL
    assert len(acked) >= 300, log.read_text()

    with _server(database_url, log) as (_, port):
        for start in range(0, len(acked), 500):
            chunk = acked[start : start + 500]
            assert _post(port, chunk) == {"received": len(chunk), "stored": 0}
        url = f"http://127.0.0.1:{port}/analytics/feedback"
        with urlopen(url, timeout=10) as response:
            rules = json.loads(response.read())["rules"]
    stored = sum(rule["accepted"] + rule["overridden"] for rule in rules)
    assert len(acked) <= stored <= len(acked) + 4 * 3  # at most one unacknowledged batch each
