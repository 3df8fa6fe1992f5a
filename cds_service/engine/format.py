"""Plain-text rendering of lab values for summaries and details."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction

from cds_service.engine.facts import LabFact

NAMES = {"ferritin": "ferritin", "tsat": "TSAT", "hemoglobin": "hemoglobin"}
MAX_DECIMALS = 6


def _rounded(value: Fraction, decimals: int) -> Decimal:
    exact = Decimal(value.numerator) / Decimal(value.denominator)  # 28 digits: ample for show
    return exact.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_EVEN)


def _plain(value: Decimal) -> str:
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def number(value: Fraction | Decimal | float | int) -> str:
    """A value as a clinician reads it: 42 -> '42', 19.99 -> '19.99', 66.7556 -> '66.76'.

    Two decimals, except that a value which is not exactly a round number is never shown as
    one: thresholds (20 %, 75 ng/mL, 12.5 g/dL) are round, so 19.999 shows as '19.999', not
    '20', and 75.002 as '75.002'. Never more than six decimals.
    """
    exact = value if isinstance(value, Fraction) else Fraction(value)
    numerator, denominator = exact.as_integer_ratio()  # one call, not two properties
    if 100 % denominator == 0:  # at most two decimals (the usual case): shown exactly
        cents = numerator * (100 // denominator)
        sign, cents = ("-", -cents) if cents < 0 else ("", cents)
        whole, part = divmod(cents, 100)
        return f"{sign}{whole}" + (f".{part:02d}".rstrip("0") if part else "")
    for decimals in range(2, MAX_DECIMALS + 1):
        shown = _rounded(exact, decimals)
        if Fraction(shown) == exact:
            return _plain(shown)
        if _rounded(exact, 1) != shown:  # a digit past the first decimal: not a round number
            return _plain(shown)
    return f"{_rounded(exact, MAX_DECIMALS):f}"  # kept zeros say 'not exactly this'


def lab_value(fact: LabFact) -> str:
    """'<10 ng/mL', '15.2%'."""
    unit = fact.unit if fact.unit == "%" else f" {fact.unit}"
    return f"{fact.comparator}{number(fact.value)}{unit}"


def lab_phrase(fact: LabFact) -> str:
    """'ferritin 42 ng/mL' for summaries."""
    return f"{NAMES.get(fact.analyte, fact.analyte)} {lab_value(fact)}"
