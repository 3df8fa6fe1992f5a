"""Closed-loop HTTP load on loopback: wrk (Debian package ``wrk``) or a bounded Python fallback.

Both keep ``connections`` connections busy for ``duration`` seconds, each sending the same POST
again as soon as the previous answer arrived, reusing the connection unless the server closes it
(gunicorn's sync worker closes after every response; the client then reconnects). Both return the
same summary: completed requests, requests per second, non-2xx answers, socket errors and latency
percentiles in milliseconds. Only loopback addresses are accepted, and every run stops by itself:
at the deadline, or after ``max_requests`` answers.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

LUA = Path(__file__).with_name("post.lua")
MAX_REQUESTS = 2_000_000
REQUEST_TIMEOUT_S = 10.0


def check_loopback(url: str) -> tuple[str, int, str]:
    """(host, port, path) of ``url``; ValueError unless it is http:// on a loopback address."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme != "http" or parts.port is None:
        raise ValueError(f"only http://host:port URLs are load-tested, not {url!r}")
    if host != "localhost" and not ipaddress.ip_address(host).is_loopback:
        raise ValueError(f"load is only ever sent to loopback addresses, not {host!r}")
    return host, parts.port, parts.path or "/"


def have_wrk() -> bool:
    return shutil.which("wrk") is not None


def _summary(requests: int, duration_s: float, errors: dict[str, int], lat_ms: dict[str, float]):
    return {
        "requests": requests,
        "duration_s": round(duration_s, 3),
        "rps": round(requests / duration_s, 1) if duration_s > 0 else 0.0,
        "errors": errors,
        "latency_ms": {k: round(v, 3) for k, v in lat_ms.items()},
    }


def run_wrk(
    url: str, body_file: Path, *, connections: int, duration: float, threads: int = 2
) -> dict[str, Any]:
    """One wrk run; the Lua script prints the summary as JSON on a BENCH_JSON line."""
    check_loopback(url)
    seconds = max(1, round(duration))
    command = [
        "wrk",
        f"-t{min(threads, connections)}",
        f"-c{connections}",
        f"-d{seconds}s",
        f"--timeout={int(REQUEST_TIMEOUT_S)}s",
        "-s",
        str(LUA),
        url,
        "--",
        str(body_file),
    ]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=seconds + 60, check=False
    )
    line = next((x for x in done.stdout.splitlines() if x.startswith("BENCH_JSON ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr.strip()[:400]}")
    raw = json.loads(line.split(" ", 1)[1])
    lat = {k: v / 1000.0 for k, v in raw["latency_us"].items()}
    result = _summary(raw["requests"], raw["duration_us"] / 1e6, raw["errors"], lat)
    result["generator"] = f"wrk -t{min(threads, connections)} -c{connections} -d{seconds}s"
    return result


# --- the Python fallback -------------------------------------------------------------------------


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """(status, keep_alive) of one HTTP/1.1 response, its body read and dropped."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    version, status = lines[0].split(" ", 2)[:2]
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip().lower()
    if "content-length" in headers:
        await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding") == "chunked":
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    else:
        await reader.read()  # body until close
        return int(status), False
    keep = headers.get("connection") != "close" and version == "HTTP/1.1"
    return int(status), keep


async def _worker(
    host: str,
    port: int,
    payload: bytes,
    deadline: float,
    budget: list[int],
    latencies: list[float],
    errors: dict[str, int],
) -> None:
    reader = writer = None
    while time.perf_counter() < deadline and budget[0] > 0:
        try:
            if writer is None:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection(host, port), REQUEST_TIMEOUT_S
                )
            start = time.perf_counter()
            writer.write(payload)
            status, keep = await asyncio.wait_for(_read_response(reader), REQUEST_TIMEOUT_S)
            latencies.append(time.perf_counter() - start)
            budget[0] -= 1
            if not 200 <= status < 400:
                errors["status"] += 1
            if not keep:
                writer.close()
                reader = writer = None
        except TimeoutError:
            errors["timeout"] += 1
            if writer is not None:
                writer.close()
            reader = writer = None
        except (OSError, asyncio.IncompleteReadError, ValueError):
            errors["read"] += 1
            if writer is not None:
                writer.close()
            reader = writer = None
            await asyncio.sleep(0.01)
    if writer is not None:
        writer.close()


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of an already sorted list (0 for an empty one)."""
    if not sorted_values:
        return 0.0
    rank = max(1, min(len(sorted_values), round(p / 100 * len(sorted_values) + 0.5)))
    return sorted_values[rank - 1]


def run_python(
    url: str,
    body_file: Path,
    *,
    connections: int,
    duration: float,
    max_requests: int = MAX_REQUESTS,
) -> dict[str, Any]:
    """The same closed loop as wrk, in asyncio (slower: it needs CPU the servers would use)."""
    host, port, path = check_loopback(url)
    body = Path(body_file).read_bytes()
    payload = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    latencies: list[float] = []
    errors = {"connect": 0, "read": 0, "write": 0, "status": 0, "timeout": 0}
    budget = [max_requests]

    async def main() -> float:
        start = time.perf_counter()
        deadline = start + duration
        await asyncio.gather(
            *(
                _worker(host, port, payload, deadline, budget, latencies, errors)
                for _ in range(connections)
            )
        )
        return time.perf_counter() - start

    elapsed = asyncio.run(main())
    ordered = sorted(latencies)
    lat = {
        "p50": percentile(ordered, 50) * 1000,
        "p90": percentile(ordered, 90) * 1000,
        "p99": percentile(ordered, 99) * 1000,
        "p999": percentile(ordered, 99.9) * 1000,
        "mean": (sum(ordered) / len(ordered) * 1000) if ordered else 0.0,
        "max": (ordered[-1] * 1000) if ordered else 0.0,
    }
    result = _summary(len(ordered), elapsed, errors, lat)
    result["generator"] = f"python asyncio c={connections} d={duration}s"
    return result


def run(
    url: str, body_file: Path, *, connections: int, duration: float, generator: str = "auto"
) -> dict[str, Any]:
    """Load with wrk when it is installed (or asked for), else with the Python fallback."""
    if generator == "wrk" or (generator == "auto" and have_wrk()):
        return run_wrk(url, body_file, connections=connections, duration=duration)
    return run_python(url, body_file, connections=connections, duration=duration)
