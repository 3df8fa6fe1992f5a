"""Fixture scenarios read from disk at request time: ``<fixtures_dir>/<name>/request.json``.

Each scenario folder may hold ``expected.json``:
``{"description", "now", "service", "cards": [{"rule", "indicator"}]}``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


@dataclass(frozen=True)
class Scenario:
    """One fixture folder: its request and what its author expects the service to answer."""

    name: str
    path: Path
    description: str = ""
    now: str | None = None
    service: str | None = None
    expected_cards: tuple[dict[str, str], ...] = ()
    known_issue: str | None = None  # a known disagreement between expected and actual
    problem: str | None = None  # why expected.json could not be read, if it could not

    def request(self) -> Any:
        """The parsed request.json (ValueError or OSError when it is unreadable)."""
        return json.loads((self.path / "request.json").read_text(encoding="utf-8"))

    def clock_time(self) -> datetime | None:
        """``now`` as an aware datetime (UTC when no offset is given); None if absent or bad."""
        if not self.now:
            return None
        try:
            when = datetime.fromisoformat(self.now.replace("Z", "+00:00"))
        except ValueError:
            return None
        return when if when.tzinfo else when.replace(tzinfo=UTC)

    def summary(self) -> dict[str, Any]:
        """The JSON shown by ``/console/scenarios``."""
        return {
            "name": self.name,
            "description": self.description,
            "now": self.now,
            "service": self.service,
            "cards": list(self.expected_cards),
            "known_issue": self.known_issue,
            "problem": self.problem,
        }


def _expected(path: Path) -> tuple[Mapping[str, Any], str | None]:
    file = path / "expected.json"
    if not file.is_file():
        return {}, None
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return {}, f"expected.json is unreadable: {exc}"
    if not isinstance(data, Mapping):
        return {}, "expected.json is not a JSON object"
    return data, None


def _cards(value: object) -> tuple[dict[str, str], ...]:
    if not isinstance(value, list):
        return ()
    return tuple(
        {"rule": str(c.get("rule", "")), "indicator": str(c.get("indicator", ""))}
        for c in value
        if isinstance(c, Mapping)
    )


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def read_scenario(fixtures_dir: Path, name: str) -> Scenario | None:
    """The scenario called ``name``, or None when there is no such folder (or a bad name)."""
    if not NAME.match(name):
        return None
    path = fixtures_dir / name
    if not (path / "request.json").is_file():
        return None
    data, problem = _expected(path)
    return Scenario(
        name=name,
        path=path,
        description=_text(data.get("description")) or "",
        now=_text(data.get("now")),
        service=_text(data.get("service")),
        expected_cards=_cards(data.get("cards")),
        known_issue=_text(data.get("known_issue")),
        problem=problem,
    )


def list_scenarios(fixtures_dir: Path) -> list[Scenario]:
    """Every scenario folder under ``fixtures_dir``, sorted by name (none if it is missing)."""
    if not fixtures_dir.is_dir():
        return []
    found = (read_scenario(fixtures_dir, p.name) for p in sorted(fixtures_dir.iterdir()))
    return [s for s in found if s is not None]
