"""What the guideline core concludes: one Finding per rule that applies.

Findings and notes are values: built by the engine, then only read (cards, governance). They are
not ``frozen`` dataclasses because a frozen one sets each field through ``object.__setattr__``,
about 1.3 K instructions a field, and a request builds several of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cds_service.engine.facts import LabFact, MedicationFact
from cds_service.engine.medications import ClassifiedMedication


@dataclass
class Note:
    """A note whose text lives in the knowledge file, with the values to fill in."""

    key: str
    values: dict[str, str] = field(default_factory=dict)


@dataclass
class Finding:
    """A rule that applies to this patient now, with the evidence a card must show."""

    rule_id: str
    indicator: str
    orders: tuple[MedicationFact, ...] = ()  # the drafted or active orders it concerns
    order_names: tuple[str, ...] = ()  # ingredient names of those orders, for the summary
    labs: tuple[LabFact, ...] = ()  # the patient's values that triggered it
    values: dict[str, str] = field(default_factory=dict)  # summary template values
    notes: tuple[Note, ...] = ()
    drafted_classes: frozenset[str] = frozenset()  # so suggestions can skip what is drafted
    withheld_suggestions: frozenset[str] = frozenset()  # labels the patient's gates rule out


def order_finding(
    rule_id: str,
    indicator: str,
    meds: tuple[ClassifiedMedication, ...],
    notes: tuple[Note, ...] = (),
    drafted_classes: frozenset[str] = frozenset(),
) -> Finding:
    """A finding about some orders: one card naming each drug once."""
    names = tuple([m.ingredient.display for m in meds])
    # positional (rule_id, indicator, orders, order_names, labs, values, notes,
    # drafted_classes): keywords cost a dataclass __init__ about 0.4 K instructions each
    orders = tuple([m.fact for m in meds])
    values = {"orders": ", ".join(dict.fromkeys(names))}
    return Finding(rule_id, indicator, orders, names, (), values, notes, drafted_classes)
