"""Command line: print the per-rule feedback report (hooked up as ``rls-cds feedback-report``)."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path

from sqlalchemy import make_url

from cds_service.config import load_settings
from cds_service.database import DatabaseError, default_database_url
from cds_service.feedback.report import parse_window_bound, render_report_text, report_as_json
from cds_service.feedback.store import FeedbackStore


def _bound(text: str) -> datetime:
    try:
        return parse_window_bound(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 date or date-time: {text!r}") from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rls-cds feedback-report",
        description="Acceptance and override rates per rule from stored CDS Hooks feedback.",
    )
    settings = load_settings()  # the same defaults as the service itself
    default_url = settings.database_url or default_database_url(settings.data_dir)
    parser.add_argument(
        "--database-url",
        default=default_url,
        help="SQLAlchemy URL (default: $CDS_DATABASE_URL or $CDS_DATA_DIR/feedback.sqlite3)",
    )
    parser.add_argument("--since", type=_bound, help="first outcomeTimestamp included (UTC)")
    parser.add_argument("--until", type=_bound, help="first outcomeTimestamp excluded (UTC)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    return parser


def feedback_report_main(argv: list[str]) -> int:
    """Run the report command; returns the process exit status."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    if args.since and args.until and args.since >= args.until:
        print("error: --until must be later than --since", file=sys.stderr)
        return 2
    url = make_url(args.database_url)
    if url.get_backend_name() == "sqlite" and not Path(url.database or "").is_file():
        print(f"error: no feedback database at {url.database}", file=sys.stderr)
        return 1
    try:
        with FeedbackStore(args.database_url) as store:
            reports = store.report(args.since, args.until)
    except DatabaseError as error:
        print(f"error: cannot read feedback database: {error}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(report_as_json(reports, args.since, args.until), indent=2))
    else:
        sys.stdout.write(render_report_text(reports))
    return 0
