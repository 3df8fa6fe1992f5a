"""A new database is made from migrations/head.*.sql without Alembic: the scripts must be the DDL
the migrations run, and a database made from them must be the one Alembic makes and keep
migrating with Alembic (on SQLite and PostgreSQL)."""

from __future__ import annotations

import runpy
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, inspect

from cds_service.feedback.store import HEAD_REVISION, MIGRATIONS, FeedbackStore
from tests.feedback.conftest import scratch_schema

ROOT = Path(__file__).resolve().parents[2]


def _generator() -> dict[str, Any]:
    return runpy.run_path(str(ROOT / "scripts" / "make_head_schema.py"))


def test_the_sqlite_script_is_what_the_migrations_run() -> None:
    made = _generator()["head_scripts"](None)
    assert (MIGRATIONS / "head.sqlite.sql").read_text() == made["sqlite"]


def test_the_postgresql_script_is_what_the_migrations_run(pg_base_url: str) -> None:
    made = _generator()["head_scripts"](pg_base_url)
    assert (MIGRATIONS / "head.postgresql.sql").read_text() == made["postgresql"]


@pytest.fixture
def other_url(database_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A second empty database of the same kind as ``database_url``."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'other' / 'feedback.sqlite3'}"
        return
    with scratch_schema(request.getfixturevalue("pg_base_url"), "head_test") as url:
        yield url


def _schema(url: str) -> dict[str, Any]:
    engine = create_engine(url)
    try:
        found = inspect(engine)
        tables = {}
        for table in found.get_table_names():
            tables[table] = {
                "columns": [(c["name"], str(c["type"]), c["nullable"], c.get("default"),
                             c.get("autoincrement")) for c in found.get_columns(table)],
                "primary key": found.get_pk_constraint(table),
                "indexes": sorted(found.get_indexes(table), key=lambda i: i["name"]),
                "unique": sorted(found.get_unique_constraints(table), key=lambda u: u["name"]),
            }
        if engine.dialect.name == "sqlite":
            with engine.connect() as conn:
                tables["sqlite_master"] = sorted(conn.exec_driver_sql(
                    "SELECT type, name, sql FROM sqlite_master").all())
        else:
            with engine.connect() as conn:
                tables["sequences"] = sorted(found.get_sequence_names())
                tables["defaults"] = sorted(conn.exec_driver_sql(
                    "SELECT table_name, column_name, column_default FROM information_schema.columns"
                    " WHERE table_schema = current_schema() AND column_default IS NOT NULL").all())
        return tables
    finally:
        engine.dispose()


def test_a_new_database_is_the_one_alembic_makes(database_url: str, other_url: str) -> None:
    with FeedbackStore(database_url) as store:
        store.migrate()  # empty: made from the script
        assert store._revision() == HEAD_REVISION
        assert store._db._engine is None  # no SQLAlchemy engine was made
    with FeedbackStore(other_url) as store:
        store._migrate_with_alembic()
    assert _schema(database_url) == _schema(other_url)


def test_a_database_made_from_the_script_migrates_down_and_up(database_url: str) -> None:
    from alembic import command
    from alembic.config import Config

    with FeedbackStore(database_url) as store:
        store.migrate()
        engine = store._db.sqlalchemy_engine()
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        for target in ("base", "head"):
            with engine.begin() as conn:
                config.attributes["connection"] = conn
                (command.downgrade if target == "base" else command.upgrade)(config, target)
        assert store._revision() == HEAD_REVISION
        assert set(inspect(engine).get_table_names()) >= {"feedback_items", "used_jti"}


def test_workers_starting_together_make_it_once(database_url: str) -> None:
    errors: list[BaseException] = []

    def start() -> None:
        try:
            with FeedbackStore(database_url) as store:
                store.migrate()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with FeedbackStore(database_url) as store:
        assert store._revision() == HEAD_REVISION
        with store._db.transaction() as tx:
            assert tx.execute("SELECT count(*) FROM alembic_version").fetchone()[0] == 1


def test_a_database_with_other_tables_is_left_to_alembic(database_url: str) -> None:
    with FeedbackStore(database_url) as store:
        with store._db.transaction(write=True) as tx:
            tx.execute("CREATE TABLE unrelated (x INTEGER)")
        assert store._create_at_head() is False
        store.migrate()  # Alembic, which adds its tables beside it
        assert store._revision() == HEAD_REVISION
