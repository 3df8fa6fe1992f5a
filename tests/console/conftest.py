"""Fixtures for the console tests: a fixtures folder of our own, and the app with the console."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.console.support import build_app, make_fixtures


@pytest.fixture
def fixtures_dir(tmp_path: Path) -> Path:
    return make_fixtures(tmp_path / "fixtures")


@pytest.fixture
def console_app(fixtures_dir: Path) -> Flask:
    return build_app(True, fixtures_dir)


@pytest.fixture
def console_client(console_app: Flask) -> FlaskClient:
    return console_app.test_client()
