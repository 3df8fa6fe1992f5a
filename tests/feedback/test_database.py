"""The DB-API layer workers write through (cds_service/database.py), on SQLite and PostgreSQL:
URLs, transactions, errors, the pool after a lost connection and after a fork."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

import pytest

from cds_service.database import Database, DatabaseError, _pyformat


def test_urls_in_sqlalchemy_spelling(tmp_path: Path) -> None:
    nested = tmp_path / "a" / "b.sqlite3"
    assert Database(f"sqlite:///{nested}").dialect == "sqlite"
    assert nested.parent.is_dir()  # made for the file, as before
    assert Database("postgresql+psycopg://u:p@h:5432/db?options=-csearch_path%3Dx").dialect == (
        "postgresql")
    for url, message in (("mysql://h/x", "unsupported"), ("postgresql+psycopg2://h/x",
                         "unsupported"), ("sqlite://", "file"), ("sqlite:///:memory:", "file"),
                         ("sqlite:///file:x?mode=memory", "file"), ("no-scheme", "unsupported")):
        with pytest.raises(ValueError, match=message):
            Database(url)
    with pytest.raises(ValueError, match="synchronous"):
        Database(f"sqlite:///{nested}", synchronous="OFF")


def test_named_parameters_become_pyformat_for_psycopg() -> None:
    assert _pyformat("SELECT :a, :b_2 WHERE x = '%' AND y::text = :a") == (
        "SELECT %(a)s, %(b_2)s WHERE x = '%%' AND y::text = %(a)s")


def test_sqlite_timestamps_are_sqlalchemys_stored_form(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    moment = datetime(987, 6, 5, 4, 3, 2)
    assert database.timestamp(moment) == "0987-06-05 04:03:02.000000"
    assert database.read_timestamp(database.timestamp(moment)) == moment
    assert database.read_timestamp(moment) is moment


@pytest.fixture
def database(database_url: str) -> Database:
    database = Database(database_url)
    with database.transaction(write=True) as tx:
        tx.execute("CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER)")
    yield database
    database.close()


def _values(database: Database) -> list[tuple]:
    with database.transaction() as tx:
        return [tuple(row) for row in tx.execute("SELECT k, v FROM t ORDER BY k").fetchall()]


def test_commit_rollback_and_errors(database: Database) -> None:
    with database.transaction(write=True) as tx:
        tx.executemany("INSERT INTO t (k, v) VALUES (:k, :v)", [{"k": "a", "v": 1},
                                                                 {"k": "b", "v": 2}])
    with pytest.raises(RuntimeError), database.transaction(write=True) as tx:
        tx.execute("INSERT INTO t (k, v) VALUES (:k, :v)", {"k": "c", "v": 3})
        raise RuntimeError("the caller's own error: rolled back, and raised as it was")
    with pytest.raises(DatabaseError, match="IntegrityError|UniqueViolation") as caught:
        with database.transaction(write=True) as tx:
            tx.execute("INSERT INTO t (k, v) VALUES (:k, :v)", {"k": "d", "v": 4})
            tx.execute("INSERT INTO t (k, v) VALUES (:k, :v)", {"k": "a", "v": 5})
    assert caught.value.__cause__ is not None  # the driver's error, for the log's type name
    assert _values(database) == [("a", 1), ("b", 2)]
    assert len(database._idle) == 1  # one connection served every transaction
    assert database.ping() is True


def test_a_broken_connection_is_replaced_not_reused(database: Database) -> None:
    with database.transaction() as tx:  # one pooled connection, then it breaks under the pool
        tx.execute("SELECT 1")
    (connection,) = database._idle
    if database.dialect == "postgresql":  # the server ends the session (a restart, say)
        admin = Database(database.url)
        with admin.transaction() as tx:
            tx.execute("SELECT pg_terminate_backend(:pid)", {"pid": connection.info.backend_pid})
        admin.close()
    else:
        connection.close()
    if database.dialect == "postgresql":  # pinged on checkout: the request never sees it
        assert _values(database) == []
    else:
        with pytest.raises(DatabaseError):
            _values(database)
        assert _values(database) == []  # the closed one was dropped, a new one made
    assert connection not in database._idle


def test_unreachable_database_is_a_database_error() -> None:
    database = Database("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2")
    with pytest.raises(DatabaseError, match="OperationalError"), database.transaction():
        pass
    assert database.ping() is False


def test_a_forked_child_makes_its_own_connections(database: Database) -> None:
    with database.transaction(write=True) as tx:
        tx.execute("INSERT INTO t (k, v) VALUES ('parent', 1)")
    (inherited,) = database._idle
    pid = os.fork()
    if pid == 0:  # the child: a new connection, and the parent's left alone
        code = 1
        try:
            with database.transaction(write=True) as tx:
                tx.execute("INSERT INTO t (k, v) VALUES ('child', 2)")
            code = 0 if database._idle and database._idle[0] is not inherited else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert database._idle == [inherited]  # the parent's connection still works
    assert _values(database) == [("child", 2), ("parent", 1)]
