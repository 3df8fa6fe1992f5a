"""Report rendering (JSON, text, HTML) and the feedback-report command line."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cds_service.feedback import (
    FeedbackStore,
    ReasonCount,
    RuleReport,
    default_database_url,
    parse_window_bound,
    render_report_html,
    render_report_text,
    report_as_json,
    validate_feedback,
)
from cds_service.feedback.cli import feedback_report_main

EVIL = '<script>alert("x")</script>&'
REPORTS = [
    RuleReport(
        "rls-iron-check",
        issued=12,
        accepted=3,
        overridden=1,
        top_reasons=(ReasonCount("urn:r", "declined", "Patient declined", 1),),
        top_comments=(("too costly", 1),),
    ),
    RuleReport(
        EVIL,
        issued=None,
        accepted=0,
        overridden=2,
        top_reasons=(ReasonCount(None, EVIL, EVIL, 2),),
        top_comments=((EVIL, 2),),
    ),
    RuleReport(None, issued=None, accepted=0, overridden=0),
]


def test_report_json_omits_absent_values() -> None:
    out = report_as_json(REPORTS, since=datetime(2024, 5, 1, tzinfo=UTC))
    assert out["since"] == "2024-05-01T00:00:00Z" and "until" not in out
    first, second, unmatched = out["rules"]
    assert first == {
        "ruleId": "rls-iron-check",
        "issued": 12,
        "accepted": 3,
        "overridden": 1,
        "acceptanceRate": 0.75,
        "topOverrideReasons": [
            {"code": "declined", "count": 1, "system": "urn:r", "display": "Patient declined"}
        ],
        "topUserComments": [{"userComment": "too costly", "count": 1}],
    }
    assert "issued" not in second and second["acceptanceRate"] == 0.0
    assert unmatched == {"matched": False, "accepted": 0, "overridden": 0}
    assert "null" not in json.dumps(out)


def test_report_text_table() -> None:
    text = render_report_text(REPORTS)
    lines = text.splitlines()
    assert lines[0].split() == ["rule", "issued", "feedback", "accepted", "overridden",
                                "acceptance"]
    assert lines[2].split() == ["rls-iron-check", "12", "4", "3", "1", "75.0%"]
    assert lines[-1].startswith("issued: cards sent; feedback: cards with feedback; "
                                "acceptance: accepted / cards with feedback (not / cards issued)")
    assert "reason       1  declined (Patient declined)" in text
    assert "(no matching rule)" in text
    assert render_report_text([]).splitlines()[-2] == "(no feedback)"


def test_report_text_strips_control_characters() -> None:
    report = RuleReport("r\x1b[31m", None, 0, 1, top_comments=(("a\nb\x07c", 1),))
    text = render_report_text([report])
    assert "\x1b" not in text and "\x07" not in text and "a b c" in text


def test_report_html_escapes_text_and_draws_svg() -> None:
    page = render_report_html(REPORTS, until=datetime(2024, 6, 1, tzinfo=UTC))
    assert page.startswith("<!DOCTYPE html>")
    assert "<svg" in page and "</svg>" in page
    assert "<script" not in page.lower()
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;" in page
    assert page.count("<rect") >= 2 * len(REPORTS)
    assert "rls-iron-check" in page and "Patient declined" in page and "too costly" in page
    assert "until 2024-06-01 00:00:00Z" in page
    assert "<svg" in render_report_html([])


def test_parse_window_bound() -> None:
    assert parse_window_bound("2024-05-01") == datetime(2024, 5, 1, tzinfo=UTC)
    assert parse_window_bound("2024-05-01T02:00:00+02:00") == datetime(2024, 5, 1, tzinfo=UTC)
    assert parse_window_bound("2024-05-01T00:00:00Z") == datetime(2024, 5, 1, tzinfo=UTC)
    assert parse_window_bound("2024-05-01T00:00") == datetime(2024, 5, 1, tzinfo=UTC)
    for bad in ("", "May", "2024-13-01", "2024-05-01T25:00"):
        with pytest.raises(ValueError):
            parse_window_bound(bad)


@pytest.fixture
def sqlite_url(tmp_path: Path, make_item: Callable) -> str:
    url = default_database_url(tmp_path)
    body = {
        "feedback": [
            make_item("rls-iron-check", "accepted", "2024-05-02T00:00:00Z"),
            make_item("rls-iron-check", "overridden", "2024-04-02T00:00:00Z"),
        ]
    }
    with FeedbackStore(url) as store:
        store.migrate()
        store.record("svc", validate_feedback(body), ["rls-iron-check"])
    return url


def test_cli_prints_table_and_json(sqlite_url: str, capsys: pytest.CaptureFixture) -> None:
    assert feedback_report_main(["--database-url", sqlite_url]) == 0
    assert capsys.readouterr().out.splitlines()[2].split() == [
        "rls-iron-check",
        "-",
        "2",
        "1",
        "1",
        "50.0%",
    ]
    args = [
        "--database-url",
        sqlite_url,
        "--since",
        "2024-05-01",
        "--until",
        "2024-06-01",
        "--json",
    ]
    assert feedback_report_main(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["since"] == "2024-05-01T00:00:00Z"
    assert out["rules"] == [
        {"ruleId": "rls-iron-check", "accepted": 1, "overridden": 0, "acceptanceRate": 1.0}
    ]


def test_cli_errors(sqlite_url: str, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert feedback_report_main(["--database-url", sqlite_url, "--since", "soon"]) == 2
    assert "ISO 8601" in capsys.readouterr().err
    args = ["--database-url", sqlite_url, "--since", "2024-06-01", "--until", "2024-05-01"]
    assert feedback_report_main(args) == 2
    missing = default_database_url(tmp_path / "nowhere")
    assert feedback_report_main(["--database-url", missing]) == 1
    assert "no feedback database" in capsys.readouterr().err
    assert not (tmp_path / "nowhere").exists()
    assert feedback_report_main(["--help"]) == 0
