"""Lab values as EHRs send them: comparators, unit spellings, fractions, values in strings."""

from __future__ import annotations

import re

from cds_service.knowledge import Analyte

# Applied to stripped text of bounded length: no leading \s* to backtrack over.
_VALUE_STRING = re.compile(r"(<=|>=|<|>|≤|≥)?\s?([0-9]+(?:\.[0-9]+)?)\s?(\S*(?:\s\S+)*)")
MAX_VALUE_STRING = 64
_COMPARATORS = {"≤": "<=", "≥": ">="}


def normalise_unit(unit: str | None) -> str:
    """Fold the common spellings of one unit onto one key: 'µg/L', 'mcg/L', 'ug/l' -> 'ug/l'."""
    if not isinstance(unit, str) or not unit:
        return ""
    text = unit.strip().lower().replace(" ", "")
    text = text.replace("µ", "u").replace("μ", "u").replace("mcg", "ug")
    return text.replace("/milliliter", "/ml").replace("/liter", "/l").replace("/deciliter", "/dl")


def parse_value_string(text: str) -> tuple[str, float, str] | None:
    """'<10 ng/mL' -> ('<', 10.0, 'ng/mL'); None when there is no number."""
    text = text.strip()
    match = _VALUE_STRING.fullmatch(text) if len(text) <= MAX_VALUE_STRING else None
    if not match:
        return None
    comparator = match.group(1) or ""
    return _COMPARATORS.get(comparator, comparator), float(match.group(2)), match.group(3)


def to_canonical(analyte: Analyte, value: float, unit: str | None) -> float | None:
    """The value in the analyte's canonical unit, or None when the unit is unknown or unsafe."""
    key = normalise_unit(unit)
    if key in analyte.units:
        return value * analyte.units[key]
    if key in analyte.fraction_units:
        # A fraction above 1 is not a fraction: refuse rather than guess.
        return value * 100 if 0 <= value <= 1 else None
    return None
