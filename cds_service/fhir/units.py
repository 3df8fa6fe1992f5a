"""Lab values as EHRs send them: comparators, unit spellings, fractions, values in strings.

Values are exact: the decimal the EHR sent becomes a ``Fraction``, and conversions multiply by
exact factors, so a threshold is never crossed by binary rounding (168.525 pmol/L ÷ 2.247 is
75 ng/mL, not 75.00000000000001).
"""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation
from fractions import Fraction

from cds_service.knowledge import Analyte

# Applied to stripped text of bounded length: no leading \s* to backtrack over.
_VALUE_STRING = re.compile(r"(<=|>=|<|>|≤|≥)?\s?([0-9]+(?:\.[0-9]+)?)\s?(\S*(?:\s\S+)*)")
MAX_VALUE_STRING = 64
_COMPARATORS = {"≤": "<=", "≥": ">="}


def exact_number(value: object) -> Fraction | None:
    """The exact decimal a JSON number or numeric string stands for; None if not finite.

    JSON parsers hand non-integers over as binary floats. ``repr`` of a float is the shortest
    decimal that reads back as the same float, and any decimal of at most 15 significant digits
    is the only such decimal of that length (IEEE 754 doubles keep 15 digits), so ``repr`` gives
    back exactly what the EHR wrote ("19.99", "168.525"). Lab results never carry more digits.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Fraction(value)
    if isinstance(value, float):
        return _decimal_text(repr(value)) if math.isfinite(value) else None
    if isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            return None
        return Fraction(number) if number.is_finite() else None
    return None


def _decimal_text(text: str) -> Fraction:
    """'168.525' -> 168525/1000 by integer arithmetic (the hot path); '1e-05' via Decimal."""
    whole, _, decimals = text.partition(".")
    if whole.lstrip("-").isdigit() and (decimals == "" or decimals.isdigit()):
        return Fraction(int(whole + decimals), 10 ** len(decimals))
    return Fraction(Decimal(text))


def normalise_unit(unit: str | None) -> str:
    """Fold the common spellings of one unit onto one key: 'µg/L', 'mcg/L', 'ug/l' -> 'ug/l'."""
    if not isinstance(unit, str) or not unit:
        return ""
    # A handful of spellings recur on every result: each is folded once (bounded, as any
    # string an EHR sends may arrive here).
    folded = _FOLDED.get(unit)
    if folded is None:
        if len(_FOLDED) >= MAX_FOLDED:
            _FOLDED.clear()
        folded = _FOLDED[unit] = _fold_unit(unit)
    return folded


MAX_FOLDED = 1024
_FOLDED: dict[str, str] = {}


def _fold_unit(unit: str) -> str:
    text = unit.strip().lower().replace(" ", "")
    text = text.replace("µ", "u").replace("μ", "u").replace("mcg", "ug")
    return text.replace("/milliliter", "/ml").replace("/liter", "/l").replace("/deciliter", "/dl")


def parse_value_string(text: str) -> tuple[str, Fraction, str] | None:
    """'<10 ng/mL' -> ('<', Fraction(10), 'ng/mL'); None when there is no number."""
    text = text.strip()
    match = _VALUE_STRING.fullmatch(text) if len(text) <= MAX_VALUE_STRING else None
    if not match:
        return None
    comparator = match.group(1) or ""
    value = exact_number(match.group(2))
    assert value is not None  # the pattern only admits plain decimals
    return _COMPARATORS.get(comparator, comparator), value, match.group(3)


def to_canonical(analyte: Analyte, value: Fraction, unit: str | None) -> Fraction | None:
    """The value in the analyte's canonical unit, or None when the unit is unknown or unsafe."""
    key = normalise_unit(unit)
    factor = analyte.units.get(key)
    if factor is not None:
        # Most results come in the canonical unit: skip a pure-Python multiplication by 1.
        return value if factor == 1 else value * factor  # one exact Fraction.__eq__ call
    if key in analyte.fraction_units:
        # A fraction above 1 is not a fraction: refuse rather than guess.
        return value * 100 if 0 <= value <= 1 else None
    return None
