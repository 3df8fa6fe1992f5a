"""Write cds_service/feedback/migrations/head.{sqlite,postgresql}.sql: the DDL Alembic runs when
it migrates a new, empty database to the newest revision, captured statement by statement.

A new database is then made from that script on the DB-API (FeedbackStore.migrate), without
importing Alembic and SQLAlchemy: 0.25-0.4 s of a new container's first start. An existing
database still goes through Alembic. Run this after adding a migration;
tests/feedback/test_head_schema.py fails until the scripts match the migrations again.

    .venv/bin/python scripts/make_head_schema.py [--check] [--postgresql URL]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import uuid
from pathlib import Path

from sqlalchemy import create_engine, event, make_url

from cds_service.database import default_database_url
from cds_service.feedback.store import HEAD_REVISION, MIGRATIONS, FeedbackStore

HEADER = (
    "-- The schema at revision {head}, as Alembic makes it on a new {dialect} database: generated\n"
    "-- by scripts/make_head_schema.py from migrations/versions; do not edit by hand.\n"
)


def captured_ddl(database_url: str) -> list[str]:
    """The CREATE and ALTER statements migrating the (empty) database at ``database_url`` runs."""
    statements: list[str] = []
    with FeedbackStore(database_url) as store:
        engine = store._db.sqlalchemy_engine()

        @event.listens_for(engine, "before_cursor_execute")
        def capture(conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
            if statement.lstrip().upper().startswith(("CREATE", "ALTER")):
                statements.append(statement.strip())  # exactly: SQLite keeps the text

        store._migrate_with_alembic()
    return statements


def script(dialect: str, statements: list[str]) -> str:
    return HEADER.format(head=HEAD_REVISION, dialect=dialect) + "".join(
        f"\n{statement};\n" for statement in statements)


def head_scripts(postgresql_url: str | None) -> dict[str, str]:
    """Each dialect's script as the migrations make it now (PostgreSQL: in a new schema of the
    database at ``postgresql_url``, dropped afterwards)."""
    with tempfile.TemporaryDirectory() as directory:
        scripts = {"sqlite": script("sqlite", captured_ddl(default_database_url(Path(directory))))}
    if postgresql_url:
        schema = f"head_schema_{uuid.uuid4().hex[:12]}"
        admin = create_engine(postgresql_url)
        try:
            with admin.begin() as conn:
                conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
            url = make_url(postgresql_url).update_query_dict({"options": f"-csearch_path={schema}"})
            statements = captured_ddl(url.render_as_string(hide_password=False))
            scripts["postgresql"] = script("postgresql", statements)
        finally:
            with admin.begin() as conn:
                conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
            admin.dispose()
    return scripts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="compare; write nothing")
    parser.add_argument("--postgresql", help="a PostgreSQL database to make its script in (URL)")
    args = parser.parse_args(argv)
    stale = []
    for dialect, text in head_scripts(args.postgresql).items():
        path = MIGRATIONS / f"head.{dialect}.sql"
        if args.check:
            if not path.is_file() or path.read_text() != text:
                stale.append(path.name)
        else:
            path.write_text(text)
            print(f"wrote {path}")
    if stale:
        print(f"stale: {', '.join(stale)}; run scripts/make_head_schema.py", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    raise SystemExit(main())
