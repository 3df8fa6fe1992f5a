"""The service database on the DB-API: SQLite (the standard library's sqlite3) or PostgreSQL
(psycopg), for what workers write while serving: one-time token ids, issued-card counts,
evaluation records, feedback, the patient-hash key and the site file's versions.

SQLAlchemy costs a worker 14 MB, so only the migrations and the analytics reports use it, through
:meth:`Database.sqlalchemy_engine`, imported when first asked for. Rows written here read back
through SQLAlchemy as before: datetimes on SQLite are stored in its format (:meth:`timestamp`).
"""

from __future__ import annotations

import os
import re
import sqlite3
import threading
import weakref
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, unquote

BUSY_TIMEOUT_MS = 15_000
# SQLAlchemy's defaults: 5 connections kept, 10 more while busy, then wait up to 30 s for one.
POOL_SIZE, POOL_MAX, POOL_TIMEOUT_S = 5, 15, 30.0


_POOLS: weakref.WeakSet[Database] = weakref.WeakSet()
_INHERITED: list[Any] = []  # a forked child's copies of its parent's connections, never closed


def _forget_inherited_connections() -> None:
    # A forked child must not use its parent's connections (a SQLite file or a PostgreSQL
    # session shared by two processes), nor close them: closing would end the parent's
    # PostgreSQL session, or checkpoint the parent's SQLite WAL under it.
    for pool in list(_POOLS):
        _INHERITED.extend(pool._idle)
        pool._idle, pool._lock = [], threading.Lock()
        pool._slots = threading.BoundedSemaphore(POOL_MAX)
        if pool._engine is not None:
            pool._engine.dispose(close=False)  # SQLAlchemy's own recipe after a fork


os.register_at_fork(after_in_child=_forget_inherited_connections)


class DatabaseError(Exception):
    """The database failed: unreachable, locked past the busy timeout, a broken connection."""


def default_database_url(data_dir: Path) -> str:
    """A SQLite database file ``feedback.sqlite3`` under ``data_dir`` (quoted: a URL's path is
    read percent-decoded)."""
    return f"sqlite:///{quote(str((Path(data_dir) / 'feedback.sqlite3').resolve()))}"


@contextmanager
def report_errors() -> Iterator[None]:
    """A report's SQLAlchemy errors raised as DatabaseError, which routes answer 503."""
    from sqlalchemy.exc import SQLAlchemyError

    try:
        yield
    except SQLAlchemyError as exc:
        raise DatabaseError(type(exc).__name__) from exc


# SQLAlchemy's URL syntax (sqlalchemy/engine/url.py, _parse_url), so a URL reaches the same
# database here as in the migrations and reports, which still open it with SQLAlchemy.
_URL = re.compile(
    r"""(?P<name>[\w+]+)://
        (?:(?P<username>[^:/]*)(?::(?P<password>[^@]*))?@)?
        (?:(?:\[(?P<ipv6host>[^/?]+)\]|(?P<ipv4host>[^/:?]+))?(?::(?P<port>[^/?]*))?)?
        (?:/(?P<database>[^?]*))?
        (?:\?(?P<query>.*))?""",
    re.X,
)


def _parse_url(url: str) -> tuple[str, str, dict[str, Any]]:
    """Backend, driver and parts (unquoted; ``query``: each key's values) of a database URL."""
    match = _URL.match(url)
    if match is None:
        raise ValueError("the database URL cannot be parsed (expected scheme://...)")
    parts: dict[str, Any] = match.groupdict()
    backend, _, driver = parts.pop("name").partition("+")
    for name in ("username", "password", "database"):
        if parts[name] is not None:
            parts[name] = unquote(parts[name])
    parts["host"] = parts.pop("ipv4host") or parts.pop("ipv6host")
    query: dict[str, list[str]] = {}
    for key, value in parse_qsl(parts["query"] or ""):
        query.setdefault(key, []).append(value)
    parts["query"] = query
    return backend, driver, parts


