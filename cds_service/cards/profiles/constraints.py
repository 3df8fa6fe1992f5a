"""The vendors' documented response constraints (``constraints.json``) and the paths they name."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

RULES = frozenset(
    {
        "enum", "pattern", "max-length", "max-items", "required", "absent", "allowed-keys",
        "coding-system", "allowlist", "create-before-delete",
    }
)
_STEP = re.compile(r"^(?P<key>(?:[^\[\\]|\\.)*)(?P<index>\[\d*\])?$")
_DOT = re.compile(r"(?<!\\)\.")


@dataclass(frozen=True)
class Constraint:
    """One documented constraint of one client, checkable on a response document."""

    id: str
    profile: str
    path: str
    rule: str
    effect: str
    quote: str
    source: str
    section: str
    field: str | None = None
    when: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    params: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    note: str | None = None


@dataclass(frozen=True)
class Source:
    title: str
    url: str
    evidence: str


@dataclass(frozen=True)
class ConstraintTable:
    version: str
    sources: Mapping[str, Source]
    constraints: tuple[Constraint, ...]

    def for_profile(self, profile: str) -> tuple[Constraint, ...]:
        return tuple(c for c in self.constraints if c.profile == profile)


_FIELDS = {"id", "profile", "path", "rule", "effect", "quote", "source", "section", "field",
           "when", "note"}


def parse_table(data: Mapping[str, Any]) -> ConstraintTable:
    """The table from its JSON; ``ValueError`` naming the row when a row is malformed."""
    sources = {k: Source(v["title"], v["url"], v["evidence"]) for k, v in data["sources"].items()}
    rows = []
    for row in data["constraints"]:
        if row.get("rule") not in RULES:
            raise ValueError(f"constraint {row.get('id')!r}: unknown rule {row.get('rule')!r}")
        if row.get("source") not in sources:
            raise ValueError(f"constraint {row['id']!r}: unknown source {row.get('source')!r}")
        params = {k: v for k, v in row.items() if k not in _FIELDS}
        common = {k: row[k] for k in _FIELDS if k in row}
        rows.append(Constraint(**common, params=params))
    ids = [r.id for r in rows]
    if len(ids) != len(set(ids)):
        raise ValueError("constraints: ids must be unique")
    return ConstraintTable(data["version"], sources, tuple(rows))


@cache
def constraint_table() -> ConstraintTable:
    """The packaged table, read once."""
    text = resources.files("cds_service.cards.profiles").joinpath("constraints.json").read_text()
    return parse_table(json.loads(text))


def _steps(path: str) -> list[tuple[str, str | None]]:
    steps = []
    for part in _DOT.split(path):
        match = _STEP.match(part)
        if match is None:
            raise ValueError(f"bad path step {part!r} in {path!r}")
        steps.append((match["key"].replace("\\.", "."), match["index"]))
    return steps


def resolve(document: Any, path: str, where: str = "") -> Iterator[tuple[str, Any]]:
    """Every (concrete path, value) that ``path`` names in ``document``; absent parts yield
    nothing. ``a[]`` is every item of the list ``a``, ``a[0]`` its first item."""
    nodes: list[tuple[str, Any]] = [(where, document)]
    for key, index in _steps(path):
        found: list[tuple[str, Any]] = []
        for at, node in nodes:
            if not isinstance(node, Mapping) or key not in node:
                continue
            here, value = f"{at}.{key}" if at else key, node[key]
            if index is None:
                found.append((here, value))
            elif isinstance(value, list) and index == "[]":
                found += [(f"{here}[{i}]", item) for i, item in enumerate(value)]
            elif isinstance(value, list) and len(value) > int(index[1:-1]):
                i = int(index[1:-1])
                found.append((f"{here}[{i}]", value[i]))
        nodes = found
    return iter(nodes)


def first(document: Any, path: str) -> Any:
    """The first value ``path`` names in ``document``, or None."""
    return next((value for _, value in resolve(document, path)), None)
