"""rls-cds: the RLS CDS Hooks service. Serve it (production or quickstart), evaluate one request,
check a response against an EHR's constraints, report feedback per rule, and roll rules out
safely (firing-report, audit-export, replay, explain, triage)."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from cds_service.fhir.dates import parse_fhir_datetime

log = logging.getLogger("cds_service.cli")

PROFILE_CHOICES = ("spec", "epic", "oracle", "sandbox")  # cds_service.cards.profiles.PROFILES
GOVERNANCE_HELP = {
    "firing-report": "firing rate per rule, site and mode, with drift flags",
    "audit-export": "evaluation records as a FHIR R4 AuditEvent Bundle",
    "replay": "cards that change between two knowledge versions (exit 1 when any do)",
    "explain": "per card of a response (file or -), why it fired",
    "triage": "rules ranked by likely malfunction from override comments",
}
QUICKSTART_ENV = {
    "CDS_REQUIRE_AUTH": "false",
    "CDS_ENABLE_CONSOLE": "true",
    "CDS_FHIR_ALLOW_HTTP": "true",
    "CDS_STORE_FEEDBACK_COMMENTS": "true",  # a local trial: see what clinicians would write
}


def _preflight(env: dict[str, str]) -> str | None:
    """Build the app once here, before any worker: a configuration error is then one line and
    exit 2 instead of a traceback from every worker while the server restarts them or gives up
    (granian: "crash loop", exit 0); the store is migrated once; auth-off is warned once."""
    from cds_service.app import create_app
    from cds_service.errors import ConfigurationError
    from cds_service.security import AUTH_OFF_WARNED

    saved = dict(os.environ)
    os.environ.update(env)  # the server will run with ``env``: judge exactly that
    try:
        create_app()
    except (ConfigurationError, ValueError, OSError) as exc:  # OSError: a key file unreadable
        return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    finally:
        os.environ.clear()
        os.environ.update(saved)
    env[AUTH_OFF_WARNED] = "1"  # said once here (or by quickstart): not again per worker
    return None


def _serve(
    args: argparse.Namespace, extra_env: dict[str, str] | None = None, quiet: bool = False
) -> int:
    """Replace this process with the production server (CDS_SERVER: granian or gunicorn)."""
    env = dict(os.environ)
    env.update(extra_env or {})
    server = env.get("CDS_SERVER", "granian").strip().lower() or "granian"
    if server not in ("granian", "gunicorn"):
        raise SystemExit(f"CDS_SERVER must be gunicorn or granian, got {server!r}")
    problem = _preflight(env)
    if problem is not None:
        print(f"rls-cds: cannot start: {problem}", file=sys.stderr)
        return 2
    if server == "granian":
        from cds_service.granian_serve import granian_argv, prepare_metrics_dir

        prepare_metrics_dir(env)
        argv = granian_argv(args.host, args.port, args.workers, env)
        if quiet:  # the server's own lines at warning and above only
            argv[argv.index("--log-level") + 1] = "warning"
    else:
        argv = [
            sys.executable,
            "-m",
            "gunicorn",
            "--config",
            "python:cds_service.gunicorn_conf",
            "--bind",
            f"{args.host}:{args.port}",
        ]
        if args.workers:
            argv += ["--workers", str(args.workers)]
        argv += [*(("--log-level", "warning") if quiet else ()), "cds_service.wsgi:app"]
    sys.stdout.flush()
    os.execve(sys.executable, argv, env)
    return 0  # pragma: no cover - execve does not return


QUICKSTART_PAGES = (
    ("console", "/console", "try a fixture scenario or your own request"),
    ("review", "/review", "every rule with its recommendation, for a CDS committee"),
    ("analytics", "/analytics/feedback.html", "acceptance and override rates per rule"),
    ("discovery", "/cds-services", "the CDS Hooks discovery document to give an EHR"),
)


def _quickstart(args: argparse.Namespace) -> int:
    from cds_service.security import AUTH_OFF_WARNED

    print(
        "WARNING: quickstart mode - client authentication (JWT) is OFF, the console is ON and "
        "plain-http FHIR servers are allowed. Never expose this to a network you do not control.",
        file=sys.stderr,
    )
    host = "localhost" if args.host in ("127.0.0.1", "0.0.0.0", "::") else args.host
    base = f"http://{host}:{args.port}"
    print(f"rls-cds quickstart: {base}/")
    for name, path, what in QUICKSTART_PAGES:
        print(f"  {name:<10} {base}{path}  ({what})")
    env = {**QUICKSTART_ENV, AUTH_OFF_WARNED: "1"}  # warned just above, once
    # Only warnings and errors from the server itself: the addresses above are what to open.
    return _serve(args, env, quiet=True)


def _parse_now(text: str | None) -> datetime | None:
    if text is None:
        return None
    now = parse_fhir_datetime(text)
    if now is None:
        raise SystemExit(f"rls-cds evaluate: --now {text!r} is not an ISO date-time")
    return now


def _evaluate(args: argparse.Namespace) -> int:
    """Run one CDS request through the HTTP app (the same code path) and print the response."""

    try:
        raw = sys.stdin.read() if args.file == "-" else Path(args.file).read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or "not UTF-8 text"
        print(f"rls-cds evaluate: cannot read {args.file}: {reason}", file=sys.stderr)
        return 2
    # stdout carries only the response; evaluate must not touch the real feedback store, and
    # says nothing about server authentication (it serves no one)
    quiet = [logging.getLogger(name) for name in ("cds_service.access", "cds_service.security")]
    for logger in quiet:
        logger.disabled = True
    try:
        return _evaluate_quietly(args, raw)
    finally:
        for logger in quiet:
            logger.disabled = False


def _evaluate_quietly(args: argparse.Namespace, raw: str) -> int:
    from cds_service import create_app

    with tempfile.TemporaryDirectory(prefix="rls-cds-evaluate-") as scratch:
        overrides: dict[str, object] = {
            "require_auth": False,
            "data_dir": Path(scratch),
            "database_url": f"sqlite:///{scratch}/feedback.sqlite3",
        }
        now = _parse_now(args.now)
        if now is not None:
            overrides["clock"] = lambda: now
        if args.profile is not None:
            overrides["ehr_profile"] = args.profile
        app = create_app(overrides)
        service_id = args.service
        if service_id is None:
            try:
                hook = json.loads(raw).get("hook")
            except (ValueError, AttributeError):
                hook = None
            services = app.extensions["rls_cds"].services.values()
            service_id = next((s.id for s in services if s.hook == hook), "rls-patient-view")
        response = app.test_client().post(
            f"/cds-services/{service_id}",
            data=raw.encode("utf-8"),
            content_type="application/json",
        )
        body = response.get_json(silent=True)
        runtime = app.extensions["rls_cds"]
        runtime.issued.flush()
        runtime.governance.recorder.flush()  # before the scratch database goes
        runtime.store.close()
        if response.status_code != 200:
            issues = (body or {}).get("issue") or [{}]
            message = issues[0].get("diagnostics", response.status)
            print(f"rls-cds evaluate: {response.status_code}: {message}", file=sys.stderr)
            return 1
    print(json.dumps(body, indent=2))
    return 0


def _lint_response(args: argparse.Namespace) -> int:
    """List what the client of ``--profile`` would reject or ignore; 1 when anything is found."""
    from cds_service.cards.profiles import Profiles
    from cds_service.knowledge import load_knowledge

    try:
        raw = sys.stdin.read() if args.file == "-" else Path(args.file).read_text("utf-8")
        document = json.loads(raw)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        print(f"rls-cds lint-response: cannot read {args.file}: {reason}", file=sys.stderr)
        return 2
    try:  # the site's link allowlist is part of what the client accepts
        profiles = Profiles.build(load_knowledge(), os.environ.get("CDS_EHR_SITE_CODES", ""))
    except ValueError as exc:
        print(f"rls-cds lint-response: {exc}", file=sys.stderr)
        return 2
    findings = profiles.lint(document, args.profile)
    if args.json:
        print(json.dumps([f.as_json() for f in findings], indent=2))
    else:
        for finding in findings:
            print(finding.line())
        print(f"{len(findings)} finding(s) for profile {args.profile}")
    return 1 if findings else 0


def _feedback_report(argv: Sequence[str]) -> int:
    from cds_service.feedback.cli import feedback_report_main

    return feedback_report_main(list(argv))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rls-cds",
        description=__doc__,
        epilog="Run 'rls-cds COMMAND --help' for a command's options. Settings are environment "
        "variables (CDS_*), listed in the README.",
    )
    commands = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", title="commands"
    )
    for name, helptext in (
        ("serve", "run the production server (granian; CDS_SERVER=gunicorn for gunicorn)"),
        ("quickstart", "serve with auth OFF and the console ON, for local trials only"),
    ):
        cmd = commands.add_parser(name, help=helptext)
        cmd.add_argument(
            "--host",
            default=os.environ.get("CDS_HOST", "127.0.0.1"),
            help="address to listen on (default: CDS_HOST or 127.0.0.1)",
        )
        cmd.add_argument(
            "--port",
            type=int,
            default=int(os.environ.get("CDS_PORT", "8080")),
            help="port to listen on (default: CDS_PORT or 8080)",
        )
        cmd.add_argument(
            "--workers",
            type=int,
            default=None,
            help="worker processes (default: CDS_WORKERS or 2 x CPUs + 1)",
        )
    evaluate = commands.add_parser("evaluate", help="evaluate one CDS request (file or -)")
    evaluate.add_argument("file", help="a CDS Hooks request as JSON, or - for standard input")
    evaluate.add_argument("--service", help="service id (default: the one for the request's hook)")
    evaluate.add_argument("--now", help="evaluate as of this ISO date-time (default: now)")
    evaluate.add_argument(
        "--profile", choices=PROFILE_CHOICES, help="output profile: which EHR to answer for"
    )
    lint = commands.add_parser(
        "lint-response", help="what an EHR would reject or ignore in a response (file or -)"
    )
    lint.add_argument("file", help="a hook or discovery response as JSON, or - for standard input")
    lint.add_argument(
        "--profile", choices=PROFILE_CHOICES, required=True, help="the EHR whose rules to apply"
    )
    lint.add_argument("--json", action="store_true", help="print the findings as JSON")
    commands.add_parser(
        "feedback-report", help="acceptance and override rates per rule", add_help=False
    )
    for name, helptext in GOVERNANCE_HELP.items():  # cds_service.governance.cli
        commands.add_parser(name, help=helptext, add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["feedback-report"]:
        return _feedback_report(argv[1:])
    if argv[:1] and argv[0] in GOVERNANCE_HELP:
        from cds_service.governance.cli import governance_main

        return governance_main(argv)
    args = build_parser().parse_args(argv)
    handlers = {
        "serve": _serve,
        "quickstart": _quickstart,
        "evaluate": _evaluate,
        "lint-response": _lint_response,
    }
    return handlers[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
