"""Evaluation records: retention, and the cost on the request path."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from cds_service.feedback import FeedbackStore
from cds_service.feedback.engine import database_engine
from cds_service.governance.records import (
    Evaluation,
    EvaluationRecorder,
    purge_evaluations,
    write_evaluations,
)
from cds_service.governance.tables import evaluation_rules, evaluations

NOW = datetime(2026, 6, 15, 9, tzinfo=UTC)


def _evaluation(at: datetime, active=("iv-iron-indicated",), silent=()) -> Evaluation:
    return Evaluation("default", "order-select", "rls-order-select", "v", "0" * 64, "",
                      "f" * 64, active, silent, at=at)


def _engine(tmp_path):
    url = f"sqlite:///{tmp_path}/db.sqlite3"
    with FeedbackStore(url) as store:
        store.migrate()
    return database_engine(url)


def _count(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_retention_deletes_only_older_rows(tmp_path):
    engine = _engine(tmp_path)
    write_evaluations(engine, [
        _evaluation(NOW - timedelta(days=31), silent=("levodopa-against",)),
        _evaluation(NOW - timedelta(days=29)),
    ])
    assert (_count(engine, evaluations), _count(engine, evaluation_rules)) == (2, 3)
    assert purge_evaluations(engine, 30, now=NOW) == 1
    assert (_count(engine, evaluations), _count(engine, evaluation_rules)) == (1, 1)


def test_recording_costs_microseconds_on_the_request_path(tmp_path):
    engine = _engine(tmp_path)
    recorder = EvaluationRecorder(engine, interval=60)
    n = 2000
    start = time.perf_counter()
    for _ in range(n):
        recorder(_evaluation(NOW))
    per_call = (time.perf_counter() - start) / n
    assert per_call < 200e-6, per_call  # measured about 2 us; a request takes milliseconds
    started = time.perf_counter()
    assert recorder.flush() is True
    flush_s = time.perf_counter() - started
    assert _count(engine, evaluations) == n and flush_s < 5
    assert recorder.flush() is False
