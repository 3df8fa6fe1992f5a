"""FHIR date, dateTime and instant strings to aware datetimes (partial dates allowed)."""

from __future__ import annotations

from datetime import UTC, date, datetime


def parse_fhir_datetime(value: object) -> datetime | None:
    """'2026', '2026-10', '2026-10-01' or a full dateTime -> aware UTC datetime; None if invalid."""
    if type(value) is str and len(value) == 20 and value[19] == "Z" and value[10] == "T":
        # 'YYYY-MM-DDThh:mm:ssZ', what EHRs send for nearly every result: Python 3.11 reads
        # the final "Z" as UTC itself, with no other step needed (ValueError: not a date).
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    if not isinstance(value, str) or not value:
        return None
    text = value.strip()
    try:
        n = len(text)
        if n == 4:
            return datetime(int(text), 1, 1, tzinfo=UTC)
        if n == 7:
            return datetime(int(text[:4]), int(text[5:7]), 1, tzinfo=UTC)
        if n == 10:  # a date (an order's authoredOn): midnight UTC, read in one call, where
            # .replace(tzinfo=UTC) on the naive result costs some 10 K instructions
            return datetime.fromisoformat(text + "T00:00:00Z")
        # Python 3.11 reads a final "Z" itself; only a "Z" elsewhere needs the old rewrite.
        if n > 11 and text[10] == "T" and text[-1] == "Z" and text.count("Z") == 1:
            parsed = datetime.fromisoformat(text)
        else:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        if parsed.tzinfo is UTC:  # the common case ("...Z"): already what we return
            return parsed
        if parsed.tzinfo is None:
            return parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError):  # OverflowError: year 1 or 9999 shifted past the range
        return None


def parse_fhir_date(value: object) -> date | None:
    """A FHIR date (possibly partial) as a date; partial dates fall on the first day."""
    parsed = parse_fhir_datetime(value)
    return parsed.date() if parsed else None
