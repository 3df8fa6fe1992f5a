"""Evaluation records: retention, and the cost on the request path."""

from __future__ import annotations

import hashlib
import hmac
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from cds_service.feedback import FeedbackStore
from cds_service.feedback.engine import database_engine
from cds_service.governance.records import (
    Evaluation,
    EvaluationRecorder,
    PatientHmac,
    patient_hmac,
    purge_evaluations,
    write_evaluations,
)
from cds_service.governance.tables import evaluation_rules, evaluations

NOW = datetime(2026, 6, 15, 9, tzinfo=UTC)


def _evaluation(at: datetime, active=("iv-iron-indicated",), silent=()) -> Evaluation:
    return Evaluation("default", "order-select", "rls-order-select", "v", "0" * 64, "",
                      "f" * 64, active, silent, at=at)


def _count(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_retention_deletes_only_older_rows(database, engine):
    write_evaluations(database, [
        _evaluation(NOW - timedelta(days=31), silent=("levodopa-against",)),
        _evaluation(NOW - timedelta(days=29)),
    ])
    assert (_count(engine, evaluations), _count(engine, evaluation_rules)) == (2, 3)
    assert purge_evaluations(database, 30, now=NOW) == 1
    assert (_count(engine, evaluations), _count(engine, evaluation_rules)) == (1, 1)


def test_rows_written_by_either_layer_read_and_compare_alike(database, engine):
    """Workers write on the DB-API, the reports read with SQLAlchemy, and databases hold rows
    SQLAlchemy wrote before: one stored form of a time, compared as time in both directions."""
    older, newer = NOW - timedelta(days=40, microseconds=1), NOW - timedelta(days=10)
    with engine.begin() as conn:  # a row as SQLAlchemy Core wrote it
        conn.execute(evaluations.insert().values(
            id="old", at=older.replace(tzinfo=None), site="s", hook="h", service_id="x",
            knowledge_version="v", knowledge_sha256="0" * 64, config_sha256="",
            patient_hmac="f" * 64, cards=0))
    write_evaluations(database, [Evaluation(*_evaluation(newer).__dict__.values())])
    with engine.connect() as conn:
        stored = sorted(conn.execute(select(evaluations.c.at)).scalars())
    assert stored == [older.replace(tzinfo=None), newer.replace(tzinfo=None)]
    with engine.connect() as conn:
        newest = conn.execute(select(evaluations.c.id).where(
            evaluations.c.at > (NOW - timedelta(days=11)).replace(tzinfo=None))).scalars().all()
    assert len(newest) == 1 and newest != ["old"]
    assert purge_evaluations(database, 30, now=NOW) == 1  # the SQLAlchemy-written row
    assert _count(engine, evaluations) == 1


def test_recording_costs_microseconds_on_the_request_path(database, engine):
    recorder = EvaluationRecorder(database, interval=60)
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


def test_config_change_log_once_per_version(database, tmp_path):
    from cds_service.governance.changes import config_history, record_config_version
    from cds_service.governance.site_config import load_site_config
    from cds_service.knowledge import load_knowledge

    path = tmp_path / "sites.json"
    path.write_text('{"sites": {"a": {"rules": {"levodopa-against": "silent"}}}}')
    first = load_site_config(path, load_knowledge().rules)
    assert record_config_version(database, first) is True
    assert record_config_version(database, first) is False  # every worker starts; one row
    path.write_text('{"sites": {"a": {"rules": {"levodopa-against": "off"}}}, '
                    '"changed_by": "Dr B"}')
    assert record_config_version(database, load_site_config(path, load_knowledge().rules))
    history = config_history(database)
    assert [(h["changed_by"], h["changes"]) for h in history][0] == (
        "Dr B", [{"site": "a", "rule": "levodopa-against", "from": "silent", "to": "off"}])
    assert len(history) == 2 and history[1]["changed_by"].endswith("(process user; set "
                                                                   "changed_by in the file)")


def test_default_patient_key_is_made_once_in_the_database(database):
    from cds_service.governance.runtime import _default_key

    first = _default_key(None, database)
    assert len(first) == 64 and _default_key(None, database) == first  # every worker, one key
    assert _default_key("configured", database) == b"configured"


def test_migration_0003_downgrades_and_upgrades(database_url):
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import inspect

    from cds_service.feedback.store import MIGRATIONS

    with FeedbackStore(database_url) as store:
        store.migrate()
    engine = database_engine(database_url)
    try:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        governance_tables = {"evaluations", "evaluation_rules", "site_config_changes",
                             "service_keys"}
        for target, present in (("0002", False), ("head", True)):
            with engine.begin() as conn:
                config.attributes["connection"] = conn
                (command.downgrade if target == "0002" else command.upgrade)(config, target)
            names = set(inspect(engine).get_table_names())
            assert (governance_tables <= names) is present
            assert bool(governance_tables & names) is present
    finally:
        engine.dispose()


def test_the_precomputed_patient_hash_is_the_hmac_of_the_id():
    # Keys shorter than, equal to and longer than SHA-256's 64-byte block (a longer key is
    # hashed first), and ids with non-ASCII text: the digest hmac.new gives, every time.
    for key in (b"", b"k", b"x" * 63, b"y" * 64, b"z" * 65, b"site-key-\xff" * 30):
        hashed = PatientHmac(key)
        for patient in ("", "pat-1", "Ünïcødé-患者", "e" * 300):
            assert hashed(patient) == patient_hmac(key, patient)
            assert hashed(patient) == hmac.new(
                key, patient.encode("utf-8"), hashlib.sha256
            ).hexdigest()
