"""Shared fixtures: the app with a fixed clock and authentication off."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient

from cds_service import create_app

NOW = datetime(2026, 6, 15, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _scratch_data_dir(tmp_path_factory, monkeypatch) -> None:
    """No test writes the checkout's var/ feedback database."""
    monkeypatch.setenv("CDS_DATA_DIR", str(tmp_path_factory.mktemp("data")))
    monkeypatch.delenv("CDS_DATABASE_URL", raising=False)


@pytest.fixture
def app(tmp_path) -> Flask:
    return create_app({"require_auth": False, "clock": lambda: NOW, "data_dir": tmp_path})


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()
