"""Governance tests run on SQLite and, when reachable, PostgreSQL (as the feedback tests do)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine

from cds_service.database import Database
from cds_service.feedback import FeedbackStore
from cds_service.feedback.engine import database_engine
from tests.feedback.conftest import (  # noqa: F401 - fixtures
    database_url,
    pg_base_url,
    pg_schema_url,
)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:  # noqa: F811 (the imported fixture)
    """A SQLAlchemy engine on a migrated database, disposed afterwards."""
    with FeedbackStore(database_url) as store:
        store.migrate()
    engine = database_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def database(database_url: str, engine: Engine) -> Iterator[Database]:  # noqa: F811
    """The DB-API database the workers write through, on the same migrated database as
    ``engine`` (which the reports read with)."""
    database = Database(database_url)
    yield database
    database.close()
