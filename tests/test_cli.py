"""The rls-cds command: evaluate runs the HTTP path; serve and quickstart exec granian (or
gunicorn when CDS_SERVER=gunicorn)."""

from __future__ import annotations

import io
import json
import sys

import pytest

from cds_service import cli
from tests.fhir_builders import observation, request


def _write(tmp_path, body) -> str:
    path = tmp_path / "request.json"
    path.write_text(body if isinstance(body, str) else json.dumps(body))
    return str(path)


def test_evaluate_prints_the_response(tmp_path, capsys) -> None:
    body = request("order-select", observations=[observation("f", "2276-4", 30, "ng/mL")])
    code = cli.main(["evaluate", _write(tmp_path, body), "--now", "2026-06-15T09:00:00Z"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert [c["source"]["topic"]["code"] for c in out["cards"]] == [
        "dopamine-agonist-against", "iv-iron-indicated", "alpha2delta-first-line"]


def test_evaluate_reads_stdin(monkeypatch, capsys) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps(request("patient-view"))))
    assert cli.main(["evaluate", "-", "--now", "2026-06-15"]) == 0
    cards = json.loads(capsys.readouterr().out)["cards"]
    assert [c["source"]["topic"]["code"] for c in cards] == ["iron-studies-needed"]


def test_evaluate_invalid_json(tmp_path, capsys) -> None:
    assert cli.main(["evaluate", _write(tmp_path, "{oops")]) == 1
    assert capsys.readouterr().err == (
        "rls-cds evaluate: 400: The request body is not valid JSON: the first error is at "
        "line 1, column 2\n")


def test_evaluate_invalid_request(tmp_path, capsys) -> None:
    body = request("order-select")
    del body["context"]["patientId"]
    assert cli.main(["evaluate", _write(tmp_path, body)]) == 1
    assert capsys.readouterr().err == "rls-cds evaluate: 400: context.patientId is required\n"


def test_evaluate_missing_file(tmp_path, capsys) -> None:
    assert cli.main(["evaluate", str(tmp_path / "nope.json")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_evaluate_bad_now(tmp_path) -> None:
    with pytest.raises(SystemExit, match="not an ISO date-time"):
        cli.main(["evaluate", _write(tmp_path, request()), "--now", "tomorrow"])


def test_serve_execs_gunicorn_when_asked(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("CDS_DATA_DIR", str(tmp_path))
    calls = []
    monkeypatch.setattr(cli.os, "execve", lambda exe, argv, env: calls.append((argv, env)))
    monkeypatch.setenv("CDS_SERVER", "gunicorn")
    monkeypatch.setenv("CDS_REQUIRE_AUTH", "false")
    cli.main(["serve", "--host", "0.0.0.0", "--port", "9000", "--workers", "3"])
    argv, env = calls[0]
    assert argv[1:] == ["-m", "gunicorn", "--config", "python:cds_service.gunicorn_conf",
                        "--bind", "0.0.0.0:9000", "--workers", "3", "cds_service.wsgi:app"]
    assert "CDS_REQUIRE_AUTH" not in env or env["CDS_REQUIRE_AUTH"] == __import__(
        "os").environ.get("CDS_REQUIRE_AUTH")


def test_quickstart_turns_auth_off_loudly(monkeypatch, capsys, tmp_path) -> None:
    monkeypatch.setenv("CDS_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("CDS_REQUIRE_AUTH", raising=False)
    calls = []
    monkeypatch.setattr(cli.os, "execve", lambda exe, argv, env: calls.append(env))
    cli.main(["quickstart"])
    env = calls[0]
    assert env["CDS_REQUIRE_AUTH"] == "false" and env["CDS_ENABLE_CONSOLE"] == "true"
    assert env["RLS_CDS_AUTH_OFF_WARNED"] == "1"  # the workers do not warn again
    out, err = capsys.readouterr()
    assert err.count("authentication (JWT) is OFF") == 1
    assert "CLIENT AUTHENTICATION IS OFF" not in err
    assert out.splitlines() == [
        "rls-cds quickstart: http://localhost:8080/",
        "  console    http://localhost:8080/console  (try a fixture scenario or your own request)",
        "  review     http://localhost:8080/review  (every rule with its recommendation, for a "
        "CDS committee)",
        "  analytics  http://localhost:8080/analytics/feedback.html  (acceptance and override "
        "rates per rule)",
        "  discovery  http://localhost:8080/cds-services  (the CDS Hooks discovery document to "
        "give an EHR)",
    ]
    assert "CDS_REQUIRE_AUTH" not in __import__("os").environ  # the preflight restored it


def test_a_configuration_error_is_one_line_and_exit_2(monkeypatch, capsys, tmp_path) -> None:
    monkeypatch.setenv("CDS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CDS_REQUIRE_AUTH", "maybe")
    monkeypatch.setattr(cli.os, "execve", lambda *a: pytest.fail("must not start the server"))
    assert cli.main(["serve"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == "rls-cds: cannot start: CDS_REQUIRE_AUTH must be true or false, not 'maybe'\n"


def test_evaluate_says_nothing_about_server_authentication(tmp_path, capsys) -> None:
    assert cli.main(["evaluate", _write(tmp_path, request()), "--now", "2026-06-15"]) == 0
    assert capsys.readouterr().err == ""


def test_every_option_has_help() -> None:
    parser = cli.build_parser()
    commands = parser._subparsers._group_actions[0].choices  # noqa: SLF001
    for name, command in commands.items():
        for action in command._actions:  # noqa: SLF001
            assert action.help, (name, action.dest)


def test_serve_execs_granian_by_default(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("CDS_REQUIRE_AUTH", "false")
    monkeypatch.setenv("CDS_DATA_DIR", str(tmp_path))
    calls = []
    monkeypatch.setattr(cli.os, "execve", lambda exe, argv, env: calls.append((argv, env)))
    metrics = tmp_path / "prom"
    metrics.mkdir()
    (metrics / "counter_99.db").write_bytes(b"stale")
    monkeypatch.delenv("CDS_SERVER", raising=False)
    monkeypatch.setenv("CDS_REQUIRE_AUTH", "false")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(metrics))
    monkeypatch.setenv("CDS_GRACEFUL_TIMEOUT", "12")
    monkeypatch.delenv("CDS_THREADS", raising=False)
    cli.main(["serve", "--host", "0.0.0.0", "--port", "9000", "--workers", "3"])
    argv, env = calls[0]
    # The ASGI front buffers each request before a thread sees it (slow clients hold no thread).
    assert argv[1:] == ["-m", "granian", "--interface", "asgi", "--host", "0.0.0.0",
                        "--port", "9000", "--workers", "3",
                        "--workers-kill-timeout", "12", "--respawn-failed-workers", "--no-ws",
                        "--log-level", "info", "cds_service.asgi:app"]
    assert env["PROMETHEUS_MULTIPROC_DIR"] == str(metrics)
    assert list(metrics.iterdir()) == [], "a previous run's samples are dropped"


def test_serve_refuses_an_unknown_server(monkeypatch) -> None:
    monkeypatch.setattr(cli.os, "execve", lambda exe, argv, env: None)
    monkeypatch.setenv("CDS_SERVER", "uwsgi")
    with pytest.raises(SystemExit, match="CDS_SERVER must be gunicorn or granian, got 'uwsgi'"):
        cli.main(["serve"])