def _psycopg_arguments(parts: dict[str, Any]) -> dict[str, Any]:
    """psycopg.connect's keywords for a PostgreSQL URL's parts, as SQLAlchemy's psycopg dialect
    passes them: the query's parameters too, and several hosts (``?host=h1:5432&host=h2``)."""
    arguments = {"user": parts["username"], "password": parts["password"], "host": parts["host"],
                 "port": parts["port"] or None, "dbname": parts["database"] or None}
    query = dict(parts["query"])
    hosts = query.pop("host", None)
    for key, values in query.items():
        if len(values) > 1:
            raise ValueError(f"the database URL gives {key} more than once")
        arguments[key] = values[0]
    if hosts:
        if len(hosts) == 1 and "port" in query:
            arguments["host"] = hosts[0]  # "h1,h2" with "port=p1,p2": libpq's own lists
        else:
            pairs = [host.partition(":") for host in ",".join(hosts).split(",")]
            arguments["host"] = ",".join(host for host, _, _ in pairs)
            if any(port for _, _, port in pairs):
                arguments["port"] = ",".join(port for _, _, port in pairs)
    return {key: value for key, value in arguments.items() if value is not None}


def insert_statement(table: str, columns: str) -> str:
    """``INSERT INTO table (a, b) VALUES (:a, :b)`` for the space-separated ``columns``."""
    names = columns.split()
    return (f"INSERT INTO {table} ({', '.join(names)}) "
            f"VALUES ({', '.join(':' + name for name in names)})")


@lru_cache(maxsize=64)
def _pyformat(statement: str) -> str:
    """``:name`` parameters (sqlite3's named style) as psycopg's ``%(name)s``."""
    return re.sub(r"(?<![:\w]):([A-Za-z_]\w*)", r"%(\1)s", statement.replace("%", "%%"))


class Transaction:
    """One open transaction; statements take ``:name`` parameters on both databases."""

    def __init__(self, cursor: Any, postgresql: bool) -> None:
        self._cursor, self._postgresql = cursor, postgresql

    def execute(self, statement: str, params: Mapping[str, Any] | None = None) -> Any:
        """Run one statement; the DB-API cursor (``fetchone``, ``rowcount``)."""
        if self._postgresql:
            statement = _pyformat(statement)
        self._cursor.execute(statement, params or {})
        return self._cursor

    def executemany(self, statement: str, rows: Iterable[Mapping[str, Any]]) -> None:
        """Run one statement for each row of parameters."""
        if self._postgresql:
            statement = _pyformat(statement)
        self._cursor.executemany(statement, list(rows))


