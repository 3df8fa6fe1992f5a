"""Prefetch semantics: null is known-empty, absent or OperationOutcome means 'get it yourself'."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def is_operation_outcome(value: object) -> bool:
    """An OperationOutcome in place of data, alone or as a Bundle's only kind of entry."""
    if not isinstance(value, dict):  # JSON objects arrive as dicts; abc checks cost here
        return False
    if value.get("resourceType") == "OperationOutcome":
        return True
    if value.get("resourceType") == "Bundle":
        entries = value.get("entry")
        return isinstance(entries, list) and bool(entries) and all(  # stops at the first datum
            isinstance(e, dict)
            and isinstance(e.get("resource"), dict)
            and e["resource"].get("resourceType") == "OperationOutcome"
            for e in entries
        )
    return False


def missing_keys(templates: Mapping[str, str], prefetch: Mapping[str, Any] | None) -> list[str]:
    """The declared keys the client did not fill (absent, or an OperationOutcome)."""
    given = prefetch or {}
    return [k for k in templates if k not in given or is_operation_outcome(given[k])]


def usable_prefetch(templates: Mapping[str, str], prefetch: Mapping[str, Any]) -> dict[str, Any]:
    """The declared keys only; null stays null (known to be empty)."""
    return {k: prefetch.get(k) for k in templates}
