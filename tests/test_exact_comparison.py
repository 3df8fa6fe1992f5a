"""``below`` compares integers (a*d against c*b): the same answers as Fraction's operators."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from fractions import Fraction

from cds_service.engine.facts import LabFact
from cds_service.engine.iron import below

NOW = datetime(2026, 11, 2, tzinfo=UTC)


def _general(value: Fraction, comparator: str, threshold: Fraction, inclusive: bool):
    """``below`` as it was written with Fraction comparisons."""
    order = (value > threshold) - (value < threshold)
    surely_below = order < 0 or (inclusive and order == 0)
    if comparator == "":
        return surely_below
    if comparator in ("<", "<="):
        if comparator == "<" and order <= 0:
            return True
        return True if surely_below else None
    if comparator == ">" and order >= 0:
        return False
    return False if not surely_below else None


def _lab(value: Fraction, comparator: str) -> LabFact:
    return LabFact("Observation/x", "ferritin", value, "ng/mL", comparator, NOW, "final", "")


def test_below_agrees_with_fraction_comparisons_on_random_values() -> None:
    rng = random.Random(17)
    thresholds = [Fraction(75), Fraction(20), Fraction(25, 2), Fraction(45), Fraction(1, 3)]
    for _ in range(5000):
        threshold = rng.choice(thresholds)
        # near the threshold (equal, a hair either side), exact ratios, negatives, integers
        value = rng.choice([
            threshold,
            threshold + Fraction(1, rng.randint(1, 10**9)),
            threshold - Fraction(1, rng.randint(1, 10**9)),
            Fraction(rng.randint(-10**6, 10**6), rng.randint(1, 10**6)),
            Fraction(rng.randint(0, 200)),
        ])
        comparator = rng.choice(["", "<", "<=", ">", ">="])
        inclusive = rng.random() < 0.5
        expected = _general(value, comparator, threshold, inclusive)
        assert below(_lab(value, comparator), threshold, inclusive) is expected, (
            value, comparator, threshold, inclusive)


def test_below_takes_integer_thresholds_too() -> None:
    assert below(_lab(Fraction(7501, 100), ""), 75, True) is False
    assert below(_lab(Fraction(75), ""), 75, True) is True
    assert below(None, Fraction(75), True) is None
