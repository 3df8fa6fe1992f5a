"""Command line of the governance area: ``rls-cds firing-report``, ``audit-export``,
``replay`` and ``explain`` (dispatched from ``cds_service.cli``)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from cds_service.config import load_settings
from cds_service.database import default_database_url
from cds_service.feedback.report import parse_window_bound


def _bound(text: str) -> datetime:
    try:
        return parse_window_bound(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 date or date-time: {text!r}") from None


def _database(parser: argparse.ArgumentParser) -> None:
    settings = load_settings()
    parser.add_argument(
        "--database-url", default=settings.database_url or default_database_url(settings.data_dir),
        help="SQLAlchemy URL (default: $CDS_DATABASE_URL or $CDS_DATA_DIR/feedback.sqlite3)",
    )


def _engine(url: str):  # noqa: ANN202 - an Engine, after checking a SQLite file exists
    from sqlalchemy import make_url

    from cds_service.feedback.engine import database_engine

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and not Path(parsed.database or "").is_file():
        raise SystemExit(f"error: no database at {parsed.database}")
    return database_engine(url)


def firing_report_main(argv: list[str]) -> int:
    """Firing rates per rule, site and mode with drift flags; exit 1 when any rule drifted."""
    from cds_service.governance.monitoring import firing_report
    from cds_service.governance.site_config import MONITORING_DEFAULTS, load_site_config
    from cds_service.knowledge import load_knowledge

    parser = argparse.ArgumentParser(prog="rls-cds firing-report", description=__doc__)
    _database(parser)
    parser.add_argument("--until", type=_bound, help="end of the monitored period (default now)")
    for key in MONITORING_DEFAULTS:
        parser.add_argument("--" + key.replace("_", "-"), type=float, default=None,
                            help=f"default: the site file's monitoring.{key}")
    parser.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args(argv)
    monitoring = dict(load_site_config(load_settings().site_config,
                                       load_knowledge().rules).monitoring)
    monitoring.update({k: getattr(args, k) for k in MONITORING_DEFAULTS
                       if getattr(args, k) is not None})
    engine = _engine(args.database_url)
    try:
        report = firing_report(engine, args.until, **monitoring)
    finally:
        engine.dispose()
    if args.json:
        print(json.dumps(report.as_json(), indent=2))
    else:
        print(f"{'rule':<28} {'site':<32} {'mode':<6} {'win/100':>8} {'base/100':>8}  drift")
        for r in report.rates:
            win = "-" if r.window_rate is None else f"{r.window_rate:.1f}"
            base = "-" if r.baseline_rate is None else f"{r.baseline_rate:.1f}"
            print(f"{r.rule_id:<28} {r.site:<32} {r.mode:<6} {win:>8} {base:>8}  "
                  f"{'DRIFT' if r.drift else 'ok'}")
        print(f"evaluations per site: {json.dumps(dict(report.evaluations))}")
    return 1 if any(r.drift for r in report.rates) else 0


def audit_export_main(argv: list[str]) -> int:
    """Evaluation records as one FHIR R4 Bundle of AuditEvents (validated before printing)."""
    from cds_service.governance.audit import audit_bundle, validate_bundle

    parser = argparse.ArgumentParser(prog="rls-cds audit-export", description=__doc__)
    _database(parser)
    parser.add_argument("--since", type=_bound)
    parser.add_argument("--until", type=_bound)
    parser.add_argument("--site", help="only this site (issuer or CDS_SITE_ID)")
    args = parser.parse_args(argv)
    engine = _engine(args.database_url)
    try:
        bundle = audit_bundle(engine, args.since, args.until, args.site)
    finally:
        engine.dispose()
    validate_bundle(bundle)
    print(json.dumps(bundle, indent=2))
    return 0


def replay_main(argv: list[str]) -> int:
    """Cards that appear, disappear or change between two knowledge versions; 1 on any change."""
    from cds_service.governance.replay import DEFAULT_REQUESTS, replay_sources
    from cds_service.governance.replay_report import render_html, render_text

    parser = argparse.ArgumentParser(prog="rls-cds replay", description=replay_main.__doc__)
    parser.add_argument("--from", dest="old", required=True,
                        help="knowledge directory or git revision (of cds_service/knowledge)")
    parser.add_argument("--to", dest="new", required=True, help="likewise")
    parser.add_argument("requests", nargs="*",
                        help=f"request files or folders (default: {DEFAULT_REQUESTS})")
    parser.add_argument("--now", type=_bound, help="clock for requests without expected.json")
    parser.add_argument("--html", type=Path, help="also write an HTML report here")
    parser.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args(argv)
    try:
        result = replay_sources(args.old, args.new, args.requests, load_settings(), args.now)
    except (ValueError, OSError) as exc:
        raise SystemExit(f"rls-cds replay: {exc}") from None
    print(json.dumps(result.as_json(), indent=2) if args.json else render_text(result))
    if args.html:
        args.html.write_text(render_html(result), "utf-8")
    if result.errors:
        return 2
    return 1 if result.changes else 0


def explain_main(argv: list[str]) -> int:
    """Per card of a CDS Hooks response (file or -), why it fired (its provenance)."""
    from cds_service.governance.explain import explain
    from cds_service.governance.stamp import knowledge_stamp
    from cds_service.knowledge import load_knowledge

    parser = argparse.ArgumentParser(prog="rls-cds explain", description=explain_main.__doc__)
    parser.add_argument("file")
    args = parser.parse_args(argv)
    try:
        raw = sys.stdin.read() if args.file == "-" else Path(args.file).read_text("utf-8")
        knowledge = load_knowledge()
        print("\n".join(explain(json.loads(raw), knowledge, knowledge_stamp(knowledge))))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise SystemExit(f"rls-cds explain: {args.file}: {reason}") from None
    return 0


def triage_main(argv: list[str]) -> int:
    """Rules ranked by likely malfunction: override rate and complaining override comments."""
    from cds_service.governance.triage import triage

    parser = argparse.ArgumentParser(prog="rls-cds triage", description=triage_main.__doc__)
    _database(parser)
    parser.add_argument("--since", type=_bound)
    parser.add_argument("--until", type=_bound)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    engine = _engine(args.database_url)
    try:
        ranked = triage(engine, args.since, args.until)
    finally:
        engine.dispose()
    if args.json:
        print(json.dumps([r.as_json() for r in ranked], indent=2))
        return 0
    for r in ranked:
        print(f"{r.score:4.2f}  {r.rule_id or '(no rule)'}: {r.overridden} of "
              f"{r.accepted + r.overridden} overridden, {r.complaint_share:.0%} complaining")
        for text, n, words in r.comments:
            flag = f" [{', '.join(words)}]" if words else ""
            print(f"        {n} x {text!r}{flag}")
    return 0


COMMANDS: dict[str, Callable[[list[str]], int]] = {
    "firing-report": firing_report_main,
    "audit-export": audit_export_main,
    "replay": replay_main,
    "explain": explain_main,
    "triage": triage_main,
}


def governance_main(argv: list[str]) -> int:
    """Run ``argv[0]`` (one of COMMANDS) with the rest of ``argv``."""
    try:
        return COMMANDS[argv[0]](argv[1:])
    except SystemExit as exit_:
        if isinstance(exit_.code, str):
            print(exit_.code, file=sys.stderr)
            return 2
        return int(exit_.code or 0)
