"""Fixtures of the hostile-input tests: one app per module, feedback kept in a temporary dir."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from flask import Flask

from .support import KNOWN_SEEN, REQUEST_COUNTS, build_app


@pytest.fixture(scope="module")
def hostile_app(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    """The app with authentication off (its start-up warning says so once)."""
    return build_app(tmp_path_factory.mktemp("hostile"))


@pytest.fixture(scope="module")
def auth_app(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    """The app with client JWTs required (the sandbox issuer trusted, its keys from a file)."""
    return build_app(tmp_path_factory.mktemp("hostile-auth"), require_auth=True,
                     trust_sandbox=True)


@pytest.fixture
def quiet_access_log() -> Iterator[None]:
    """Thousands of generated requests: keep the JSON access log lines off the captured output."""
    logger = logging.getLogger("cds_service.access")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if REQUEST_COUNTS:
        total = sum(REQUEST_COUNTS.values())
        parts = ", ".join(f"{name} {count}" for name, count in sorted(REQUEST_COUNTS.items()))
        terminalreporter.write_line(f"hostile input: {total} generated requests ({parts})")
    if KNOWN_SEEN:
        parts = ", ".join(f"{name}: {count}" for name, count in sorted(KNOWN_SEEN.items()))
        terminalreporter.write_line(f"hostile input: known findings hit (500s) - {parts}")
