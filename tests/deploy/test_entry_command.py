"""The image's command, ``rls-cds serve ...``, run here as the container would run it.

There is no Docker engine on the test machines, so the test takes ENTRYPOINT + CMD and ENV from
the Dockerfile's final stage and runs that exact command from the repository (which is what the
image holds at /app), on a free port. Only what the container provides differently is changed:
this virtualenv stands in for /opt/venv, and the writable paths point into a temporary directory.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from .support import (
    REPO,
    dockerfile_stages,
    env_instructions,
    exec_form,
    free_port,
    http_get,
    running,
    tool_missing,
    venv_executable,
    wait_for_http,
)

CLI_MODULE = REPO / "cds_service" / "cli.py"


def container_command(port: int) -> list[str]:
    """ENTRYPOINT + CMD of the final stage, with the published port replaced by ``port``."""
    final = dockerfile_stages()[-1]
    argv = exec_form(final.last("ENTRYPOINT") or "[]") + exec_form(final.last("CMD") or "[]")
    argv[argv.index("--port") + 1] = str(port)
    return argv


def container_env(tmp_path: Path) -> dict[str, str]:
    """The process environment plus the Dockerfile's ENV, re-pointed where the host differs."""
    env = dict(os.environ)
    env.update(env_instructions(dockerfile_stages()[-1]))
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    env["PROMETHEUS_MULTIPROC_DIR"] = str(tmp_path / "prometheus")
    env["CDS_DATA_DIR"] = str(tmp_path / "var")  # the image's /app/var
    # A deployment always sets these; the image ships no trusted issuer of its own.
    env["CDS_REQUIRE_AUTH"] = "false"
    env["CDS_WORKERS"] = "2"
    env.pop("CDS_DATABASE_URL", None)
    env.pop("CDS_REDIS_URL", None)
    return env


@pytest.mark.skipif(not CLI_MODULE.exists(), reason="cds_service/cli.py (rls-cds) not written yet")
def test_container_command_serves_healthz_and_stops_cleanly(tmp_path: Path) -> None:
    if venv_executable("rls-cds") is None:
        tool_missing("rls-cds", "the project is not installed in this virtualenv")

    port = free_port()
    env = container_env(tmp_path)
    healthcheck = dockerfile_stages()[-1].last("HEALTHCHECK") or ""
    probe = [arg.replace(":8080/", f":{port}/") for arg in exec_form(healthcheck.split("CMD ")[1])]

    with running(container_command(port), env, REPO) as proc:
        wait_for_http(f"http://127.0.0.1:{port}/healthz", proc, timeout=60)
        assert http_get(f"http://127.0.0.1:{port}/healthz")[0] == 200
        # The image's HEALTHCHECK command, as Docker would run it, passes against it.
        check = subprocess.run(probe, env=env, cwd=REPO, capture_output=True, timeout=10)
        assert check.returncode == 0, check.stderr
        status, body = http_get(f"http://127.0.0.1:{port}/metrics")
        assert status == 200 and b"cds_http_requests_total" in body
        proc.send_signal(signal.SIGTERM)
        exit_code = proc.wait(timeout=45)
        log = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
    assert exit_code == 0, log
    # Down, the same HEALTHCHECK command fails, so Docker would mark the container unhealthy.
    check = subprocess.run(probe, env=env, cwd=REPO, capture_output=True, timeout=10)
    assert check.returncode != 0
