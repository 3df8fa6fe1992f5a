"""In-process measurements: evaluation time against prefetch size, cold start, and a profile.

Nothing here opens a socket. ``evaluate`` times :func:`cds_service.hook_call.call_service` on an
already parsed body (checks, FHIR validation, facts, rules, cards); ``http`` times the same request
through Flask's test client (body parsing and response writing included).
"""

from __future__ import annotations

import atexit
import contextlib
import cProfile
import io
import json
import math
import os
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from bench import requests as bench_requests
from bench.requests import NOW, SERVICE_OF_HOOK, encoded

REPO = Path(__file__).resolve().parent.parent
_DATA_DIR = tempfile.mkdtemp(prefix="rls-cds-bench-data-")
atexit.register(shutil.rmtree, _DATA_DIR, ignore_errors=True)


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Send what the service prints (its JSON access lines go to stdout) to /dev/null."""
    with open(os.devnull, "w", encoding="utf-8") as sink, contextlib.redirect_stdout(sink):
        yield


def make_app(json_name: str = "stdlib") -> Any:
    """The service as bench/app_fixed_clock.py builds it, with room for the largest body."""
    from bench.jsonlib import use_in_service
    from cds_service import create_app

    # A 10,000-Observation body (about 6.6 MB) is above the default 5 MB limit.
    # Anything the service writes (a feedback database, say) goes to a fresh temporary directory.
    config = {
        "require_auth": False,
        "clock": lambda: NOW,
        "max_body_bytes": 64 * 1024 * 1024,
        "data_dir": Path(_DATA_DIR),
    }
    app = create_app(config)
    use_in_service(json_name)
    return app


def time_calls(
    fn: Callable[[], object], *, budget_s: float, min_runs: int = 5, max_runs: int = 2000
) -> dict[str, Any]:
    """Run ``fn`` (after a warm-up call) until ``budget_s`` is spent or ``max_runs`` is reached."""
    fn()
    samples: list[float] = []
    spent_until = time.perf_counter() + budget_s
    while len(samples) < max_runs and (
        len(samples) < min_runs or time.perf_counter() < spent_until
    ):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    samples.sort()
    return {
        "runs": len(samples),
        "median_ms": round(statistics.median(samples) * 1000, 4),
        "min_ms": round(samples[0] * 1000, 4),
        "p90_ms": round(samples[min(len(samples) - 1, int(len(samples) * 0.9))] * 1000, 4),
    }


class Caller:
    """One hook request, ready to be answered in-process, both ways."""

    def __init__(self, app: Any, hook: str, n_observations: int) -> None:
        from cds_service.hook_call import call_service

        self._call_service = call_service
        self.runtime = app.extensions["rls_cds"]
        self.service = self.runtime.services[SERVICE_OF_HOOK[hook]]
        self.raw = encoded(hook, n_observations)
        self.body = json.loads(self.raw)
        self.client = app.test_client()
        self.path = f"/cds-services/{self.service.id}"

    def evaluate(self) -> Any:
        rt = self.runtime
        return self._call_service(rt.knowledge, rt.settings, self.service, self.body, None)

    def http(self) -> Any:
        response = self.client.post(self.path, data=self.raw, content_type="application/json")
        if response.status_code != 200:
            raise RuntimeError(f"{self.path} answered {response.status_code}: {response.data!r}")
        return response


def scaling(
    sizes: Iterable[int] = bench_requests.SCALING_SIZES,
    *,
    hook: str = "patient-view",
    budget_s: float = 1.0,
    app: Any = None,
) -> list[dict[str, Any]]:
    """Evaluation and in-process HTTP time of one ``hook`` request for each prefetch size."""
    app = app or make_app()
    points = []
    for n in sizes:
        caller = Caller(app, hook, n)
        outcome = caller.evaluate()
        parse = time_calls(lambda c=caller: json.loads(c.raw), budget_s=budget_s / 4)
        points.append(
            {
                "observations": n,
                "body_bytes": len(caller.raw),
                "cards": len(outcome.response["cards"]),
                "rule_ids": list(outcome.rule_ids),
                "evaluate": time_calls(caller.evaluate, budget_s=budget_s),
                "http": time_calls(caller.http, budget_s=budget_s),
                "json_parse": parse,
            }
        )
    return points


def growth(points: list[dict[str, Any]], key: str = "evaluate") -> dict[str, Any]:
    """Log-log slopes between consecutive sizes (1.0 is linear) and microseconds per Observation."""
    slopes = {}
    for a, b in zip(points, points[1:], strict=False):
        ta, tb = a[key]["median_ms"], b[key]["median_ms"]
        na, nb = a["observations"], b["observations"]
        if ta > 0 and tb > 0:
            slopes[f"{na}->{nb}"] = round(math.log(tb / ta) / math.log(nb / na), 3)
    last = points[-1] if points else None
    per_obs = round(last[key]["median_ms"] * 1000 / last["observations"], 3) if last else None
    return {"slopes": slopes, "us_per_observation_at_largest": per_obs}


COLD_START_SCRIPT = """
import json, sys, time
t0 = time.perf_counter()
from bench.requests import NOW, encoded
from cds_service import create_app
t1 = time.perf_counter()
app = create_app({"require_auth": False, "clock": lambda: NOW})
t2 = time.perf_counter()
r = app.test_client().post(
    "/cds-services/rls-order-select", data=encoded("order-select", 50),
    content_type="application/json",
)
t3 = time.perf_counter()
assert r.status_code == 200, r.status_code
print(json.dumps({"import_s": t1 - t0, "create_app_s": t2 - t1, "first_request_s": t3 - t2,
                  "cards": len(r.get_json()["cards"])}))
