"""The faster lab selection (stops once nothing left can matter; reads the common shape with
bare subscripts and any UTC date with fromisoformat) and PlausibleRange.problem (integer
cross-multiplication) give exactly what the versions they replaced gave."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from fractions import Fraction
from operator import itemgetter
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cds_service.engine.facts import LabFact, UnusableLab
from cds_service.fhir.lab_selection import (
    NEVER,
    NOT_COUNTED,
    PANEL,
    SINGLE,
    _codes_to_analytes,
    _panel_complete,
    select_labs,
)
from cds_service.fhir.labs import analyte_of, effective_time, lab_fact_at
from cds_service.fhir.resources import is_about_patient, label
from cds_service.knowledge import PlausibleRange, load_knowledge

K = load_knowledge()
FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _before_select_labs(
    observations: list[dict[str, Any]],
    patient_id: str,
    is_valid: Callable[[Mapping[str, Any]], bool],
) -> tuple[Any, ...]:
    """select_labs as it was before the early stop: walks every candidate."""
    statuses = K.usable_lab_statuses
    by_code = _codes_to_analytes(K)
    candidates = []
    uncounted: dict[tuple[str, str], None] = {}
    for resource in observations:
        try:
            for coding in resource["code"]["coding"]:
                systems = by_code.get(coding["code"])
                if systems is not None and (analyte := systems.get(coding["system"])):
                    break
            else:
                continue
            if resource["status"] in statuses:
                when = resource["effectiveDateTime"]
                if len(when) == 20 and when[19] == "Z" and when[10] == "T":
                    candidates.append((datetime.fromisoformat(when), analyte, resource))
                    continue
        except (KeyError, TypeError, ValueError):
            pass
        general = analyte_of(K, resource)
        if general is None:
            continue
        status = resource.get("status")
        if isinstance(status, str) and status not in statuses:
            if status not in NOT_COUNTED and is_about_patient(resource, patient_id):
                uncounted[(general, status)] = None
            continue
        candidates.append((effective_time(resource) or NEVER, general, resource))
    candidates.sort(key=itemgetter(0), reverse=True)
    usable: list[LabFact] = []
    unusable: list[UnusableLab] = []
    done: set[str] = set()
    panel_day = None
    for key, analyte, resource in candidates:
        if analyte in PANEL:
            if panel_day is not None:
                if SINGLE <= done:
                    break
                continue
        elif analyte in done:
            continue
        if not is_about_patient(resource, patient_id):
            continue
        when = None if key is NEVER else key
        fact = lab_fact_at(K, resource, analyte, label(resource), when)
        if isinstance(fact, UnusableLab):
            unusable.append(fact)
        elif is_valid(resource):
            usable.append(fact)
            done.add(analyte)
            if analyte in PANEL and _panel_complete(usable, key.date()):
                panel_day = key.date()
    return tuple(usable), tuple(unusable), tuple(uncounted)


CODES = {analyte: loinc for loinc, analyte in sorted(K.analyte_by_loinc.items())}
ANALYTES = sorted(CODES)
assert PANEL | SINGLE <= set(ANALYTES)
UNITS = {"ferritin": "ng/mL", "tsat": "%", "iron": "ug/dL", "tibc": "ug/dL", "uibc": "ug/dL",
         "hemoglobin": "g/dL"}


def _stamp(draw: st.DrawFn, form: str, day: int, hour: int) -> object:
    if form == "z":
        return f"2026-10-{day:02d}T{hour:02d}:00:00Z"
    if form == "offset":
        return f"2026-10-{day:02d}T{hour:02d}:00:00+02:00"
    if form == "date":
        return f"2026-10-{day:02d}"
    if form == "utc-other":  # UTC written other ways: fromisoformat and the general reading
        return draw(st.sampled_from(UTC_FORMS)).format(d=day, h=hour)
    return {"missing": None, "junk": "not a date", "year-one": "0001-01-01T00:00:00Z"}[form]


UTC_FORMS = (
    "2026-10-{d:02d}T{h:02d}:00:00+00:00", "2026-10-{d:02d}T{h:02d}:00:00-00:00",
    "2026-10-{d:02d} {h:02d}:00:00Z", "202610{d:02d}T{h:02d}0000Z", "2026-10-{d:02d}T{h:02d}Z",
    "2026-10-{d:02d}T{h:02d}:00:00.5Z", "2026-10-{d:02d}T{h:02d}:00:00,25Z",
    " 2026-10-{d:02d}T{h:02d}:00:00Z", "2026-10-{d:02d}T{h:02d}:00:00Z ",
    "2026-10-{d:02d}T24:00:00Z",
    "2026-10-{d:02d}T{h:02d}:00", "2026-W01-{d}T{h:02d}:00:00Z", "2026-10", "2026",
)


def coded(code: str) -> st.SearchStrategy[object]:
    """The code as nearly every result carries it, and the shapes that leave the fast path:
    another coding first, a lone coding object, no system, no codings, an unhashable code."""
    loinc = {"system": "http://loinc.org", "code": code}
    other = {"system": "http://example.org/local", "code": "FER"}
    return st.sampled_from([
        {"coding": [loinc]}, {"coding": [loinc]}, {"coding": [loinc]},
        {"coding": [other, loinc]}, {"coding": [loinc, other]}, {"coding": loinc},
        {"coding": [{"code": code}, loinc]}, {"coding": []}, {"coding": [{"code": [code]}]},
        {"coding": [{"system": "urn:oid:2.16.840.1.113883.6.1", "code": code}]}, {"text": code},
    ])


@st.composite
def result(draw: st.DrawFn) -> dict[str, Any]:
    analyte = draw(st.sampled_from(ANALYTES + ["other"]))
    code = CODES.get(analyte, "1234-5")
    form = draw(st.sampled_from(
        ["z"] * 6 + ["offset", "date", "missing", "junk", "year-one", "utc-other"]
    ))
    # Few days and hours: ties in time and same-day panels are common.
    when = _stamp(draw, form, draw(st.integers(1, 4)), draw(st.sampled_from([0, 10, 10, 23])))
    value = draw(st.sampled_from([0, 1, 12, 30.5, 75, 168.525, 400, -3, 10**7, "x"]))
    quantity: dict[str, Any] = {"value": value, "unit": UNITS.get(analyte, "ng/mL")}
    if draw(st.booleans()):
        quantity["unit"] = draw(st.sampled_from(["ng/mL", "%", "ug/dL", "g/dL", "mg/L", "bogus"]))
    if draw(st.booleans()):
        quantity["comparator"] = draw(st.sampled_from(["<", "<=", ">", ">=", "~"]))
    obs: dict[str, Any] = {
        "resourceType": "Observation",
        "id": draw(st.sampled_from(["a", "b", "c", "bad"])),
        "status": draw(st.sampled_from(
            ["final"] * 4 + ["amended", "corrected", "preliminary", "cancelled",
                             "entered-in-error"]
        )),
        "code": draw(coded(code)),
        "subject": {"reference": draw(st.sampled_from(["Patient/p1"] * 3 + ["Patient/p2"]))},
        "valueQuantity": quantity,
    }
    if when is not None:
        obs["effectiveDateTime"] = when
    return obs


@st.composite
def history(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Singles, and complete or partial panels older or newer than them."""
    results = draw(st.lists(result(), max_size=25))
    for _ in range(draw(st.integers(0, 2))):  # a same-time panel: iron with TIBC or UIBC
        base = draw(result())
        for analyte in ("iron", draw(st.sampled_from(["tibc", "uibc"]))):
            member = {**base, "code": {"coding": [{"system": "http://loinc.org",
                                                   "code": CODES[analyte]}]}}
            member["valueQuantity"] = {"value": draw(st.sampled_from([40, 300, 60])),
                                       "unit": "ug/dL"}
            results.insert(draw(st.integers(0, len(results))), member)
    return results


