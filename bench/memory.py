"""Resident memory per worker and cold start: the issue's two start-up and footprint targets.

    .venv/bin/python -m bench.memory                       # both, both servers (about 2 minutes)
    .venv/bin/python -m bench.memory rss --servers granian --requests 1000
    .venv/bin/python -m bench.memory cold --runs 7

``rss`` starts ``rls-cds serve`` as shipped (``CDS_SERVER`` granian, then gunicorn; 2 workers,
loopback, a scratch data directory), with client authentication on (the default: a trusted
issuer with a JWK Set file, one freshly signed ES384 token a request) and then off
(``--auth``), sends the realistic order-select (``bench/requests.py``, 50 Observations) that
many times, one at a time, for one patient and then for a new patient each time
(``--patients``: every resource new, so the bounded caches fill), then prints VmRSS of each
worker from /proc (target: at most 80 MB). ``cold`` runs fresh interpreters that import the
service, build the app and answer one order-select in process (``bench.inprocess``'s script),
and prints the median wall and CPU seconds of the whole child (target: at most 1.0 s).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.inprocess import COLD_START_SCRIPT
from bench.requests import SERVICE_OF_HOOK, encoded
from bench.servers import HOST, descendants, free_port, memory_mb, post, stop_group

REPO = Path(__file__).resolve().parents[1]
RSS_LIMIT_MB = 80.0
COLD_LIMIT_S = 1.0


def _wait_for(
    url: str, body: bytes, process: subprocess.Popen[bytes], timeout: float, pause: float = 0.05,
    signer: _Signer | None = None,
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
        try:
            status, _ = post(url, body, headers=signer.headers(url) if signer else None)
        except OSError:
            time.sleep(pause)
            continue
        if status == 200:
            return
        raise RuntimeError(f"the server answered {status}")
    raise RuntimeError(f"no answer within {timeout} s")


def served_start(server: str, workers: int = 2) -> float:
    """Seconds from starting ``rls-cds serve`` (fresh data directory) to its first answered
    order-select: the cold start a deployment sees, server and worker start-up included."""
    port = free_port()
    body = encoded("order-select", 50)
    url = f"http://{HOST}:{port}/cds-services/{SERVICE_OF_HOOK['order-select']}"
    with tempfile.TemporaryDirectory(prefix="rls-cds-memory-") as data_dir:
        env = {**os.environ, "CDS_SERVER": server, "CDS_REQUIRE_AUTH": "false",
               "CDS_DATA_DIR": data_dir, "CDS_WORKERS": str(workers)}
        command = [str(Path(sys.executable).with_name("rls-cds")), "serve", "--host", HOST,
                   "--port", str(port), "--workers", str(workers)]
        start = time.perf_counter()
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            _wait_for(url, body, process, timeout=60, pause=0.01)
            return time.perf_counter() - start
        finally:
            stop_group(process)


class _Signer:
    """A trusted issuer of the bench's own (an ES384 key and its JWK Set file), signing one
    fresh token per request: authentication on, as ``rls-cds serve`` ships, costs the worker
    cryptography and the replay cache (PyJWT signs here, in the bench, only)."""

    ISS = "https://ehr.bench.example"

    def __init__(self, directory: Path) -> None:
        import jwt
        from cryptography.hazmat.primitives.asymmetric import ec

        self._jwt = jwt
        self._key = ec.generate_private_key(ec.SECP384R1())
        jwk = jwt.algorithms.ECAlgorithm.to_jwk(self._key.public_key(), as_dict=True)
        self.jwks_file = directory / "jwks.json"
        self.jwks_file.write_text(json.dumps({"keys": [{**jwk, "kid": "bench"}]}))

    def env(self) -> dict[str, str]:
        return {"CDS_REQUIRE_AUTH": "true",
                "CDS_TRUSTED_ISSUERS": json.dumps({self.ISS: {"jwks_file": str(self.jwks_file)}})}

    def headers(self, audience: str) -> dict[str, str]:
        now = int(time.time())
        claims = {"iss": self.ISS, "aud": audience, "iat": now, "exp": now + 300,
                  "jti": os.urandom(12).hex()}
        token = self._jwt.encode(claims, self._key, algorithm="ES384", headers={"kid": "bench"})
        return {"Authorization": f"Bearer {token}"}


def _new_patient(body: bytes, number: int) -> bytes:
    """``body`` as another patient's: every id and reference (all start "bench-") renamed, so
    each resource is new to the worker's caches, as in a day of different patients."""
    return body.replace(b'"bench-', b'"p%06d-' % number).replace(b"/bench-", b"/p%06d-" % number)


