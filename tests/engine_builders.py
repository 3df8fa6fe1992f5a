"""Facts for engine unit tests, built directly (no FHIR parsing)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

from cds_service.engine.facts import (
    Concept,
    ConditionFact,
    HookInput,
    LabFact,
    MedicationFact,
    PatientFact,
    PatientRecord,
)

NOW = datetime(2026, 6, 15, 9, 0, tzinfo=UTC)
UNITS = {"ferritin": "ng/mL", "tsat": "%", "iron": "ug/dL", "tibc": "ug/dL", "uibc": "ug/dL",
         "hemoglobin": "g/dL"}
CONDITION_CODES = {
    "rls": ("snomed", "32914008"), "esrd": ("icd10cm", "N18.6"), "pregnancy": ("icd10cm", "Z33.1"),
    "parkinson": ("snomed", "49049000"), "hyperprolactinemia": ("icd10cm", "E22.1"),
    "depression": ("icd10cm", "F32.9"),
}


def lab(analyte: str, value: float | str, days_ago: int = 10, comparator: str = "") -> LabFact:
    """A result in the canonical unit; ``value`` as written (75.01 means exactly 75.01)."""
    return LabFact(
        ref=f"Observation/{analyte}-{days_ago}", analyte=analyte,
        value=Fraction(Decimal(str(value))),
        unit=UNITS[analyte], comparator=comparator, effective=NOW - timedelta(days=days_ago),
        status="final", as_sent=f"{comparator}{value}",
    )


def condition(name: str, active: bool = True) -> ConditionFact:
    return ConditionFact(f"Condition/{name}", Concept((CONDITION_CODES[name],), name), active)


def med(
    name: str, status: str = "draft", ref: str | None = None, reason: str | None = None,
    kind: str = "request", days_ago: int = 0,
) -> MedicationFact:
    reasons = (Concept((CONDITION_CODES[reason],), reason),) if reason else ()
    return MedicationFact(
        ref=ref or f"MedicationRequest/{name.replace(' ', '-')}", kind=kind, status=status,
        concept=Concept((), name), when=NOW - timedelta(days=days_ago), reasons=reasons,
        reason_stated=bool(reasons),
    )


def record(
    conditions=("rls",), labs=(), meds=(), administrations=(), birth=date(1970, 1, 1),
    skipped=(),
) -> PatientRecord:
    return PatientRecord(
        patient_id="p1",
        patient=PatientFact(birth) if birth else None,
        conditions=tuple(condition(c) if isinstance(c, str) else c for c in conditions),
        labs=tuple(labs), medications=tuple(meds), administrations=tuple(administrations),
        skipped=tuple(skipped),
    )


def hook(
    name: str = "patient-view", drafts=(), others=(), now: datetime = NOW, unreadable=()
) -> HookInput:
    return HookInput(name, now, tuple(drafts), tuple(others), unreadable_drafts=tuple(unreadable))