def _not_bad(resource: Mapping[str, Any]) -> bool:
    return resource.get("id") != "bad"


@FUZZ
@given(history())
def test_early_stop_selects_exactly_what_walking_every_candidate_selects(observations):
    got = select_labs(K, observations, "p1", _not_bad)
    assert repr(got) == repr(_before_select_labs(observations, "p1", _not_bad))


def test_a_single_only_history_keeps_the_newest_of_each():
    observations = [
        {"resourceType": "Observation", "id": str(i), "status": "final",
         "code": {"coding": [{"system": "http://loinc.org", "code": CODES[a]}]},
         "subject": {"reference": "Patient/p1"},
         "effectiveDateTime": f"2026-10-{1 + i // 2:02d}T10:00:00Z",
         "valueQuantity": {"value": 40, "unit": UNITS[a]}}
        for i, a in enumerate(["ferritin", "tsat"] * 10)
    ]
    got = select_labs(K, observations, "p1", _not_bad)
    assert [f.ref for f in got[0]] == ["Observation/18", "Observation/19"]  # a tie: as sent
    assert got == _before_select_labs(observations, "p1", _not_bad)


def _before_problem(r: PlausibleRange, value: Fraction, comparator: str = "") -> str | None:
    """PlausibleRange.problem as it was, on Fraction operators."""
    if comparator in ("<", "<="):
        too_low, too_high = value <= 0, False
    elif comparator in (">", ">="):
        too_low = False
        too_high = value > r.high or (comparator == ">" and value == r.high)
    else:
        too_low = value < r.low or (value == r.low and not r.low_inclusive)
        too_high = value > r.high
    if not (too_low or too_high):
        return None
    side, why = ("below", r.why_low) if too_low else ("above", r.why_high)
    return f"{side} the plausible range {r.describe()}: {why}"


