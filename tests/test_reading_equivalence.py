"""The one-pass readers (lab selection, resource index, prefetch states, condition filter) read
exactly what the general, function-per-check readings they replaced read, on real-shaped and
fuzzed FHIR JSON."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from operator import itemgetter
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cds_service.engine.facts import LabFact, UnusableLab
from cds_service.fhir.lab_selection import NEVER, NOT_COUNTED, PANEL, SINGLE, select_labs
from cds_service.fhir.labs import analyte_of, effective_time, lab_fact
from cds_service.fhir.prefetch import (
    KeyState,
    _outcome_is_benign,
    _outcomes_only,
    key_state,
    key_states,
    keys_to_fetch,
    read_prefetch,
    usable_prefetch,
)
from cds_service.fhir.resources import (
    REFERENCED,
    ResourceIndex,
    iter_resources,
    label,
    refers_to,
)
from cds_service.knowledge import load_knowledge

K = load_knowledge()
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _reference_select_labs(
    observations: list[dict[str, Any]],
    patient_id: str,
    is_valid: Callable[[Mapping[str, Any]], bool],
) -> tuple[Any, ...]:
    """Lab selection as it was written before the one-pass loop: one function per check."""

    def is_mine(resource: Mapping[str, Any]) -> bool:
        return refers_to(resource.get("subject"), "Patient", patient_id)

    candidates = []
    uncounted: dict[tuple[str, str], None] = {}
    for resource in observations:
        analyte = analyte_of(K, resource)
        if analyte is None:
            continue
        status = resource.get("status")
        if isinstance(status, str) and status not in K.usable_lab_statuses:
            if status not in NOT_COUNTED and is_mine(resource):
                uncounted[(analyte, status)] = None
            continue
        if is_mine(resource):
            candidates.append((effective_time(resource) or NEVER, analyte, resource))
    candidates.sort(key=itemgetter(0), reverse=True)
    usable: list[LabFact] = []
    unusable: list[UnusableLab] = []
    done: set[str] = set()
    panel_day = None
    for when, analyte, resource in candidates:
        if analyte in PANEL:
            if panel_day is not None:
                if SINGLE <= done:
                    break
                continue
        elif analyte in done:
            continue
        fact = lab_fact(K, resource, analyte, label(resource))
        if isinstance(fact, UnusableLab):
            unusable.append(fact)
        elif is_valid(resource):
            usable.append(fact)
            done.add(analyte)
            if analyte in PANEL:
                found = {
                    f.analyte for f in usable
                    if f.analyte in PANEL and f.effective.date() == when.date()
                }
                if "iron" in found and found & {"tibc", "uibc"}:
                    panel_day = when.date()
    return tuple(usable), tuple(unusable), tuple(uncounted)


LOINC_CODES = sorted(K.analyte_by_loinc)
junk = st.sampled_from([None, 5, [], {}, ["x"], {"a": 1}, "", True])
systems = st.sampled_from(
    ["http://loinc.org", "urn:oid:2.16.840.1.113883.6.1", "http://snomed.info/sct", "local"]
) | junk
codes = st.sampled_from(LOINC_CODES + ["1234-5", "laboratory"]) | junk
coding = st.fixed_dictionaries({}, optional={"system": systems, "code": codes}) | junk
codeable = st.fixed_dictionaries(
    {}, optional={"coding": st.lists(coding, max_size=3) | coding, "text": st.just("Ferritin")}
) | junk
statuses = st.sampled_from(
    ["final", "amended", "corrected", "preliminary", "registered", "cancelled",
     "entered-in-error"]
) | junk
subjects = st.sampled_from(
    [{"reference": "Patient/p1"}, {"reference": "https://ehr.example/fhir/Patient/p1"},
     {"reference": "Patient/p1/_history/2"}, {"reference": "Patient/p2"}, "Patient/p1", {}]
) | junk
days = st.integers(1, 28).map(lambda d: f"{d:02d}")
dates = (
    st.builds(lambda d, h: f"2026-10-{d}T{h:02d}:00:00Z", days, st.integers(0, 23))
    | st.builds(lambda d: f"2026-10-{d}", days)
    | st.builds(lambda d: f"2026-10-{d}T10:00:00+02:00", days)
    | st.builds(lambda d: f"2026-10-{d}T10:00:00.5Z", days)
    | st.sampled_from(["2026-13-01T10:00:00Z", "2026-10-01T24:00:00Z", "0001-01-01T00:00:00Z",
                       "2026", "2026-10", "not a date", "2026-10-01T10:00:0ZZ"])
    | junk
)
periods = st.fixed_dictionaries({}, optional={"start": dates, "end": dates}) | junk
quantity = st.fixed_dictionaries(
    {"value": st.sampled_from([0, 1, 12, 75, 30.5, 168.525, -3, 10**7]) | junk},
    optional={
        "unit": st.sampled_from(["ng/mL", "%", "ug/dL", "pmol/L", "mg/L", "g/dL", "bogus"]),
        "system": st.just("http://unitsofmeasure.org"),
        "code": st.sampled_from(["ng/mL", "%", "ug/dL"]),
        "comparator": st.sampled_from(["<", ">=", "~"]),
    },
)
observation = st.fixed_dictionaries(
    {"resourceType": st.just("Observation"), "id": st.sampled_from(["a", "b", "c", "bad"])},
    optional={
        "code": codeable,
        "status": statuses,
        "subject": subjects,
        "effectiveDateTime": dates,
        "effectivePeriod": periods,
        "effectiveInstant": dates,
        "valueQuantity": quantity,
        "valueString": st.sampled_from(["<10 ng/mL", "12.5 %", "high"]),
    },
)


def _not_bad(resource: Mapping[str, Any]) -> bool:
    return resource.get("id") != "bad"


@FUZZ
@given(st.lists(observation, max_size=12))
def test_lab_selection_reads_fuzzed_observations_as_the_general_reading(observations):
    got = select_labs(K, observations, "p1", _not_bad)
    assert got == _reference_select_labs(observations, "p1", _not_bad)
    # Same tz objects too: a card renders the datetime it was given.
    assert repr(got) == repr(_reference_select_labs(observations, "p1", _not_bad))


real_shaped = st.fixed_dictionaries(
    {
        "resourceType": st.just("Observation"),
        "id": st.sampled_from(["a", "b", "c", "bad"]),
        "status": st.sampled_from(["final", "amended", "preliminary"]),
        "code": st.builds(
            lambda c: {"coding": [{"system": "http://loinc.org", "code": c}]},
            st.sampled_from(LOINC_CODES),
        ),
        "subject": st.sampled_from([{"reference": "Patient/p1"}, {"reference": "Patient/p2"}]),
        "effectiveDateTime": st.builds(
            lambda d, h: f"2026-10-{d}T{h:02d}:00:00Z", days, st.integers(0, 23)
        ),
        "valueQuantity": st.builds(
            lambda v, u: {"value": v, "unit": u, "system": "http://unitsofmeasure.org", "code": u},
            st.sampled_from([5, 14, 30.5, 75, 120, 400]),
            st.sampled_from(["ng/mL", "%", "ug/dL", "g/dL"]),
        ),
    }
)


@FUZZ
@given(st.lists(real_shaped, max_size=30))
def test_lab_selection_reads_real_shaped_histories_as_the_general_reading(observations):
    got = select_labs(K, observations, "p1", _not_bad)
    assert repr(got) == repr(_reference_select_labs(observations, "p1", _not_bad))


def test_a_result_of_year_one_is_dated_not_undated():
    obs = {
        "resourceType": "Observation", "id": "a", "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "2276-4"}]},
        "subject": {"reference": "Patient/p1"}, "effectiveDateTime": "0001-01-01T00:00:00Z",
        "valueQuantity": {"value": 40, "unit": "ng/mL"},
    }
    usable, unusable, _ = select_labs(K, [obs], "p1", _not_bad)
    assert not unusable and usable[0].effective.year == 1


def _reference_index(values: list[object]) -> tuple[dict[str, list[Any]], dict[str, Any]]:
    """ResourceIndex.of as it was written: iter_resources, then one look per resource."""
    by_type: dict[str, list[Any]] = {}
    by_ref: dict[str, Any] = {}
    for value in values:
        for resource in iter_resources(value):
            rtype = str(resource.get("resourceType"))
            by_type.setdefault(rtype, []).append(resource)
            if rtype in REFERENCED and resource.get("id"):
                by_ref[f"{rtype}/{resource['id']}"] = resource
    return by_type, by_ref


resource_types = st.sampled_from(
    ["Observation", "Condition", "Medication", "MedicationRequest", "OperationOutcome"]
) | junk
resources = st.fixed_dictionaries(
    {}, optional={"resourceType": resource_types, "id": st.sampled_from(["a", "b", ""]) | junk}
)
entries = st.fixed_dictionaries({}, optional={"resource": resources | junk}) | junk
bundles = st.fixed_dictionaries(
    {"resourceType": st.just("Bundle")},
    optional={"entry": st.lists(entries, max_size=6) | entries},
)
prefetch_values = bundles | resources | junk


@FUZZ
@given(st.lists(prefetch_values, max_size=5))
def test_resource_index_holds_what_iter_resources_reads(values):
    index = ResourceIndex.of(values)
    by_type, by_ref = _reference_index(values)
    assert index.by_type == by_type and index.by_ref == by_ref
    assert all(
        a is b for kind in by_type for a, b in zip(index.by_type[kind], by_type[kind], strict=True)
    )


severities = st.sampled_from(
    ["information", "warning", "error", "fatal", None, 5, "", ["warning"], {"code": "warning"}]
)
outcomes = st.fixed_dictionaries(
    {"resourceType": st.just("OperationOutcome")},
    optional={"issue": st.lists(st.fixed_dictionaries({"severity": severities}), max_size=2)},
)
outcome_bundles = st.fixed_dictionaries(
    {"resourceType": st.just("Bundle")},
    optional={
        "entry": st.lists(st.fixed_dictionaries({}, optional={"resource": outcomes | resources}),
                          max_size=3)
        | junk
    },
)


@FUZZ
@given(outcome_bundles | outcomes | prefetch_values)
def test_prefetch_key_state_shortcut_agrees_with_the_outcome_walk(value):
    state = key_state({"k": value}, "k")
    if isinstance(value, dict) and value.get("resourceType") == "Bundle":
        outcomes_only = _outcomes_only(value)
        if outcomes_only is None:
            assert state is KeyState.DATA
        else:
            benign = all(map(_outcome_is_benign, outcomes_only))
            assert state is (KeyState.EMPTY if benign else KeyState.ERROR)
    assert read_prefetch({"k": "", "absent": ""}, {"k": value})[2] == usable_prefetch(
        {"k": "", "absent": ""}, {"k": value}
    )


@FUZZ
@given(st.dictionaries(st.sampled_from(["a", "b", "c", "undeclared"]),
                       outcome_bundles | outcomes | prefetch_values | st.none()))
def test_read_prefetch_is_the_three_readings_in_one_pass(prefetch):
    templates = {"a": "", "b": "", "c": "", "d": ""}
    states, fetch, data = read_prefetch(templates, prefetch)
    assert states == key_states(templates, prefetch)
    assert [states[k] for k in states] == [key_states(templates, prefetch)[k] for k in states]
    assert fetch == keys_to_fetch(key_states(templates, prefetch))
    assert data == usable_prefetch(templates, prefetch)
