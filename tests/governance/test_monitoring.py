"""Firing-rate monitoring: rates per 100 evaluations, drift against the baseline, feedback,
the HTML chart and the CLI."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from cds_service.cards.card_ids import new_card_uuid
from cds_service.cli import main
from cds_service.feedback import FeedbackStore, validate_feedback
from cds_service.governance.monitoring import drifted, firing_report
from cds_service.governance.monitoring_html import render_firing_html
from cds_service.governance.records import Evaluation, write_evaluations

UNTIL = datetime(2026, 6, 29, tzinfo=UTC)  # window: 22-28 June; baseline: 25 May - 21 June
RULE, QUIET = "iv-iron-indicated", "levodopa-against"


def _ev(at, site="A", active=(), silent=()):
    return Evaluation(site, "order-select", "rls-order-select", "v", "0" * 64, "", "f" * 64,
                      tuple(active), tuple(silent), at=at)


@pytest.fixture
def url(database_url, database):
    url = database_url
    with FeedbackStore(url) as store:
        store.migrate()
        body = {"feedback": [
            {"card": new_card_uuid(RULE), "outcome": o, "outcomeTimestamp": "2026-06-25T10:00:00Z",
             **({"acceptedSuggestions": [{"id": "x"}]} if o == "accepted" else {})}
            for o in ("accepted", "accepted", "accepted", "overridden")
        ]}
        store.record("rls-order-select", validate_feedback(body), [RULE, QUIET])
    batch = []
    for day in range(35):
        at = UNTIL - timedelta(days=35 - day) + timedelta(hours=9)
        in_window = at >= UNTIL - timedelta(days=7)
        fires = 20 if in_window else 5  # RULE: 5 per 100 in the baseline, 20 in the window
        for n in range(100):
            batch.append(_ev(at, active=(RULE,) if n < fires else (),
                             silent=(QUIET,) if n < 10 else ()))
        batch.append(_ev(at, site="B", active=(RULE,)))  # B: 1 evaluation a day, always fires
    write_evaluations(database, batch)
    return url


def test_rates_drift_and_feedback(url, engine):
    report = firing_report(engine, UNTIL, window_days=7, baseline_days=28,
                           drift_factor=2.0)
    rates = {(r.rule_id, r.site, r.mode): r for r in report.rates}
    assert sorted(rates) == [(RULE, "A", "active"), (RULE, "B", "active"), (QUIET, "A", "silent")]
    a = rates[(RULE, "A", "active")]
    assert (a.window_fired, a.window_evaluations, a.baseline_fired, a.baseline_evaluations) == (
        140, 700, 140, 2800)
    assert (a.window_rate, a.baseline_rate, a.drift) == (20.0, 5.0, True)
    assert (a.accepted, a.overridden) == (3, 1)
    quiet = rates[(QUIET, "A", "silent")]
    assert (quiet.window_rate, quiet.baseline_rate, quiet.drift) == (10.0, 10.0, False)
    assert rates[(RULE, "B", "active")].drift is False
    assert dict(report.evaluations) == {"A": 3500, "B": 35}
    body = report.as_json()
    assert body["rules"][0]["feedback"] == {"accepted": 3, "overridden": 1,
                                            "acceptance_rate": 0.75}
    assert body["rules"][0]["daily_per_100"][-2:] == [["2026-06-28", 20.0], ["2026-06-29", None]]


def test_drift_rule():
    assert drifted(10.0, 5.0, 2.0) and drifted(2.5, 5.0, 2.0) and drifted(1.0, 0.0, 2.0)
    assert not drifted(9.9, 5.0, 2.0) and not drifted(2.6, 5.0, 2.0)
    assert not drifted(None, 5.0, 2.0) and not drifted(0.0, 0.0, 2.0)


def test_html_chart(url, engine):
    report = firing_report(engine, UNTIL)
    page = render_firing_html(report)
    row = page.split(f'<tr data-rule="{RULE}" data-mode="active">', 1)[1].split("</tr>", 1)[0]
    assert "<svg" in row and "#D55E00" in row and '<span class="drift">DRIFT</span>' in row
    assert '<td class="n">20.0</td><td class="n">5.0</td>' in row
    assert '<td class="n">75% of 4</td>' in row
    assert "Evaluations per site: A: 3500, B: 35" in page


def test_cli_firing_report_exits_1_on_drift(url, capsys):
    assert main(["firing-report", "--database-url", url, "--until", "2026-06-29"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split() == [RULE, "A", "active", "20.0", "5.0", "DRIFT"]
    assert main(["firing-report", "--database-url", url, "--until", "2026-06-29",
                 "--drift-factor", "5", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["drift_factor"] == 5.0


def test_cli_audit_export_validates(url, capsys):
    assert main(["audit-export", "--database-url", url, "--site", "B",
                 "--since", "2026-06-28"]) == 0
    bundle = json.loads(capsys.readouterr().out)
    assert [e["resource"]["recorded"] for e in bundle["entry"]] == ["2026-06-28T09:00:00Z"]


def test_cli_missing_database(tmp_path, capsys):  # SQLite only: a file that is not there
    assert main(["audit-export", "--database-url", f"sqlite:///{tmp_path}/none.db"]) == 2
    assert "error: no database at" in capsys.readouterr().err
