"""Plain-text rendering of lab values for summaries and details."""

from __future__ import annotations

from cds_service.engine.facts import LabFact

NAMES = {"ferritin": "ferritin", "tsat": "TSAT", "hemoglobin": "hemoglobin"}


def number(value: float) -> str:
    """42.0 -> '42', 19.99 -> '19.99', 66.7556 -> '66.76': two decimals, so a value just
    below a threshold is never shown as the threshold itself."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def lab_value(fact: LabFact) -> str:
    """'<10 ng/mL', '15.2%'."""
    unit = fact.unit if fact.unit == "%" else f" {fact.unit}"
    return f"{fact.comparator}{number(fact.value)}{unit}"


def lab_phrase(fact: LabFact) -> str:
    """'ferritin 42 ng/mL' for summaries."""
    return f"{NAMES.get(fact.analyte, fact.analyte)} {lab_value(fact)}"