"""


def cold_start(repeats: int = 3) -> dict[str, Any]:
    """Wall time of a fresh ``python -c`` that imports, builds the app and answers one request."""
    runs = []
    data_dir = tempfile.TemporaryDirectory(prefix="rls-cds-bench-data-")
    env = {**os.environ, "CDS_DATA_DIR": data_dir.name}
    for _ in range(repeats):
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", COLD_START_SCRIPT],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        wall = time.perf_counter() - start
        if done.returncode != 0:
            raise RuntimeError(f"cold start child failed: {done.stderr.strip()[-400:]}")
        parts = json.loads(done.stdout.strip().splitlines()[-1])
        runs.append({"wall_s": round(wall, 4), **{k: round(v, 4) for k, v in parts.items()}})
    data_dir.cleanup()
    walls = sorted(r["wall_s"] for r in runs)
    return {
        "median_wall_s": statistics.median(walls),
        "min_wall_s": walls[0],
        "runs": runs,
        "slowest_imports": import_costs(),
    }


def import_costs(top: int = 12) -> list[dict[str, Any]]:
    """``python -X importtime``: the packages that cost most to import (inclusive, may overlap)."""
    with tempfile.TemporaryDirectory(prefix="rls-cds-bench-data-") as data_dir:
        done = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", "import bench.app_fixed_clock"],
            cwd=REPO,
            env={**os.environ, "CDS_DATA_DIR": data_dir},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    # Lines come children first; a line at depth d adopts the pending lines at depth d + 1.
    # A package's cost is the inclusive time of every import into it from another package.
    by_package: dict[str, int] = {}
    pending: list[tuple[int, str, int]] = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or line.count("|") != 2:
            continue
        _self, cumulative, raw_name = line[12:].split("|")
        if not cumulative.strip().isdigit():
            continue
        depth = (len(raw_name) - len(raw_name.lstrip(" ")) - 1) // 2
        root = raw_name.strip().split(".")[0]
        children = [p for p in pending if p[0] == depth + 1]
        pending = [p for p in pending if p[0] != depth + 1]
        for _depth, child_root, child_us in children:
            if child_root != root:
                by_package[child_root] = by_package.get(child_root, 0) + child_us
        pending.append((depth, root, int(cumulative)))
    ranked = sorted(by_package.items(), key=lambda kv: -kv[1])[:top]
    return [{"package": name, "cumulative_ms": round(us / 1000, 1)} for name, us in ranked]


# Functions of the service whose inclusive time the profile reports (file suffix, function).
STAGES = (
    ("cds_service/api.py", "service_call", "whole view function"),
    ("cds_service/api.py", "read_json_body", "request body -> dict (JSON parse)"),
    ("cds_service/api.py", "json_response", "response -> JSON text"),
    ("cds_service/hook_call.py", "call_service", "call_service (everything after parsing)"),
    ("cds_service/protocol.py", "check_request", "JSON Schema request check"),
    ("cds_service/fhir/extract.py", "build_record", "prefetch -> PatientRecord"),
    ("cds_service/fhir/extract.py", "extract_drafts", "draftOrders -> drafts"),
    ("cds_service/fhir/resources.py", "invalid_reason", "fhir.resources validation"),
    ("cds_service/fhir/resources.py", "of", "ResourceIndex.of"),
    ("cds_service/fhir/labs.py", "analyte_of", "analyte lookup"),
    ("cds_service/fhir/labs.py", "lab_fact", "Observation -> LabFact"),
    ("cds_service/engine/evaluate.py", "evaluate", "guideline rules"),
    ("cds_service/cards/render.py", "render_card", "cards"),
)

# Where tottime is summed by package: first matching path fragment wins.
AREAS = (
    ("pydantic", "pydantic (fhir.resources validation)"),
    ("fhir/resources", "fhir.resources"),
    ("fhir_core", "fhir_core"),
    ("jsonschema", "jsonschema"),
    ("referencing", "jsonschema (referencing)"),
    ("json/", "stdlib json"),
    ("orjson", "orjson"),
    ("sqlalchemy", "sqlalchemy"),
    ("sqlite3", "sqlite3"),
    ("werkzeug", "werkzeug"),
    ("flask", "flask"),
    ("cds_service", "cds_service (own code)"),
)


def _area(filename: str) -> str:
    path = filename.replace("\\", "/")
    for fragment, name in AREAS:
        if fragment in path:
            return name
    if path.startswith(("~", "<")):
        return "builtins / C"
    return "other Python"


def _short(filename: str) -> str:
    path = filename.replace("\\", "/")
    for marker in ("site-packages/", "/work/main/", "lib/python3.11/"):
        if marker in path:
            return path.split(marker, 1)[1]
    return path


def profile(
    hook: str, n_observations: int, *, runs: int = 200, top: int = 15, app: Any = None
) -> dict[str, Any]:
    """cProfile of ``runs`` in-process HTTP calls: top functions by own time, areas, stages."""
    app = app or make_app()
    caller = Caller(app, hook, n_observations)
    caller.http()
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(runs):
        caller.http()
    profiler.disable()
    stats = pstats.Stats(profiler, stream=io.StringIO())
    raw: dict[tuple[str, int, str], tuple[Any, ...]] = stats.stats  # type: ignore[attr-defined]
    total = sum(v[2] for v in raw.values()) or 1e-12
    rows = sorted(raw.items(), key=lambda kv: kv[1][2], reverse=True)
    top_rows = [
        {
            "function": f"{_short(file)}:{line}:{name}" if line else name,
            "calls": v[1],
            "own_share": round(v[2] / total, 4),
            "cum_share": round(v[3] / total, 4),
            "own_us_per_request": round(v[2] / runs * 1e6, 1),
        }
        for (file, line, name), v in rows[:top]
    ]
    areas: dict[str, float] = {}
    for (file, _line, _name), v in raw.items():
        areas[_area(file)] = areas.get(_area(file), 0.0) + v[2]
    stages = []
    for suffix, func, meaning in STAGES:
        cum = sum(v[3] for (f, _l, n), v in raw.items() if n == func and f.endswith(suffix))
        stages.append(
            {
                "function": f"{suffix}:{func}",
                "meaning": meaning,
                "cum_share": round(cum / total, 4),
                "us_per_request": round(cum / runs * 1e6, 1),
            }
        )
    return {
        "request": f"{hook} with {n_observations} Observations (in-process test client)",
        "runs": runs,
        "profiled_ms_per_request": round(total / runs * 1000, 3),
        "top_own_time": top_rows,
        "areas_own_time": {
            k: round(v / total, 4) for k, v in sorted(areas.items(), key=lambda kv: -kv[1])
        },
        "stages_inclusive": stages,
    }
