"""SQLAlchemy engines on the service database, for the migrations and the reports (what workers
write while serving goes through cds_service/database.py, whose connections these engines use on
SQLite: WAL, busy timeout and synchronous set in one place)."""

from __future__ import annotations

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine

from cds_service.database import Database


def database_engine(database_url: str, *, synchronous: str = "FULL") -> Engine:
    """An engine on the service's database (see :func:`engine_on`)."""
    return engine_on(Database(database_url, synchronous=synchronous))


def engine_on(database: Database) -> Engine:
    """An engine on ``database``'s URL. On SQLite it opens connections as ``database`` does (WAL,
    busy timeout, ``synchronous``, no implicit transactions) and BEGINs IMMEDIATE under the
    execution option ``sqlite_immediate``; on PostgreSQL it pings each connection it hands out.
    hide_parameters: bound values (override comments) never reach SQLAlchemy's logs."""
    if database.dialect == "postgresql":
        return create_engine(database.url, pool_pre_ping=True, hide_parameters=True)
    engine = create_engine(database.url, creator=database.connect, hide_parameters=True)

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Writers take the write lock up front, so the busy timeout applies instead of
        # failing with SQLITE_BUSY on a read-to-write upgrade.
        immediate = conn.get_execution_options().get("sqlite_immediate", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine
