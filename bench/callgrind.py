"""Instructions per request, counted by valgrind callgrind: the service against the orjson floor.

Instruction counts do not move with the load of a shared machine, so this is the benchmark's
gate. ``python -m bench.callgrind`` runs, for each hook, the service and the floor
(bench/floor_app.py with orjson) in a fresh interpreter under callgrind: the app is built, 5
warm-up POSTs are answered, then 50 more inside ``sys.call_tracing`` -- a C function nothing else
calls, so ``--toggle-collect=sys_call_tracing`` counts exactly those 50 WSGI calls (environ in,
every response chunk read, response closed), nothing of start-up. It prints instructions per
request and the service/floor ratio per hook; ``--keep DIR`` keeps the callgrind files for
``callgrind_annotate``. ``--growth`` also counts patient-view at 10 to 10,000 Observations (fewer
calls for the large bodies) and prints the log-log slope of the service's own instructions (the
service minus the floor) between sizes: 1.0 is linear. ``--svg FILE`` draws both.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
HOOKS = ("order-select", "order-sign", "patient-view")
WARMUP = 5
CALLS = 50
OBSERVATIONS = 50
GROWTH_SIZES = (10, 100, 1_000, 10_000)
GROWTH_HOOK = "patient-view"


def growth_calls(observations: int) -> tuple[int, int]:
    """(warm-ups, counted calls) for a body of ``observations``: fewer for the large ones, which
    take seconds each under valgrind (the count per request is as exact with 3 calls as 50)."""
    if observations >= 10_000:
        return 1, 3
    if observations >= 1_000:
        return 2, 10
    return WARMUP, CALLS


def wsgi_caller(app: Any, path: str, raw: bytes) -> Callable[[], bytes]:
    """A function that POSTs ``raw`` to ``path`` through ``app``'s WSGI interface."""
    base = {
        "REQUEST_METHOD": "POST",
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8080",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(raw)),
        "HTTP_HOST": "127.0.0.1:8080",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    statuses: list[str] = []

    def start_response(status: str, headers: Any, exc_info: Any = None) -> None:
        statuses.append(status)

    def call() -> bytes:
        environ = dict(base)
        environ["wsgi.input"] = io.BytesIO(raw)
        statuses.clear()
        result = app(environ, start_response)
        try:
            body = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        if not statuses or not statuses[0].startswith("200"):
            raise RuntimeError(f"{path} answered {statuses}: {body[:300]!r}")
        return body

    return call


def build(target: str, hook: str, observations: int) -> Callable[[], bytes]:
    """The WSGI call of ``target`` (service or floor) for ``hook``, app built, nothing called."""
    from bench.requests import SERVICE_OF_HOOK, encoded

    raw = encoded(hook, observations)
    path = f"/cds-services/{SERVICE_OF_HOOK[hook]}"
    if target == "floor":
        os.environ["BENCH_JSON"] = "orjson"
        from bench.floor_app import app
    else:
        from bench.inprocess import make_app
        from cds_service.app import tune_gc

        app = make_app()  # authentication off, clock at NOW; the service parses with orjson
        tune_gc()  # as the production server (cds_service/wsgi.py) does after start-up
    return wsgi_caller(app, path, raw)


def child(target: str, hook: str, observations: int, warmup: int, calls: int) -> None:
    """Run inside valgrind: warm up, then ``calls`` requests inside ``sys.call_tracing``."""
    from bench.inprocess import quiet

    call = build(target, hook, observations)
    with quiet():
        for _ in range(warmup):
            call()

        def measured() -> None:
            for _ in range(calls):
                call()

        sys.call_tracing(measured, ())


def _count(out_file: Path) -> int:
    text = out_file.read_text(encoding="utf-8", errors="replace")
    match = re.search(r"^(?:summary|totals):\s+(\d+)", text, re.MULTILINE)
    if not match:
        raise RuntimeError(f"no instruction total in {out_file}")
    return int(match.group(1))


def measure(
    target: str, hook: str, *, observations: int, warmup: int, calls: int, out_dir: Path
) -> dict[str, Any]:
    """Instructions per request of ``target`` on ``hook``, from one callgrind run."""
    out_file = out_dir / f"callgrind.{target}.{hook}.out"
    command = [
        "valgrind",
        "--tool=callgrind",
        "--collect-atstart=no",
        "--toggle-collect=sys_call_tracing",
        f"--callgrind-out-file={out_file}",
        sys.executable,
        "-m",
        "bench.callgrind",
        "--child",
        target,
        hook,
        str(observations),
        str(warmup),
        str(calls),
    ]
    env = dict(os.environ, PYTHONHASHSEED="0")
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{target} {hook} failed:\n{done.stderr[-3000:]}")
    total = _count(out_file)
    return {"target": target, "hook": hook, "instructions": total, "per_request": total / calls}


def run(
    hooks: tuple[str, ...] = HOOKS,
    *,
    observations: int = OBSERVATIONS,
    warmup: int = WARMUP,
    calls: int = CALLS,
    keep: Path | None = None,
    jobs: int = 2,
) -> dict[str, Any]:
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed: sudo apt-get install -y valgrind")
    out_dir = keep or Path(tempfile.mkdtemp(prefix="rls-cds-callgrind-"))
    out_dir.mkdir(parents=True, exist_ok=True)
    jobs_list = [(t, h) for h in hooks for t in ("service", "floor")]
    try:
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            results = list(
                pool.map(
                    lambda job: measure(
                        job[0], job[1], observations=observations, warmup=warmup,
                        calls=calls, out_dir=out_dir,
                    ),
                    jobs_list,
                )
            )
    finally:
        if keep is None:
            shutil.rmtree(out_dir, ignore_errors=True)
    by = {(r["target"], r["hook"]): r["per_request"] for r in results}
    rows = []
    for hook in hooks:
        service, floor = by[("service", hook)], by[("floor", hook)]
        rows.append(
            {
                "hook": hook,
                "service_instructions": round(service),
                "floor_instructions": round(floor),
                "ratio": round(service / floor, 3),
            }
        )
    return {
        "observations": observations,
        "warmup": warmup,
        "calls": calls,
        "commit": _commit(),
        "rows": rows,
    }


def growth(
    sizes: tuple[int, ...] = GROWTH_SIZES, *, hook: str = GROWTH_HOOK, jobs: int = 2
) -> dict[str, Any]:
    """Instructions per request of service and floor on ``hook`` at each prefetch size, and the
    log-log slopes of the service's own instructions (service minus floor) between sizes."""
    out_dir = Path(tempfile.mkdtemp(prefix="rls-cds-callgrind-growth-"))
    jobs_list = [(t, n) for n in sizes for t in ("service", "floor")]

    def one(job: tuple[str, int]) -> dict[str, Any]:
        target, n = job
        warmup, calls = growth_calls(n)
        result = measure(
            target, hook, observations=n, warmup=warmup, calls=calls, out_dir=out_dir / str(n)
        )
        return {**result, "observations": n}

    for n in sizes:
        (out_dir / str(n)).mkdir(parents=True, exist_ok=True)
    try:
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            results = list(pool.map(one, jobs_list))
    finally:
        shutil.rmtree(out_dir, ignore_errors=True)
    by = {(r["target"], r["observations"]): r["per_request"] for r in results}
    return {"hook": hook, "rows": growth_rows(by, sizes)}


def growth_rows(by: dict[tuple[str, int], float], sizes: tuple[int, ...]) -> list[dict[str, Any]]:
    """Rows per size from instructions per request keyed by (target, size), with the log-log
    slopes from the previous size of the service's own instructions (service minus floor) and
    of the whole service."""
    rows = []
    for i, n in enumerate(sizes):
        service, floor = by[("service", n)], by[("floor", n)]
        row: dict[str, Any] = {
            "observations": n,
            "service_instructions": round(service),
            "floor_instructions": round(floor),
            "ratio": round(service / floor, 3),
        }
        if i:
            previous = sizes[i - 1]
            own_before = by[("service", previous)] - by[("floor", previous)]
            # No own slope once the service costs less than the floor (at 10,000 Observations
            # the floor's parse pays for garbage collection the service's tuned GC skips).
            if service > floor and own_before > 0:
                row["own_slope"] = round(
                    math.log((service - floor) / own_before) / math.log(n / previous), 3
                )
            row["service_slope"] = round(
                math.log(service / by[("service", previous)]) / math.log(n / previous), 3
            )
        rows.append(row)
    return rows


def _commit() -> str:
    done = subprocess.run(
        ["git", "describe", "--always", "--dirty"], cwd=REPO, capture_output=True, text=True
    )
    return done.stdout.strip() or "unknown"


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--child":
        target, hook, n, warmup, calls = argv[1:6]
        child(target, hook, int(n), int(warmup), int(calls))
        return
    parser = argparse.ArgumentParser(prog="python -m bench.callgrind", description=__doc__)
    parser.add_argument("--hooks", default=",".join(HOOKS))
    parser.add_argument("--observations", type=int, default=OBSERVATIONS)
    parser.add_argument("--warmup", type=int, default=WARMUP)
    parser.add_argument("--calls", type=int, default=CALLS)
    parser.add_argument("--jobs", type=int, default=2, help="valgrind runs in parallel")
    parser.add_argument("--keep", type=Path, help="keep the callgrind.*.out files here")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument(
        "--growth", action="store_true",
        help=f"also count {GROWTH_HOOK} at {', '.join(f'{n:,}' for n in GROWTH_SIZES)} "
        "Observations",
    )
    parser.add_argument("--svg", type=Path, help="draw the ratios (and the growth) to this file")
    args = parser.parse_args(argv)
    result = run(
        tuple(h for h in args.hooks.split(",") if h),
        observations=args.observations,
        warmup=args.warmup,
        calls=args.calls,
        keep=args.keep,
        jobs=args.jobs,
    )
    print(f"commit {result['commit']}: {args.calls} in-process WSGI POSTs after "
          f"{args.warmup} warm-ups, {args.observations} Observations")
    print(f"{'hook':<14}{'service':>14}{'floor':>14}{'ratio':>8}")
    for row in result["rows"]:
        print(
            f"{row['hook']:<14}{row['service_instructions'] / 1e6:>12.3f} M"
            f"{row['floor_instructions'] / 1e6:>12.3f} M{row['ratio']:>8.2f}"
        )
    if args.growth:
        result["growth"] = growth(jobs=args.jobs)
        print(f"\ngrowth ({GROWTH_HOOK}; slope: log-log, service minus floor / whole service)")
        print(f"{'Observations':<14}{'service':>14}{'floor':>14}{'ratio':>8}{'slope':>14}")
        for row in result["growth"]["rows"]:
            own = f"{row['own_slope']:.2f}" if "own_slope" in row else "-"
            slope = f"{own} / {row['service_slope']:.2f}" if "service_slope" in row else ""
            print(
                f"{row['observations']:<14,}{row['service_instructions'] / 1e6:>12.3f} M"
                f"{row['floor_instructions'] / 1e6:>12.3f} M{row['ratio']:>8.2f}{slope:>14}"
            )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    if args.svg:
        from bench.callgrind_plot import callgrind_svg

        args.svg.write_text(callgrind_svg(result), encoding="utf-8")


if __name__ == "__main__":
    main()
