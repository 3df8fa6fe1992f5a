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
                         ("sqlite:///file:x?mode=memory", "file"), ("no-scheme", "parsed"),
                         (f"sqlite:///{nested}?timeout=30", "without host or parameters"),
                         ("postgresql://h/db?sslmode=a&sslmode=b", "sslmode more than once")):
        with pytest.raises(ValueError, match=message):
            Database(url)
    with pytest.raises(ValueError, match="synchronous"):
        Database(f"sqlite:///{nested}", synchronous="OFF")


POSTGRESQL_URLS = [
    "postgresql+psycopg://rls_cds:CHANGE-ME@postgres:5432/rls_cds",
    "postgresql://u@h/db",
    "postgresql://h",
    "postgresql:///db?host=/var/run/postgresql",
    "postgresql+psycopg://u:p%40ss%2Fw%25rd@h:6543/my%20db",
    "postgresql+psycopg://postgres:s3cr/t@127.0.0.1/test",  # unencoded, as SQLAlchemy takes it
    "postgresql+psycopg://u@[::1]:5433/db",
    "postgresql://u@h/db?options=-csearch_path%3Drev_plus+-cstatement_timeout%3D5000"
    "&application_name=rls+cds&sslmode=require&connect_timeout=3",
    "postgresql://u@/db?host=h1:5432&host=h2:5433&host=h3",
    "postgresql://u@/db?host=h1,h2&port=5432,5433",
    "postgresql://u@/db?host=h1:6000",
]


@pytest.mark.parametrize("url", POSTGRESQL_URLS)
def test_postgresql_urls_connect_as_sqlalchemy_connects(url: str) -> None:
    """The keywords psycopg gets are the ones SQLAlchemy's psycopg dialect gave it."""
    from sqlalchemy import create_engine, make_url

    from cds_service.database import _parse_url, _psycopg_arguments

    engine = create_engine(url if "+" in url else url.replace("://", "+psycopg://", 1))
    _, expected = engine.dialect.create_connect_args(make_url(url))
    expected.pop("context", None)  # SQLAlchemy's own type adapters
    assert _psycopg_arguments(_parse_url(url)[2]) == {k: str(v) for k, v in expected.items()}


@pytest.mark.parametrize("path", ["relative/feedback.sqlite3", "/abs/my%20dir/feedback.sqlite3",
                                  "/abs/100%25/f.sqlite3", "/abs/plain/f.sqlite3"])
def test_sqlite_paths_are_the_files_sqlalchemy_opens(path: str) -> None:
    from sqlalchemy import make_url

    from cds_service.database import _parse_url

    url = f"sqlite:///{path}"
    assert _parse_url(url)[2]["database"] == make_url(url).database


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


def test_the_pool_holds_fifteen_connections_at_most(database: Database, monkeypatch) -> None:
    """As SQLAlchemy's pool did: 5 kept, 10 more while busy, then a wait that fails as a
    DatabaseError (answered 503), never an unbounded number of server sessions."""
    import contextlib

    import cds_service.database as module

    monkeypatch.setattr(module, "POOL_TIMEOUT_S", 0.1)
    with contextlib.ExitStack() as stack:
        for _ in range(module.POOL_MAX):
            stack.enter_context(database.transaction()).execute("SELECT 1")
        with pytest.raises(DatabaseError, match="no connection free"), database.transaction():
            pass
    assert len(database._idle) == module.POOL_SIZE
    assert _values(database) == []  # and the pool serves again
