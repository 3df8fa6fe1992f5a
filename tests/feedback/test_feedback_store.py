"""F2 storage on SQLite and PostgreSQL: migrations, idempotency, report math and windows."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from cds_service.cards.card_ids import new_card_uuid
from cds_service.feedback import (
    FeedbackStore,
    RuleReport,
    default_database_url,
    validate_feedback,
)
from cds_service.feedback.tables import feedback_items

R1, R2, R3 = "rls-iron-check", "rls-dopamine-augmentation", "rls-gabapentinoid-first"
RULES = [R1, R2, R3]


def _items(*raw: dict) -> list:
    return validate_feedback({"feedback": list(raw)})


def _by_rule(reports: list[RuleReport]) -> dict[str | None, RuleReport]:
    return {report.rule_id: report for report in reports}


def test_migrate_is_repeatable_and_ping_answers(store: FeedbackStore) -> None:
    store.migrate()
    assert store.ping() is True
    assert store.report() == []


def test_ping_is_false_when_the_database_is_unreachable() -> None:
    with FeedbackStore("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2") as store:
        assert store.ping() is False


def test_unsupported_backend_is_rejected() -> None:
    with pytest.raises(ValueError, match="unsupported"):
        FeedbackStore("mysql://localhost/x")


def test_sqlite_uses_wal_busy_timeout_and_a_file(tmp_path: Path) -> None:
    with FeedbackStore(default_database_url(tmp_path / "new" / "dir")) as store:
        store.migrate()
        with store._db.transaction() as tx:  # white-box: the connection pragmas
            assert tx.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            assert tx.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000
            assert tx.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert (tmp_path / "new" / "dir" / "feedback.sqlite3").is_file()
    for url in ("sqlite://", "sqlite:///:memory:"):
        with pytest.raises(ValueError, match="file"):
            FeedbackStore(url)


def test_f2_same_item_twice_is_stored_once(store: FeedbackStore, make_item: Callable) -> None:
    item = make_item(R1, "overridden", overrideReason={"userComment": "again"})
    other = make_item(R1, "accepted")
    assert store.record("svc", _items(item, other), RULES) == 2
    assert store.record("svc", _items(item), RULES) == 0
    assert store.record("svc", _items(other, item, other), RULES) == 0
    same_instant = dict(item, outcomeTimestamp="2024-05-01T14:00:00.000+02:00")
    assert store.record("svc", _items(same_instant), RULES) == 0
    upper_card = dict(item, card=item["card"].upper())
    assert store.record("svc", _items(upper_card), RULES) == 0
    assert store.record("other-service", _items(item), RULES) == 1
    later = dict(item, outcomeTimestamp="2024-05-01T12:00:01Z")
    assert store.record("svc", _items(later), RULES) == 1
    within_batch = make_item(R2, "overridden")
    assert store.record("svc", _items(within_batch, within_batch), RULES) == 1
    report = _by_rule(store.report())
    assert (report[R1].accepted, report[R1].overridden) == (1, 3)
    assert report[R2].overridden == 1


def test_override_reasons_are_stored_as_given(
    store: FeedbackStore, make_item: Callable, database_url: str
) -> None:
    reason = {
        "reason": {"system": "http://example.org/r", "code": "pt-declined", "display": "Déclin"},
        "userComment": "  Patient prefers <b>iron</b> first  ",
        "extension": {"http://example.org/x": [1, 2]},
    }
    store.record("svc", _items(make_item(R1, "overridden", overrideReason=reason)), RULES)
    # white-box: the stored row, read back as the reports read it
    with store._db.sqlalchemy_engine().connect() as conn:
        row = conn.execute(select(feedback_items)).one()
    assert json.loads(row.override_reason) == reason
    assert row.user_comment == reason["userComment"]
    assert (row.reason_system, row.reason_code, row.reason_display) == (
        "http://example.org/r",
        "pt-declined",
        "Déclin",
    )
    assert row.rule_id == R1


def test_report_math(store: FeedbackStore, make_item: Callable) -> None:
    declined = {"reason": {"system": "urn:r", "code": "declined", "display": "Patient declined"}}
    contra = {"reason": {"system": "urn:r", "code": "contra", "display": "Contraindicated"}}
    feedback = (
        [make_item(R1, "accepted") for _ in range(3)]
        + [make_item(R1, "overridden", overrideReason=declined) for _ in range(4)]
        + [make_item(R1, "overridden", overrideReason={**contra, "userComment": "renal"})]
        + [make_item(R1, "overridden", overrideReason={"userComment": "renal"})]
        + [make_item(R2, "accepted")]
        + [make_item("retired-rule", "overridden")]
    )
    assert store.record("svc", _items(*feedback), RULES) == len(feedback)
    store.record_issued(Counter({R1: 10, R3: 4}), at=datetime(2024, 5, 1, 12, 30, tzinfo=UTC))
    store.record_issued(Counter({R1: 5}), at=datetime(2024, 5, 1, 12, 59, tzinfo=UTC))
    reports = store.report()
    assert [r.rule_id for r in reports] == [R2, R3, R1, None]
    by_rule = _by_rule(reports)
    r1 = by_rule[R1]
    assert (r1.issued, r1.accepted, r1.overridden) == (15, 3, 6)
    assert r1.acceptance_rate == pytest.approx(3 / 9)
    assert [(r.code, r.display, r.count) for r in r1.top_reasons] == [
        ("declined", "Patient declined", 4),
        ("contra", "Contraindicated", 1),
    ]
    assert r1.top_comments == (("renal", 2),)
    assert (by_rule[R2].issued, by_rule[R2].acceptance_rate) == (None, 1.0)
    assert (by_rule[R3].issued, by_rule[R3].accepted, by_rule[R3].acceptance_rate) == (4, 0, None)
    assert (by_rule[None].overridden, by_rule[None].acceptance_rate) == (1, 0.0)


def test_report_window_is_half_open_on_outcome_timestamp(
    store: FeedbackStore, make_item: Callable
) -> None:
    stamps = ["2024-04-30T23:59:59.999Z", "2024-05-01T00:00:00Z", "2024-05-31T23:59:59Z"]
    stamps += ["2024-06-01T00:00:00Z", "2024-06-01T01:00:00+02:00"]  # last one is May 31 23:00Z
    store.record("svc", _items(*[make_item(R1, "accepted", ts) for ts in stamps]), RULES)
    store.record_issued({R1: 7}, at=datetime(2024, 4, 30, 23, 0, tzinfo=UTC))
    store.record_issued({R1: 2}, at=datetime(2024, 5, 2, 8, 0, tzinfo=UTC))
    may, june = datetime(2024, 5, 1, tzinfo=UTC), datetime(2024, 6, 1, tzinfo=UTC)
    assert _by_rule(store.report(may, june))[R1].accepted == 3
    assert _by_rule(store.report(may, june))[R1].issued == 2
    assert _by_rule(store.report(since=june))[R1].accepted == 1
    assert _by_rule(store.report(until=may))[R1].accepted == 1
    assert _by_rule(store.report())[R1].accepted == 5
    assert store.report(datetime(2025, 1, 1, tzinfo=UTC)) == []


def test_top_lists_are_capped_at_five(store: FeedbackStore) -> None:
    raw = [
        {
            "card": new_card_uuid(R1),
            "outcome": "overridden",
            "outcomeTimestamp": "2024-05-01T12:00:00Z",
            "overrideReason": {"reason": {"code": f"c{n}"},
                               "userComment": f"comment {'abcdefgh'[n]}"},  # reports mask digits
        }
        for n in range(8)
        for _ in range(n + 1)
    ]
    store.record("svc", _items(*raw), RULES)
    report = _by_rule(store.report())[R1]
    assert [r.code for r in report.top_reasons] == ["c7", "c6", "c5", "c4", "c3"]
    assert [c for c, _ in report.top_comments] == [f"comment {c}" for c in "hgfed"]


def test_head_revision_constant_matches_the_newest_migration() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from cds_service.feedback.store import HEAD_REVISION, MIGRATIONS

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_current_head() == HEAD_REVISION