fractions = st.fractions(max_denominator=10**6) | st.integers(-5, 5).map(Fraction)
comparators = st.sampled_from(["", "<", "<=", ">", ">=", "~"])


@FUZZ
@given(fractions, fractions, st.booleans(), st.data(), comparators)
def test_problem_is_what_fraction_comparisons_said(low, high, inclusive, data, comparator):
    r = PlausibleRange("x", "u", low, inclusive, high, "too low", "too high")
    value = data.draw(st.sampled_from([low, high, low - Fraction(1, 10**9), high + 1]) | fractions)
    assert r.problem(value, comparator) == _before_problem(r, value, comparator)


@FUZZ
@given(st.sampled_from(sorted(K.plausible)), st.data(), comparators)
def test_problem_on_the_real_ranges(analyte, data, comparator):
    r = K.plausible[analyte]
    value = data.draw(st.sampled_from([r.low, r.high, Fraction(0)]) | fractions
                      | st.integers(0, 10**7).map(Fraction))
    assert r.problem(value, comparator) == _before_problem(r, value, comparator)


def _before_raw_value(observation: Mapping[str, Any]) -> Any:
    """labs._raw_value as it was, before the int fast path."""
    from cds_service.fhir.units import exact_number, parse_value_string

    quantity = observation.get("valueQuantity")
    number = quantity.get("value") if isinstance(quantity, dict) else None
    value = exact_number(number) if isinstance(number, int | float) else None
    if value is not None:
        assert isinstance(quantity, dict)
        ucum = quantity.get("system") == "http://unitsofmeasure.org"
        unit = quantity.get("code") if ucum and quantity.get("code") else quantity.get("unit")
        shown_unit = quantity.get("unit") or unit or ""
        shown = f"{quantity.get('comparator', '')}{quantity['value']} {shown_unit}"
        comparator = quantity.get("comparator") or ""
        if comparator not in ("", "<", "<=", ">", ">="):
            return None
        return comparator, value, unit, shown.strip()
    text = observation.get("valueString")
    if isinstance(text, str):
        parsed = parse_value_string(text)
        if parsed:
            return parsed[0], parsed[1], parsed[2], text.strip()
    return None


sent = st.sampled_from([None, "", "ng/mL", "%", ["x"], 5, "<", ">=", "~", "http://unitsofmeasure.org"])
quantities = st.fixed_dictionaries(
    {},
    optional={
        "value": st.sampled_from([0, 40, -3, 10**20, 30.5, 168.525, True, False, "40", None,
                                  float("inf"), float("nan"), 1e-05]),
        "unit": sent, "code": sent, "system": sent, "comparator": sent,
    },
)


@FUZZ
@given(st.fixed_dictionaries({}, optional={
    "valueQuantity": quantities | st.sampled_from([None, [], "40"]),
    "valueString": st.sampled_from(["<10 ng/mL", "12.5 %", "high", 7]),
}))
def test_raw_value_reads_what_it_read(observation):
    from cds_service.fhir.labs import _raw_value

    assert repr(_raw_value(observation)) == repr(_before_raw_value(observation))
