"""Latency at a fixed offered load (open loop): the service and the floor at the same constant rate.

``python -m bench.openloop`` serves the service (bench/app_fixed_clock.py) and the orjson floor
(bench/floor_app.py) side by side on gunicorn sync with 2 workers, measures the service's
closed-loop capacity on the realistic order-select (wrk when installed, else the asyncio
generator of bench/load.py), then offers each server the same constant arrival rate -- half that
capacity by default -- for ``--duration`` seconds per round, in turn (floor first in odd rounds).

A request is sent at its scheduled time whether or not earlier ones have been answered, and its
latency runs from that scheduled time to the end of the response, so a stalled server is not
hidden by a generator that waits for it (no coordinated omission). Each request opens its own
connection, as gunicorn sync closes every one. It prints p50/p99 per round and the median of the
rounds, and each worker's resident memory at the end (after well over 1,000 requests).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import load
from bench.load import _read_response, check_loopback, percentile
from bench.requests import encoded
from bench.servers import Server

SERVICE_ID = "rls-order-select"
TIMEOUT_S = 10.0


async def _one(
    host: str, port: int, payload: bytes, due: float, out: list[float], errors: dict[str, int]
) -> None:
    delay = due - time.perf_counter()
    if delay > 0:
        await asyncio.sleep(delay)
    writer = None
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), TIMEOUT_S)
        writer.write(payload)
        status, _ = await asyncio.wait_for(_read_response(reader), TIMEOUT_S)
        out.append(time.perf_counter() - due)
        if status != 200:
            errors["status"] += 1
    except TimeoutError:
        errors["timeout"] += 1
    except (OSError, asyncio.IncompleteReadError, ValueError):
        errors["io"] += 1
    finally:
        if writer is not None:
            writer.close()


def offer(url: str, body: bytes, *, rate: float, duration: float) -> dict[str, Any]:
    """Send ``rate`` requests per second for ``duration`` seconds, on schedule."""
    host, port, path = check_loopback(url)
    payload = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode() + body
    latencies: list[float] = []
    errors = {"status": 0, "timeout": 0, "io": 0}
    count = int(rate * duration)

    async def main() -> float:
        start = time.perf_counter() + 0.05
        tasks = []
        for i in range(count):
            due = start + i / rate
            # Create each task shortly before it is due, so thousands of sleepers do not pile up.
            while due - time.perf_counter() > 0.05:
                await asyncio.sleep(0.01)
            tasks.append(asyncio.create_task(_one(host, port, payload, due, latencies, errors)))
        await asyncio.gather(*tasks)
        return time.perf_counter() - start

    elapsed = asyncio.run(main())
    ordered = sorted(latencies)
    return {
        "offered_rps": rate,
        "answered": len(ordered),
        "achieved_rps": round(len(ordered) / elapsed, 1),
        "p50_ms": round(percentile(ordered, 50) * 1000, 2),
        "p90_ms": round(percentile(ordered, 90) * 1000, 2),
        "p99_ms": round(percentile(ordered, 99) * 1000, 2),
        "max_ms": round(ordered[-1] * 1000, 2) if ordered else None,
        "errors": errors,
    }


def offer_hey(
    url: str, body_file: Path, *, rate: float, duration: float, workers: int = 64
) -> dict[str, Any]:
    """The same rate from ``hey -q`` (Go, much less CPU than the asyncio generator): ``workers``
    senders, each limited to rate/workers per second. Each sender waits for its answer, so a
    server that falls behind is offered less (reported as achieved_rps below offered_rps)."""
    command = [
        "hey", "-z", f"{duration}s", "-c", str(workers), "-q", f"{rate / workers:.3f}",
        "-m", "POST", "-T", "application/json", "-D", str(body_file), "-disable-keepalive",
        "-o", "csv", url,
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    ok = sorted(float(r["response-time"]) for r in rows if r.get("status-code") == "200")
    return {
        "offered_rps": rate,
        "answered": len(ok),
        "achieved_rps": round(len(ok) / duration, 1),
        "p50_ms": round(percentile(ok, 50) * 1000, 2),
        "p90_ms": round(percentile(ok, 90) * 1000, 2),
        "p99_ms": round(percentile(ok, 99) * 1000, 2),
        "max_ms": round(ok[-1] * 1000, 2) if ok else None,
        "errors": {"status": len(rows) - len(ok)},
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.openloop", description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per round")
    parser.add_argument("--capacity-duration", type=float, default=5.0)
    parser.add_argument("--fraction", type=float, default=0.5, help="of the service's capacity")
    parser.add_argument("--rate", type=float, help="offer this rate instead")
    parser.add_argument("--server", default="gunicorn-sync")
    parser.add_argument(
        "--generator", choices=("asyncio", "hey"), default="hey" if shutil.which("hey") else
        "asyncio", help="hey -q when installed (less CPU taken from the servers)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)

    body = encoded("order-select", 50)
    log_dir = Path(tempfile.mkdtemp(prefix="rls-cds-openloop-"))
    body_file = log_dir / "order-select.json"
    body_file.write_bytes(body)
    with (
        Server(args.server, "service", "orjson", log_dir) as service,
        Server(args.server, "floor", "orjson", log_dir) as floor,
    ):
        service.start(SERVICE_ID, body)
        floor.start(SERVICE_ID, body)
        capacity = load.run(
            service.url(SERVICE_ID), body_file, connections=16, duration=args.capacity_duration
        )
        rate = args.rate or round(capacity["rps"] * args.fraction)
        print(f"service closed-loop capacity {capacity['rps']:.0f} rps "
              f"({capacity.get('generator', 'wrk')}); offering {rate} rps with {args.generator}")
        rounds: dict[str, list[dict[str, Any]]] = {"service": [], "floor": []}
        servers = {"service": service, "floor": floor}
        for r in range(args.rounds):
            order = ("floor", "service") if r % 2 == 0 else ("service", "floor")
            for name in order:
                url = servers[name].url(SERVICE_ID)
                got = (
                    offer_hey(url, body_file, rate=rate, duration=args.duration)
                    if args.generator == "hey"
                    else offer(url, body, rate=rate, duration=args.duration)
                )
                rounds[name].append(got)
                print(f"round {r + 1} {name:<8} p50 {got['p50_ms']:7.2f} ms  p99 "
                      f"{got['p99_ms']:7.2f} ms  answered {got['answered']} "
                      f"({got['achieved_rps']} rps)  errors {sum(got['errors'].values())}")
        memory = {name: s.memory() for name, s in servers.items()}
    summary = {
        name: {
            "p50_ms": statistics.median(r["p50_ms"] for r in rs),
            "p99_ms": statistics.median(r["p99_ms"] for r in rs),
        }
        for name, rs in rounds.items()
    }
    print(f"median of {args.rounds} rounds at {rate} rps:")
    for name, s in summary.items():
        print(f"  {name:<8} p50 {s['p50_ms']:.2f} ms  p99 {s['p99_ms']:.2f} ms  worker RSS "
              f"{memory[name]['worker_rss_mb']} MB")
    print(f"  service/floor p99: {summary['service']['p99_ms'] / summary['floor']['p99_ms']:.2f}")
    if args.json:
        result = {
            "server": args.server,
            "generator": args.generator,
            "capacity": capacity,
            "rate": rate,
            "rounds": rounds,
            "median": summary,
            "worker_rss_mb": {name: memory[name]["worker_rss_mb"] for name in memory},
        }
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
