"""/metrics has samples by default: ``rls-cds serve`` and ``rls-cds quickstart`` run as the README
says, with PROMETHEUS_MULTIPROC_DIR unset and several workers (issue: it answered 0 bytes)."""

from __future__ import annotations

from pathlib import Path

import pytest

from .support import (
    free_port,
    http_get,
    metric_value,
    python_path_env,
    running,
    venv_executable,
    wait_for_http,
)


@pytest.mark.parametrize("command", ["serve", "quickstart"])
def test_metrics_are_summed_over_workers_without_any_setting(command: str, tmp_path: Path) -> None:
    exe = venv_executable("rls-cds")
    if exe is None:
        pytest.skip("rls-cds is not installed in this environment")
    env = python_path_env({"CDS_WORKERS": "3", "CDS_DATA_DIR": str(tmp_path / "var")})
    assert "PROMETHEUS_MULTIPROC_DIR" not in env
    if command == "serve":
        env["CDS_REQUIRE_AUTH"] = "false"
    port = free_port()
    with running([str(exe), command, "--port", str(port)], env, tmp_path) as proc:
        base = f"http://127.0.0.1:{port}"
        wait_for_http(f"{base}/healthz", proc)
        for _ in range(12):  # spread over the three workers by the kernel
            assert http_get(f"{base}/cds-services")[0] == 200
        status, body = http_get(f"{base}/metrics")
    text = body.decode()
    assert status == 200 and text.strip(), "/metrics answered nothing"
    served = metric_value(text, "cds_http_requests_total", 'service="-",status="200"')
    assert served is not None and served >= 12  # every worker's discovery calls, summed


def test_metrics_behind_a_bearer_token(tmp_path: Path) -> None:
    """CDS_METRICS_TOKEN keeps /metrics to the scraper that sends it (through rls-cds serve)."""
    import json
    import urllib.error
    import urllib.request

    exe = venv_executable("rls-cds")
    if exe is None:
        pytest.skip("rls-cds is not installed in this environment")
    env = python_path_env({
        "CDS_WORKERS": "2", "CDS_DATA_DIR": str(tmp_path / "var"), "CDS_REQUIRE_AUTH": "false",
        "CDS_METRICS_TOKEN": "s3cret-scraper-token",
    })
    port = free_port()

    def get(headers: dict[str, str]) -> tuple[int, str, str]:
        req = urllib.request.Request(f"http://127.0.0.1:{port}/metrics", headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=5) as response:
                return response.status, response.headers["Content-Type"], response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.headers["Content-Type"], exc.read().decode()

    with running([str(exe), "serve", "--port", str(port)], env, tmp_path) as proc:
        wait_for_http(f"http://127.0.0.1:{port}/healthz", proc)
        assert http_get(f"http://127.0.0.1:{port}/cds-services")[0] == 200
        none = get({})
        wrong = get({"Authorization": "Bearer guess"})
        right = get({"Authorization": "Bearer s3cret-scraper-token"})
    for status, content_type, body in (none, wrong):
        assert status == 401 and content_type == "application/json"
        assert json.loads(body)["issue"][0]["code"] == "login"
        assert "s3cret" not in body
    assert right[0] == 200
    assert metric_value(right[2], "cds_http_requests_total", 'service="-",status="200"')