class Database:
    """A small connection pool on one database URL (SQLAlchemy's spelling: ``sqlite:///path``,
    ``postgresql+psycopg://user:password@host/name?options=...``).

    SQLite: WAL mode, a busy timeout, and ``synchronous`` FULL (a commit survives power loss) or
    NORMAL (a process crash; enough for the one-time JWT ids); writers take the write lock up
    front (BEGIN IMMEDIATE), so the busy timeout applies instead of failing with SQLITE_BUSY on
    a read-to-write upgrade. PostgreSQL: each connection taken from the pool is pinged first,
    as SQLAlchemy's ``pool_pre_ping`` did, so a restarted server costs no request an error.
    """

    def __init__(self, url: str, *, synchronous: str = "FULL") -> None:
        if synchronous not in ("FULL", "NORMAL"):
            raise ValueError("synchronous must be FULL or NORMAL")
        backend, driver, parts = _parse_url(url)
        self.url, self.synchronous = url, synchronous
        self._target: Any
        if backend == "sqlite" and driver in ("", "pysqlite"):
            path = parts["database"]
            if not path or path == ":memory:" or path.startswith("file:"):
                raise ValueError("SQLite storage needs a database file path")
            if parts["host"] or parts["username"] or parts["port"] or parts["query"]:
                raise ValueError("a SQLite URL is sqlite:///relative/path or "
                                 "sqlite:////absolute/path, without host or parameters")
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            self.dialect, self._target = "sqlite", path
        elif backend == "postgresql" and driver in ("", "psycopg"):
            self.dialect, self._target = "postgresql", _psycopg_arguments(parts)
        else:
            raise ValueError(f"unsupported database URL scheme: {backend}+{driver}"
                             if driver else f"unsupported database URL scheme: {backend}")
        self._idle: list[Any] = []
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(POOL_MAX)
        self._engine: Any = None
        self._errors = self._driver_errors()
        _POOLS.add(self)

    def _driver_errors(self) -> tuple[type[Exception], ...]:
        if self.dialect == "sqlite":
            return (sqlite3.Error,)
        import psycopg  # only a PostgreSQL deployment pays for the driver

        return (psycopg.Error,)

    def connect(self) -> Any:
        """A new DB-API connection, set up as described above (SQLite: no implicit
        transactions; PostgreSQL: autocommit): the pool's, and SQLAlchemy's on SQLite."""
        if self.dialect == "sqlite":
            connection = sqlite3.connect(
                self._target, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                check_same_thread=False,
            )
            connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            connection.execute("PRAGMA journal_mode = WAL")
            connection.execute(f"PRAGMA synchronous = {self.synchronous}")
            return connection
        import psycopg

        return psycopg.connect(autocommit=True, **self._target)

    def _checkout(self) -> Any:
        with self._lock:
            connection = self._idle.pop() if self._idle else None
        if connection is not None and self.dialect == "postgresql":
            try:
                connection.execute("SELECT 1")
            except self._errors:
                connection.close()
                connection = None
        return self.connect() if connection is None else connection

    def _checkin(self, connection: Any) -> None:
        with self._lock:
            if len(self._idle) < POOL_SIZE:
                self._idle.append(connection)
                return
        connection.close()

    @contextmanager
    def transaction(self, *, write: bool = False) -> Iterator[Transaction]:
        """A transaction, committed when the block ends and rolled back if it raises;
        ``write``: a writer (BEGIN IMMEDIATE on SQLite). Driver errors become DatabaseError."""
        if not self._slots.acquire(timeout=POOL_TIMEOUT_S):
            raise DatabaseError(f"no connection free within {POOL_TIMEOUT_S:.0f} s")
        try:
            connection = None
            try:
                connection = self._checkout()
                cursor = connection.cursor()
                cursor.execute("BEGIN IMMEDIATE" if write and self.dialect == "sqlite" else "BEGIN")
            except self._errors as exc:
                if connection is not None:
                    connection.close()
                raise DatabaseError(type(exc).__name__) from exc
            try:
                yield Transaction(cursor, self.dialect == "postgresql")
                cursor.execute("COMMIT")
            except BaseException as exc:
                try:
                    cursor.execute("ROLLBACK")
                    cursor.close()
                except self._errors:
                    connection.close()  # broken: not returned to the pool
                else:
                    self._checkin(connection)
                if isinstance(exc, self._errors):
                    raise DatabaseError(type(exc).__name__) from exc
                raise
            cursor.close()
            self._checkin(connection)
        finally:
            self._slots.release()

    def ping(self) -> bool:
        """True when the database answers a trivial query."""
        try:
            with self.transaction() as tx:
                tx.execute("SELECT 1")
            return True
        except DatabaseError:
            return False

    def timestamp(self, moment: datetime) -> datetime | str:
        """A naive UTC datetime as a parameter, stored as SQLAlchemy stores a DateTime column
        (on SQLite, text that sorts and compares as time does)."""
        if self.dialect == "postgresql":
            return moment
        return (f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d} {moment.hour:02d}:"
                f"{moment.minute:02d}:{moment.second:02d}.{moment.microsecond:06d}")

    @staticmethod
    def read_timestamp(value: datetime | str) -> datetime:
        """A DateTime column's value as read back (SQLite gives the stored text)."""
        return datetime.fromisoformat(value) if isinstance(value, str) else value

    def sqlalchemy_engine(self) -> Any:
        """A SQLAlchemy engine on the same database, made on first use (migrations, reports)."""
        with self._lock:
            if self._engine is None:
                from cds_service.feedback.engine import engine_on

                self._engine = engine_on(self)
            return self._engine

    def close(self) -> None:
        """Close every idle connection (and the SQLAlchemy engine's, if one was made)."""
        with self._lock:
            idle, self._idle = self._idle, []
            engine, self._engine = self._engine, None
        for connection in idle:
            connection.close()
        if engine is not None:
            engine.dispose()
