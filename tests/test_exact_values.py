"""Exact numbers: JSON floats read back as the decimal sent, and values shown as clinicians read."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import orjson
import pytest

from cds_service.engine.format import number
from cds_service.fhir.units import exact_number, parse_value_string


@pytest.mark.parametrize("text", [
    "75", "75.01", "168.525", "168.54747", "19.99", "0.1999", "0.2", "11.7", "58.5", "9.995",
    "449.37753", "112.32753", "59.97", "240.03", "0.35", "1e-05", "123456789012.345",
])
def test_json_number_is_read_as_the_decimal_sent(text) -> None:
    # orjson (the request parser) gives a binary float; the shortest repr of that float is the
    # sent decimal for every number of at most 15 significant digits.
    parsed = orjson.loads(f'{{"value": {text}}}')["value"]
    assert exact_number(parsed) == Fraction(Decimal(text))


def test_more_than_17_digits_are_not_recoverable_and_that_is_documented() -> None:
    # 0.10000000000000001 and 0.1 are the same double: the shorter is what we read. No lab
    # sends 17 significant digits; this pins the documented limit.
    assert exact_number(orjson.loads("0.10000000000000001")) == Fraction(1, 10)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), True, None, "abc", "NaN"])
def test_non_numbers_are_refused(value) -> None:
    assert exact_number(value) is None


def test_value_string_is_exact() -> None:
    assert parse_value_string("<=168.525 pmol/L") == ("<=", Fraction("168.525"), "pmol/L")


@pytest.mark.parametrize(("value", "shown"), [
    (Fraction(20), "20"), (Fraction("19.99"), "19.99"), (Fraction("66.7556"), "66.76"),
    (Fraction("19.999"), "19.999"), (Fraction("75.002"), "75.002"),
    (Fraction("168.526") * 1000 / 2247, "75.0004"), (Fraction("12.4999"), "12.4999"),
    (Fraction(100, 3), "33.33"), (Fraction("75.0000001"), "75.000000"), (Fraction("42.1"), "42.1"),
])
def test_display_is_clinical_and_never_rounds_onto_a_round_number(value, shown) -> None:
    assert number(value) == shown
