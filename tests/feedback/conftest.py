"""Fixtures for the feedback tests: stores on SQLite and PostgreSQL, feedback item builders."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, make_url
from sqlalchemy.exc import OperationalError

from cds_service.cards.card_ids import new_card_uuid
from cds_service.feedback import FeedbackStore, default_database_url

PG_CANDIDATES = [
    "postgresql+psycopg://postgres@127.0.0.1:5432/test",
    "postgresql+psycopg://root@127.0.0.1:5432/test",
]
RULES = ["rls-iron-check", "rls-dopamine-augmentation", "rls-gabapentinoid-first"]


def _reachable_pg() -> tuple[str | None, str]:
    override = os.environ.get("CDS_TEST_POSTGRES_URL")
    candidates = [override] if override else PG_CANDIDATES
    errors = []
    for url in candidates:
        engine = create_engine(url, connect_args={"connect_timeout": 3})
        try:
            with engine.connect():
                return url, ""
        except OperationalError as error:
            errors.append(
                f"{make_url(url).render_as_string()}: {' '.join(str(error.orig).split())}"
            )
        finally:
            engine.dispose()
    return None, "; ".join(errors)


@pytest.fixture(scope="session")
def pg_base_url() -> str:
    url, why = _reachable_pg()
    if url is None:
        pytest.skip(f"PostgreSQL is unreachable, skipping PostgreSQL store tests ({why})")
    return url


@contextmanager
def scratch_schema(base_url: str, prefix: str = "feedback_test") -> Iterator[str]:
    """A URL on ``base_url`` whose search_path is a fresh schema, dropped afterwards."""
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base_url)
    try:
        with admin.begin() as conn:
            conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
        url = make_url(base_url).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
    finally:
        admin.dispose()


@pytest.fixture
def pg_schema_url(pg_base_url: str) -> Iterator[str]:
    """A URL whose search_path is a fresh schema, dropped afterwards."""
    with scratch_schema(pg_base_url) as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return default_database_url(tmp_path / "data")
    return request.getfixturevalue("pg_schema_url")


@pytest.fixture
def store(database_url: str) -> Iterator[FeedbackStore]:
    with FeedbackStore(database_url) as store:
        store.migrate()
        yield store


def item_json(
    rule: str = RULES[0],
    outcome: str = "accepted",
    timestamp: str = "2024-05-01T12:00:00Z",
    card: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """One feedback item as a client would send it."""
    item: dict[str, Any] = {
        "card": card or new_card_uuid(rule),
        "outcome": outcome,
        "outcomeTimestamp": timestamp,
    }
    if outcome == "accepted":
        item["acceptedSuggestions"] = [{"id": str(uuid.uuid4())}]
    item.update(extra)
    return item


@pytest.fixture
def make_item() -> Callable[..., dict[str, Any]]:
    return item_json
