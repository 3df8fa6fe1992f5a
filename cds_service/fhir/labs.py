"""Observations to LabFacts: analyte by LOINC, status filter, comparator and unit handling."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from fractions import Fraction
from typing import Any

from cds_service.engine.facts import LabFact, UnusableLab
from cds_service.fhir.dates import parse_fhir_datetime
from cds_service.fhir.resources import as_list
from cds_service.fhir.units import exact_number, parse_value_string, to_canonical
from cds_service.knowledge import Knowledge, remember


def analyte_of(knowledge: Knowledge, observation: Mapping[str, Any]) -> str | None:
    """The analyte an Observation reports, from any of its LOINC codings."""
    # Runs for every Observation of the prefetch: one dict lookup per coding, no type checks
    # on the common shape (the keys are (str, str): any other system or code finds nothing).
    code = observation.get("code")
    if not isinstance(code, dict):
        return None
    codings = code.get("coding")
    if not isinstance(codings, list):
        codings = as_list(codings)
    by_coding = knowledge.analyte_by_coding
    for coding in codings:
        if isinstance(coding, dict):
            try:
                analyte = by_coding.get((coding.get("system"), coding.get("code")))
            except TypeError:  # an unhashable system or code (a list, an object)
                continue
            if analyte:
                return analyte
    return None


def effective_time(observation: Mapping[str, Any]) -> datetime | None:
    """effectiveDateTime, else the start (or end) of effectivePeriod, else effectiveInstant."""
    parsed = parse_fhir_datetime(observation.get("effectiveDateTime"))
    if parsed is not None:  # the common case, without building the fallbacks
        return parsed
    period = observation.get("effectivePeriod")
    candidates = []
    if isinstance(period, dict):
        candidates += [period.get("start"), period.get("end")]
    candidates.append(observation.get("effectiveInstant"))
    for candidate in candidates:
        parsed = parse_fhir_datetime(candidate)
        if parsed:
            return parsed
    return None


# Whole-number results as Fractions (immutable, so shared): Fraction(38) is a Python-level
# constructor of some 4 K instructions, and the same few values recur on every request.
_WHOLE: dict[int, Fraction] = {}
_WHOLE_LIMIT = 10**9


def _raw_value(observation: Mapping[str, Any]) -> tuple[str, Fraction, str | None, str] | None:
    quantity = observation.get("valueQuantity")
    number = quantity.get("value") if isinstance(quantity, dict) else None
    # A JSON number only (a string is not a valid valueQuantity.value), read as the exact decimal.
    # (int, float), not int | float: that builds a union object on every call.
    if type(number) is int:  # the common case; not bool, which exact_number refuses
        value: Fraction | None = _WHOLE.get(number)
        if value is None:
            value = Fraction(number)
            if -_WHOLE_LIMIT < number < _WHOLE_LIMIT:  # small keys only
                remember(_WHOLE, number, value)
    else:
        value = exact_number(number) if isinstance(number, (int, float)) else None  # noqa: UP038
    if value is not None:
        assert isinstance(quantity, dict)
        code, sent_unit, sent_comparator = (
            quantity.get("code"), quantity.get("unit"), quantity.get("comparator", "")
        )
        ucum = quantity.get("system") == "http://unitsofmeasure.org"
        unit = code if ucum and code else sent_unit
        shown_unit = sent_unit or unit or ""
        shown = f"{sent_comparator}{number} {shown_unit}"
        comparator = sent_comparator or ""
        if comparator not in ("", "<", "<=", ">", ">="):
            return None  # not a FHIR comparator: no value we could trust
        return comparator, value, unit, shown.strip()
    text = observation.get("valueString")
    if isinstance(text, str):
        parsed = parse_value_string(text)
        if parsed:
            return parsed[0], parsed[1], parsed[2], text.strip()
    return None


def lab_fact(
    knowledge: Knowledge, observation: Mapping[str, Any], analyte_id: str, ref: str
) -> LabFact | UnusableLab:
    """A usable LabFact, or an UnusableLab saying why the result cannot be used."""
    return lab_fact_at(knowledge, observation, analyte_id, ref, effective_time(observation))


def lab_fact_at(
    knowledge: Knowledge,
    observation: Mapping[str, Any],
    analyte_id: str,
    ref: str,
    when: datetime | None,
) -> LabFact | UnusableLab:
    """``lab_fact`` with the result's ``effective_time`` already read, as lab selection sorts
    on it."""
    if when is None:
        return UnusableLab(ref, analyte_id, "it has no date")
    raw = _raw_value(observation)
    if raw is None:
        return UnusableLab(ref, analyte_id, "it has no numeric value", when)
    comparator, value, unit, shown = raw
    analyte = knowledge.analytes[analyte_id]
    canonical = to_canonical(analyte, value, unit)
    if canonical is None:
        why = f"unit '{unit or 'none'}' is not one the service can convert"
        return UnusableLab(ref, analyte_id, why, when)
    if canonical < 0:
        return UnusableLab(ref, analyte_id, "its value is negative", when)
    problem = knowledge.plausible[analyte_id].problem(canonical, comparator)
    if problem:
        return UnusableLab(ref, analyte_id, f"{analyte.display} {shown} set aside: {problem}", when)
    # Positional, in field order (ref, analyte, value, unit, comparator, effective, status,
    # as_sent): each keyword costs a dataclass __init__ about 0.4 K instructions more.
    status = str(observation.get("status"))
    return LabFact(ref, analyte_id, canonical, analyte.unit, comparator, when, status, shown)
