"""Validation of CDS Hooks 2.0 feedback bodies (F1) into frozen FeedbackItem values.

Read as EHRs send it: the spec's ``overrideReason`` and Epic's ``overrideReasons`` (one object or
an array), a ``reason`` Coding or Epic's ``com.epic.cdshooks.feedback.overrideReason.*``
extension keys, and card ids that are not UUIDs (Epic's examples use ``"123456"``). Each item is
judged on its own: a bad item is reported by index and never costs the good ones.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

MAX_ITEMS = 1000
MAX_TEXT = 4000
MAX_CARD_ID = 64  # the card_uuid column's width
#: Epic's override-reason extension keys, and the system recorded for its (site-local) categories.
EPIC_REASON_PREFIX = "com.epic.cdshooks.feedback.overrideReason."
EPIC_REASON_SYSTEM = "urn:com.epic.cdshooks.feedback.overrideReason.reasonCategory"
_EPIC_KEYS = ("reasonCategory", "reasonDisplay", "reasonTitle")
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
    """An override reason in one normalised form, plus the object(s) as given (``raw_json``).

    From a Coding: system/code/display. From Epic's extension form: ``code`` is the category
    (else the title, else the display), ``system`` is ``EPIC_REASON_SYSTEM``, ``display`` is
    Epic's display (else its title) and ``title`` Epic's title.
    """

    system: str | None
    code: str | None
    display: str | None
    user_comment: str | None
    raw_json: str
    title: str | None = None


@dataclass(frozen=True)
class Rejected:
    """One feedback item that could not be read: its index, the JSON path and why."""

    index: int
    field: str
    reason: str

    def as_json(self) -> dict[str, object]:
        return {"index": self.index, "field": self.field, "reason": self.reason}


@dataclass(frozen=True)
class FeedbackBatch:
    """The readable items of a request (``items``) and the unreadable ones (``rejected``)."""

    items: tuple[FeedbackItem, ...]
    rejected: tuple[Rejected, ...]


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
    batch = read_feedback(body)
    if batch.rejected:
        first = batch.rejected[0]
        raise FeedbackError(first.field, first.reason)
    return list(batch.items)


def read_feedback(body: object) -> FeedbackBatch:
    """Read every item of a feedback body on its own; ``FeedbackError`` only when the body
    itself is unusable (not an object, no ``feedback`` array, empty, too many items)."""
    if not isinstance(body, dict):
        raise FeedbackError("$", "request body must be a JSON object")
    items = body.get("feedback")
    if not isinstance(items, list):
        raise FeedbackError("feedback", "required, must be an array of feedback items")
    if not items:
        raise FeedbackError("feedback", "must contain at least one feedback item")
    if len(items) > MAX_ITEMS:
        raise FeedbackError("feedback", f"at most {MAX_ITEMS} items per request")
    good: list[FeedbackItem] = []
    rejected: list[Rejected] = []
    for index, raw in enumerate(items):
        try:
            good.append(_item(raw, f"feedback[{index}]"))
        except FeedbackError as error:
            rejected.append(Rejected(index, error.field, error.message))
    return FeedbackBatch(tuple(good), tuple(rejected))


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
    if not isinstance(card, str) or not card.strip() or len(card) > MAX_CARD_ID:
        raise FeedbackError(
            f"{path}.card", f"required, must be the card id (a string of 1-{MAX_CARD_ID} chars)"
        )
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
    given = [key for key in ("overrideReason", "overrideReasons") if raw.get(key) is not None]
    reason = None
    if len(given) == 2:
        raise FeedbackError(
            f"{path}.overrideReasons", "send either overrideReason or overrideReasons, not both"
        )
    if given:
        key = given[0]
        if outcome == "accepted":
            raise FeedbackError(f"{path}.{key}", "not allowed when outcome is 'accepted'")
        reason = _override_reasons(raw[key], f"{path}.{key}")
    return FeedbackItem(card, outcome, timestamp, suggestions, reason)


def is_uuid(card: str) -> bool:
    """True for a card id in UUID form (only those can carry a rule id)."""
    return bool(_UUID.match(card))


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


def _override_reasons(raw: Any, path: str) -> OverrideReason:
    """One reason object, or (Epic's plural key) an array of them: the first one that names a
    reason is the item's reason for analytics; comments are joined; all are kept as given."""
    if not isinstance(raw, list):
        return _override_reason(raw, path, raw)
    if not raw:
        raise FeedbackError(path, "must not be an empty array")
    reasons = [_override_reason(entry, f"{path}[{i}]", raw) for i, entry in enumerate(raw)]
    named = [reason for reason in reasons if reason.code is not None] or reasons
    comments = [reason.user_comment for reason in reasons if reason.user_comment]
    comment = "\n".join(comments) if comments else None
    if comment is not None and len(comment) > MAX_TEXT:
        raise FeedbackError(path, f"comments are longer than {MAX_TEXT} chars together")
    first = named[0]
    return OverrideReason(
        first.system, first.code, first.display, comment, first.raw_json, first.title
    )


def _override_reason(raw: Any, path: str, given: Any) -> OverrideReason:
    if not isinstance(raw, dict):
        raise FeedbackError(path, "must be a JSON object with 'reason' and/or 'userComment'")
    comment = raw.get("userComment")
    if comment is not None and (not isinstance(comment, str) or len(comment) > MAX_TEXT):
        raise FeedbackError(f"{path}.userComment", f"must be a string of at most {MAX_TEXT} chars")
    coding = raw.get("reason")
    system = code = display = title = None
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
    else:
        epic = _epic_reason(raw.get("extension"), f"{path}.extension")
        if epic:
            category, epic_display, title = (epic.get(key) for key in _EPIC_KEYS)
            code = category or title or epic_display
            system, display = EPIC_REASON_SYSTEM, epic_display or title
    if code is None and not comment:
        raise FeedbackError(
            path, "must contain 'reason', Epic's overrideReason extension and/or 'userComment'"
        )
    # The dedup key hashes this: the object as given (the whole array for the plural form).
    raw_json = json.dumps(given, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    if len(raw_json) > 4 * MAX_TEXT:
        raise FeedbackError(path, "is too large")
    return OverrideReason(system, code, display, comment, raw_json, title)


def _epic_reason(extension: Any, path: str) -> dict[str, str]:
    """Epic's extension keys as {"reasonCategory": ..., ...}: from Epic's object form
    (``{"com.epic...reasonCategory": "45"}``) or a FHIR-style array of ``{url, value*}``."""
    if isinstance(extension, list):
        pairs = [
            (entry.get("url"), next((v for k, v in entry.items() if k.startswith("value")), None))
            for entry in extension
            if isinstance(entry, dict)
        ]
    elif isinstance(extension, dict):
        pairs = list(extension.items())
    else:
        return {}
    found: dict[str, str] = {}
    for key, value in pairs:
        if not isinstance(key, str) or not key.startswith(EPIC_REASON_PREFIX):
            continue
        name = key[len(EPIC_REASON_PREFIX) :]
        if name not in _EPIC_KEYS:
            continue
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)  # Epic sends strings; a number category means the same
        if not isinstance(value, str) or len(value) > MAX_TEXT:
            raise FeedbackError(f"{path}.{key}", f"must be a string of at most {MAX_TEXT} chars")
        if value.strip():
            found[name] = value
    return found
