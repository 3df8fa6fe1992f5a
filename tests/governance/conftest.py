"""Governance tests run on SQLite and, when reachable, PostgreSQL (as the feedback tests do)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from cds_service.feedback import FeedbackStore, default_database_url
from cds_service.feedback.engine import database_engine
from tests.feedback.conftest import pg_base_url, pg_schema_url  # noqa: F401 - fixtures


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return default_database_url(tmp_path / "data")
    return request.getfixturevalue("pg_schema_url")


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """An engine on a migrated database, disposed afterwards."""
    with FeedbackStore(database_url) as store:
        store.migrate()
    engine = database_engine(database_url)
    yield engine
    engine.dispose()
