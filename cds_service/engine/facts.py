"""Small facts that the FHIR layer extracts and the guideline core reads.

Nothing changes a fact once made. The per-request ones (a concept, a patient, a condition, a
medication, the record, the hook input, a lab result, usable or not) are not frozen
nonetheless: a frozen dataclass sets each field through ``object.__setattr__`` (about 1.3 K
instructions a field on Python 3.11 against 0.3 K). ``unsafe_hash`` keeps the hash and
equality the frozen versions had.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from fractions import Fraction

Coding = tuple[str, str]  # (system, code), system already normalised


@dataclass(unsafe_hash=True)
class Concept:
    """A coded concept as sent: its codings and any human-readable text."""

    codings: tuple[Coding, ...] = ()
    text: str = ""


@dataclass(unsafe_hash=True)
class PatientFact:
    birth_date: date | None
    gender: str | None = None


@dataclass(unsafe_hash=True)
class ConditionFact:
    ref: str  # "Condition/123"
    concept: Concept
    active: bool  # clinical status active/recurrence/relapse and not refuted/entered-in-error


# Not frozen: a frozen dataclass sets each field through object.__setattr__ (~15 K
# instructions per result for these 8). Nothing assigns to a LabFact; unsafe_hash keeps the
# same field-based hash (and eq) that frozen gave it.
@dataclass(unsafe_hash=True)
class LabFact:
    """One usable lab result, value converted exactly to the analyte's canonical unit."""

    ref: str
    analyte: str  # ferritin | tsat | iron | tibc | uibc | hemoglobin
    value: Fraction  # exact: thresholds are compared unrounded (format.number rounds for show)
    unit: str  # canonical unit
    comparator: str  # "" or one of < <= > >=
    effective: datetime
    status: str
    as_sent: str  # value and unit as the EHR sent them, for the card detail


@dataclass(unsafe_hash=True)
class UnusableLab:
    """A lab result of a known analyte that could not be used, and why."""

    ref: str
    analyte: str
    reason: str
    effective: datetime | None = None


@dataclass(unsafe_hash=True)
class MedicationFact:
    """A MedicationRequest or MedicationAdministration, with its medication resolved."""

    ref: str  # "MedicationRequest/abc"
    kind: str  # request | administration
    status: str
    concept: Concept  # the medication's codings and names
    when: datetime | None = None  # authoredOn or effective time
    reasons: tuple[Concept, ...] = ()  # resolved reasonCode / reasonReference
    reason_stated: bool = False  # any reasonCode or reasonReference present
    route_text: str = ""
    form_text: str = ""  # Medication.form as text (formulation for ingredient-level codes)
    unreadable: str = ""  # why the resource could not be read as FHIR R4; "" when it could


@dataclass(unsafe_hash=True)
class PatientRecord:
    """Everything the rules read about one patient, from prefetch or the FHIR server."""

    patient_id: str
    patient: PatientFact | None
    conditions: tuple[ConditionFact, ...] = ()
    labs: tuple[LabFact, ...] = ()
    unusable_labs: tuple[UnusableLab, ...] = ()
    medications: tuple[MedicationFact, ...] = ()  # active, on-hold, completed, stopped requests
    administrations: tuple[MedicationFact, ...] = ()
    skipped: tuple[str, ...] = ()  # "Observation/x: reason" for invalid resources we skipped
    # (analyte, status) of results whose status never counts (preliminary...): never cited, but
    # a card that cannot decide says that such results exist
    uncounted: tuple[tuple[str, str], ...] = ()


@dataclass(unsafe_hash=True)
class HookInput:
    """What the hook asks about: which hook, the drafted orders, and the clock."""

    hook: str
    now: datetime
    drafts: tuple[MedicationFact, ...] = field(default_factory=tuple)  # the orders to judge
    other_drafts: tuple[MedicationFact, ...] = field(
        default_factory=tuple
    )  # unsigned, not selected
    unreadable_drafts: tuple[MedicationFact, ...] = ()  # orders to judge that could not be read