def worker_rss(
    server: str, requests: int, workers: int = 2, auth: bool = True, new_patients: bool = False
) -> dict[str, Any]:
    """VmRSS (MB) of each worker of ``rls-cds serve`` after ``requests`` order-selects, with
    client authentication on (the shipped default) or off, for one patient again and again or
    a new patient each request (``new_patients``: the caches fill to their bounds)."""
    port = free_port()
    body = encoded("order-select", 50)
    url = f"http://{HOST}:{port}/cds-services/{SERVICE_OF_HOOK['order-select']}"
    with tempfile.TemporaryDirectory(prefix="rls-cds-memory-") as data_dir:
        signer = _Signer(Path(data_dir)) if auth else None
        env = {**os.environ, "CDS_SERVER": server, "CDS_REQUIRE_AUTH": "false",
               "CDS_DATA_DIR": data_dir, "CDS_WORKERS": str(workers),
               **(signer.env() if signer else {})}
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        command = [str(Path(sys.executable).with_name("rls-cds")), "serve", "--host", HOST,
                   "--port", str(port), "--workers", str(workers)]
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            _wait_for(url, body, process, timeout=60, signer=signer)
            for number in range(1, requests):
                sent = _new_patient(body, number) if new_patients else body
                status, _ = post(url, sent, headers=signer.headers(url) if signer else None)
                assert status == 200, status
            procs = [(pid, memory_mb(pid)) for pid in descendants(process.pid)]
            # workers: the largest descendants (a server may add small helper processes)
            largest = sorted((m for _, m in procs if m), key=lambda m: -m["rss_mb"])[:workers]
            sizes = [m["rss_mb"] for m in largest]
            master = memory_mb(process.pid) or {"rss_mb": 0.0}
        finally:
            stop_group(process)
    return {"server": server, "auth": auth, "new_patients": new_patients,
            "requests": requests, "worker_rss_mb": sizes,
            "worker_pss_mb": [m.get("pss_mb") for m in largest],
            "worker_uss_mb": [m.get("uss_mb") for m in largest],
            "master_rss_mb": master["rss_mb"], "pass": max(sizes) <= RSS_LIMIT_MB}


def cold_start(runs: int) -> dict[str, Any]:
    """Median wall and CPU seconds of a fresh process: import, create_app, first answer."""
    walls, cpus, parts = [], [], []
    for _ in range(runs):
        # A fresh data directory each time: the first start of a new container, which also
        # creates and migrates the SQLite database (a restart, which skips that, is faster).
        with tempfile.TemporaryDirectory(prefix="rls-cds-memory-") as data_dir:
            env = {**os.environ, "CDS_DATA_DIR": data_dir}
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            done = subprocess.run([sys.executable, "-c", COLD_START_SCRIPT], cwd=REPO, env=env,
                                  capture_output=True, text=True, timeout=120, check=True)
            walls.append(time.perf_counter() - start)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
            parts.append(json.loads(done.stdout.strip().splitlines()[-1]))
    median_wall, median_cpu = statistics.median(walls), statistics.median(cpus)
    return {
        "runs": runs,
        "median_wall_s": round(median_wall, 3),
        "median_cpu_s": round(median_cpu, 3),
        "median_import_s": round(statistics.median(p["import_s"] for p in parts), 3),
        "median_create_app_s": round(statistics.median(p["create_app_s"] for p in parts), 3),
        "median_first_request_s": round(statistics.median(p["first_request_s"] for p in parts), 3),
        "pass": median_wall <= COLD_LIMIT_S,
    }


def served_starts(servers: list[str], runs: int) -> list[dict[str, Any]]:
    rows = []
    for server in servers:
        seconds = [served_start(server) for _ in range(runs)]
        median = statistics.median(seconds)
        rows.append({"server": server, "runs": runs, "median_s": round(median, 3),
                     "pass": median <= COLD_LIMIT_S})
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("what", nargs="?", choices=("all", "rss", "cold"), default="all")
    parser.add_argument("--servers", default="granian,gunicorn")
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--auth", choices=("on", "off", "both"), default="both",
                        help="client authentication in the rss run (on is the shipped default)")
    parser.add_argument("--patients", choices=("one", "new", "both"), default="both",
                        help="rss run: the same patient each request, or a new one each")
    parser.add_argument("--runs", type=int, default=5, help="fresh processes for cold start")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    out: dict[str, Any] = {}
    if args.what in ("all", "rss"):
        out["rss"] = []
        auths = {"on": [True], "off": [False], "both": [True, False]}[args.auth]
        news = {"one": [False], "new": [True], "both": [False, True]}[args.patients]
        runs = [(s, a, n) for s in args.servers.split(",") for a in auths for n in news]
        for server, auth, new in runs:
            row = worker_rss(server, args.requests, auth=auth, new_patients=new)
            out["rss"].append(row)
            sizes = ", ".join(f"{mb:.1f}" for mb in row["worker_rss_mb"])
            print(f"{server:9} auth {'on ' if auth else 'off'} after {row['requests']} "
                  f"order-selects ({'a new patient each' if new else 'one patient'}): "
                  f"workers {sizes} MB (PSS {', '.join(map(str, row['worker_pss_mb']))}, USS "
                  f"{', '.join(map(str, row['worker_uss_mb']))}) "
                  f"(limit {RSS_LIMIT_MB:.0f}) {'PASS' if row['pass'] else 'FAIL'}", flush=True)
    if args.what in ("all", "cold"):
        cold = out["cold"] = cold_start(args.runs)
        print(f"cold start, median of {cold['runs']}: wall {cold['median_wall_s']:.3f} s, "
              f"CPU {cold['median_cpu_s']:.3f} s (import {cold['median_import_s']:.3f}, "
              f"create_app {cold['median_create_app_s']:.3f}, first request "
              f"{cold['median_first_request_s']:.3f}; limit {COLD_LIMIT_S:.1f} s wall) "
              f"{'PASS' if cold['pass'] else 'FAIL'}")
        out["served_start"] = served_starts(args.servers.split(","), args.runs)
        for row in out["served_start"]:
            print(f"{row['server']:9} rls-cds serve to first answer, median of {row['runs']}: "
                  f"{row['median_s']:.3f} s (limit {COLD_LIMIT_S:.1f} s) "
                  f"{'PASS' if row['pass'] else 'FAIL'}", flush=True)
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
