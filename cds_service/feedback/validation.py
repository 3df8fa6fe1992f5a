"""Validation of CDS Hooks 2.0 feedback bodies (F1) into frozen FeedbackItem values."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

MAX_ITEMS = 1000
MAX_TEXT = 4000
OUTCOMES = ("accepted", "overridden")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_RFC3339 = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[Tt](\d{2}:\d{2}:\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})$"
)


class FeedbackError(ValueError):
    """Invalid feedback; ``field`` is a JSON path such as ``feedback[2].outcome``."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class OverrideReason:
    """An override reason: a Coding and/or a free-text comment, plus the object as given."""

    system: str | None
    code: str | None
    display: str | None
    user_comment: str | None
    raw_json: str


@dataclass(frozen=True)
class FeedbackItem:
    """One validated feedback item; ``outcome_timestamp`` is timezone-aware UTC."""

    card: str
    outcome: str
    outcome_timestamp: datetime
    accepted_suggestions: tuple[str, ...] = ()
    override_reason: OverrideReason | None = None


def validate_feedback(body: object) -> list[FeedbackItem]:
    """Validate a feedback request body; raise FeedbackError naming the first invalid field."""
    if not isinstance(body, dict):
        raise FeedbackError("$", "request body must be a JSON object")
    items = body.get("feedback")
    if not isinstance(items, list):
        raise FeedbackError("feedback", "required, must be an array of feedback items")
    if not items:
        raise FeedbackError("feedback", "must contain at least one feedback item")
    if len(items) > MAX_ITEMS:
        raise FeedbackError("feedback", f"at most {MAX_ITEMS} items per request")
    return [_item(raw, f"feedback[{index}]") for index, raw in enumerate(items)]


def parse_rfc3339(value: object, field: str) -> datetime:
    """Parse an RFC 3339 timestamp with an offset into an aware UTC datetime."""
    match = _RFC3339.match(value) if isinstance(value, str) else None
    if match is None:
        raise FeedbackError(field, "must be an RFC 3339 timestamp such as 2024-05-01T12:00:00Z")
    day, time, fraction, offset = match.groups()
    micro = "." + (fraction + "000000")[:6] if fraction else ""
    offset = "+00:00" if offset in ("Z", "z") else offset
    try:
        return datetime.fromisoformat(f"{day}T{time}{micro}{offset}").astimezone(UTC)
    except (ValueError, OverflowError):
        raise FeedbackError(field, "is not a valid date and time") from None


def _item(raw: Any, path: str) -> FeedbackItem:
    if not isinstance(raw, dict):
        raise FeedbackError(path, "must be a JSON object")
    card = raw.get("card")
    if not isinstance(card, str) or not _UUID.match(card):
        raise FeedbackError(f"{path}.card", "required, must be the card uuid")
    outcome = raw.get("outcome")
    if outcome not in OUTCOMES:
        raise FeedbackError(f"{path}.outcome", "required, must be 'accepted' or 'overridden'")
    if "outcomeTimestamp" not in raw:
        raise FeedbackError(f"{path}.outcomeTimestamp", "required")
    timestamp = parse_rfc3339(raw["outcomeTimestamp"], f"{path}.outcomeTimestamp")
    suggestions = _suggestions(raw.get("acceptedSuggestions"), f"{path}.acceptedSuggestions")
    if outcome == "accepted" and not suggestions:
        raise FeedbackError(
            f"{path}.acceptedSuggestions", "required when outcome is 'accepted' (one or more)"
        )
    if outcome == "overridden" and suggestions:
        raise FeedbackError(
            f"{path}.acceptedSuggestions", "not allowed when outcome is 'overridden'"
        )
    reason = None
    if raw.get("overrideReason") is not None:
        if outcome == "accepted":
            raise FeedbackError(f"{path}.overrideReason", "not allowed when outcome is 'accepted'")
        reason = _override_reason(raw["overrideReason"], f"{path}.overrideReason")
    return FeedbackItem(card, outcome, timestamp, suggestions, reason)


def _suggestions(raw: Any, path: str) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise FeedbackError(path, 'must be an array of {"id": <suggestion uuid>}')
    ids = []
    for index, entry in enumerate(raw):
        value = entry.get("id") if isinstance(entry, dict) else None
        if not isinstance(value, str) or not value.strip() or len(value) > 200:
            raise FeedbackError(f"{path}[{index}].id", "required, must be the suggestion uuid")
        ids.append(value)
    return tuple(ids)


def _override_reason(raw: Any, path: str) -> OverrideReason:
    if not isinstance(raw, dict):
        raise FeedbackError(path, "must be a JSON object with 'reason' and/or 'userComment'")
    comment = raw.get("userComment")
    if comment is not None and (not isinstance(comment, str) or len(comment) > MAX_TEXT):
        raise FeedbackError(f"{path}.userComment", f"must be a string of at most {MAX_TEXT} chars")
    coding = raw.get("reason")
    system = code = display = None
    if coding is not None:
        if not isinstance(coding, dict):
            raise FeedbackError(f"{path}.reason", "must be a Coding object")
        code = coding.get("code")
        if not isinstance(code, str) or not code.strip():
            raise FeedbackError(f"{path}.reason.code", "required, must be a non-empty string")
        system, display = coding.get("system"), coding.get("display")
        for name, value in (("system", system), ("display", display), ("code", code)):
            if value is not None and (not isinstance(value, str) or len(value) > MAX_TEXT):
                raise FeedbackError(f"{path}.reason.{name}", "must be a string")
    if coding is None and not comment:
        raise FeedbackError(path, "must contain 'reason' and/or 'userComment'")
    raw_json = json.dumps(raw, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    if len(raw_json) > 4 * MAX_TEXT:
        raise FeedbackError(path, "is too large")
    return OverrideReason(system, code, display, comment, raw_json)
