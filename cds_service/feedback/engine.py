"""SQLAlchemy engines on the service database, for the migrations and the reports (what workers
write while serving goes through cds_service/database.py): SQLite set up as it sets it up."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, make_url
from sqlalchemy.engine import URL, Connection, Engine

from cds_service.database import BUSY_TIMEOUT_MS


def database_engine(database_url: str, *, synchronous: str = "FULL") -> Engine:
    """An engine on the service's database: ``sqlite_engine`` or PostgreSQL."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        return sqlite_engine(url, synchronous=synchronous)
    return create_engine(url, pool_pre_ping=True, hide_parameters=True)


def sqlite_engine(url: URL, *, synchronous: str = "FULL") -> Engine:
    """A SQLite engine in WAL mode with a busy timeout; writers use BEGIN IMMEDIATE.

    ``synchronous``: FULL (a commit survives power loss) for feedback; NORMAL (survives a
    process crash or restart, not power loss) is enough for the one-time JWT ids.
    """
    if synchronous not in ("FULL", "NORMAL"):
        raise ValueError("synchronous must be FULL or NORMAL")
    if not url.database or url.database == ":memory:" or url.database.startswith("file:"):
        raise ValueError("SQLite feedback storage needs a database file path")
    Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    connect_args = {"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000}
    # hide_parameters: bound values (override comments) never reach SQLAlchemy's logs
    engine = create_engine(url, connect_args=connect_args, hide_parameters=True)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves (below)
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute(f"PRAGMA synchronous = {synchronous}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Writers take the write lock up front, so the busy timeout applies instead of
        # failing with SQLITE_BUSY on a read-to-write upgrade.
        immediate = conn.get_execution_options().get("sqlite_immediate", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine
