"""Valid CDS Hooks requests with hostile FHIR inside: wrong types, huge numbers, odd Unicode.

Each example starts from a valid request for one hook (tests/fhir_builders plus medication,
history and administration resources), replaces, deletes or adds one to three subtrees inside
one area (Observation, Condition, Patient, medications, draft orders, the request's own fields),
and posts the result as raw JSON text, so that NaN, Infinity, 1e400, 400-digit integers, lone
surrogate escapes and 10,000 nested arrays reach the server exactly as a hostile client would
send them. The answer must be 200 (cards valid against cds-response.schema.json), 400, 412 or
413, always strict JSON, an OperationOutcome when not 200, and never a 500 other than the known
findings (support.KNOWN_CRASHES, each with a reproducer in test_findings.py).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from tests.fhir_builders import PRAMIPEXOLE, bundle, condition, medication_request, observation
from tests.fhir_builders import request as build_request

from .support import (
    HOOK_SERVICE,
    KNOWN_CRASHES,
    KNOWN_SEEN,
    NEEDS,
    REQUEST_COUNTS,
    Raw,
    build_app,
    check_service_answer,
    record_crashes,
    to_json_text,
)

hypothesis = pytest.importorskip("hypothesis", reason=NEEDS)
st = pytest.importorskip("hypothesis.strategies", reason=NEEDS)
HealthCheck, given, settings = hypothesis.HealthCheck, hypothesis.given, hypothesis.settings

pytestmark = pytest.mark.usefixtures("quiet_access_log")

HOOKS = tuple(HOOK_SERVICE)
SLOW_REQUEST_S = 5.0

# ---- valid starting points -----------------------------------------------------------------


def _medication(mid: str, name: str, code: str = "9999001") -> dict[str, Any]:
    return {"resourceType": "Medication", "id": mid,
            "code": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                                 "code": code, "display": name}], "text": name}}


def base_request(hook: str) -> dict[str, Any]:
    """A valid request that touches every reader: labs, conditions, medications, drafts."""
    observations = [
        observation("ferritin", "2276-4", 41.37, "ng/mL", date="2026-06-01T08:00:00Z"),
        observation("tsat", "2502-3", 12, "%", date="2026-06-01"),
        observation("hgb", "718-7", 11.2, "g/dL", date="2026-05-20"),
        {**observation("old-ferritin", "2276-4", 5, "ug/L"), "effectiveDateTime": None,
         "effectivePeriod": {"start": "2025-01-01", "end": "2025-01-02"}},
        {k: v for k, v in observation("ferritin-text", "2276-4", 0, "").items()
         if k != "valueQuantity"} | {"valueString": "<10 ng/mL"},
    ]
    observations[3].pop("effectiveDateTime")
    iron_draft = medication_request("draft-iron", "9999002", "ferric carboxymaltose 50 MG/ML")
    iron_draft["reasonReference"] = [{"reference": "Condition/rls"}]
    iron_draft["reasonCode"] = [{"text": "restless legs"}]
    iron_draft["dosageInstruction"] = [{"text": "750 mg IV"}]
    iron_draft["authoredOn"] = "2026-06-14"
    drafts = [PRAMIPEXOLE, iron_draft]
    body = build_request(hook, drafts=drafts, observations=observations,
                         conditions=[condition(), {**condition("old", "44054006"),
                                                   "abatementDateTime": "2020-01-01"}])
    prefetch = body["prefetch"]
    prefetch["patient"]["gender"] = "female"
    by_reference = medication_request("on-ref", "0", "", status="active")
    by_reference.pop("medicationCodeableConcept")
    by_reference["medicationReference"] = {"reference": "Medication/med1", "display": "ropinirole"}
    contained = medication_request("on-contained", "0", "", status="active")
    contained.pop("medicationCodeableConcept")
    contained["contained"] = [_medication("c1", "gabapentin 300 MG")]
    contained["medicationReference"] = {"reference": "#c1"}
    contained["dosage"] = {"text": "at night"}
    prefetch["medications"] = bundle(by_reference, contained,
                                     _medication("med1", "ropinirole 1 MG",
                                                 "9999003") | {"ingredient": [
                                                     {"itemCodeableConcept": {"text": "ropinirole"}}
                                                 ]})
    history = medication_request("past-iron", "9999004", "ferrous sulfate 325 MG",
                                 status="completed")
    history["authoredOn"] = "2025-03-01"
    prefetch["medicationHistory"] = bundle(history)
    prefetch["ivIronAdministrations"] = bundle({
        "resourceType": "MedicationAdministration", "id": "infusion", "status": "completed",
        "subject": {"reference": "Patient/p1"}, "effectiveDateTime": "2026-01-10T10:00:00Z",
        "medicationCodeableConcept": {"text": "ferric carboxymaltose"},
    })
    return body


AREAS: dict[str, tuple[tuple[str | int, ...], ...]] = {
    "observation": (("prefetch", "ironStudies"),),
    "condition": (("prefetch", "conditions"),),
    "patient": (("prefetch", "patient"),),
    "medication": (("prefetch", "medications"), ("prefetch", "medicationHistory"),
                   ("prefetch", "ivIronAdministrations")),
    "draft": (("context",),),
    "request": ((),),
}
FOCUS_KEYS = {
    "valueQuantity", "value", "unit", "effectiveDateTime", "effectivePeriod", "code", "coding",
    "system", "subject", "reference", "clinicalStatus", "verificationStatus", "status",
    "medicationCodeableConcept", "medicationReference", "contained", "ingredient", "entry",
    "resource", "birthDate", "id", "resourceType", "reasonReference", "reasonCode",
    "authoredOn", "draftOrders", "selections", "valueString", "dosageInstruction",
}
FIELD_NAMES = sorted(FOCUS_KEYS | {"text", "display", "start", "end", "effectiveInstant",
                                   "abatementDateTime", "dosage", "extension", "comparator",
                                   "itemCodeableConcept", "gender", "patientId", "userId"})


def _paths(node: Any, prefix: tuple[str | int, ...]) -> Iterator[tuple[str | int, ...]]:
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, (*prefix, index))


def _get(node: Any, path: tuple[str | int, ...]) -> Any:
    for part in path:
        node = node[part]
    return node


def area_paths(area: str, hook: str) -> list[tuple[str | int, ...]]:
    body = base_request(hook)
    found = []
    for root in AREAS[area]:
        found += [p for p in _paths(_get(body, root), root) if p]
    if area == "request":  # the request's own fields, not the FHIR inside (other areas)
        found = [p for p in found if p[0] != "prefetch" and p[:2] != ("context", "draftOrders")]
    return found


PATHS = {(area, hook): area_paths(area, hook) for area in AREAS for hook in HOOKS}
FOCUS = {key: [p for p in paths if isinstance(p[-1], str) and p[-1] in FOCUS_KEYS]
         for key, paths in PATHS.items()}

# ---- hostile values ------------------------------------------------------------------------

MEGABYTE = 1_000_000
RAW_SPECIALS = [
    Raw("NaN"), Raw("Infinity"), Raw("-Infinity"), Raw("1e308"), Raw("-1e308"), Raw("1e400"),
    Raw("-1e400"), Raw("4.9e-324"), Raw("1e-400"), Raw("-0"), Raw("0.0000000000000000001"),
    Raw("1" + "0" * 400, "10**400"), Raw("-" + "9" * 4300, "-(10**4300-1)"),
    Raw("9" * 4301, "4301-digit int"), Raw("1.5e99999"),
    Raw('"\\ud800"'), Raw('"\\udfff"'), Raw('"a\\ud800b"'), Raw('"\\udbff\\udfff"'),
    Raw('"\\u0000"'), Raw('"ng/mL\\u0000"'),
    Raw("[" * 10_000 + "]" * 10_000, "10,000 nested arrays"),
    Raw("[" * 990 + "]" * 990, "990 nested arrays"),
    Raw("[" * 400 + "1" + "]" * 400, "400 nested arrays"),
    Raw('{"a":' * 400 + "1" + "}" * 400, "400 nested objects"),
    Raw('{"coding":' * 300 + "[]" + "}" * 300, "300 nested codings"),
    Raw('"' + "a" * MEGABYTE + '"', "1 MB string"),
    Raw('"' + "\u200f" * (MEGABYTE // 3) + '"', "1 MB of RTL marks"),
    Raw("[" + ",".join(["1"] * 100_000) + "]", "100,000 numbers"),
    Raw('{"a":1,"a":2}', "duplicate keys"),
]
ODD_STRINGS = [
    "", " ", "\u200f", "\u200e2276-4", "2276\u200d-4", "\u202eLm/gn", "\ufeff", "\u0000",
    "ng/mL\u200b", "µg/L", "μg/L", "％", "1e309", "NaN", "-0", "٤١", "𝟒𝟏.𝟑𝟕", "e\u0301" * 50,
    "Patient/p1\u200d", "Patient/p1/", "Patient/", "/", "#", "#c1\u200b", "Medication/med1#",
    "http://loinc.org\u200b", "http://LOINC.org", "\U0001f600", "Z̴̢̛̀a̵̧͝l̸̡̛g̶̢͝o̷̢͝",
    "<script>alert(1)</script>", "{{context.patientId}}", "'; DROP TABLE feedback_items; --",
]
DATES = [
    "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "0001-01-01", "9999-12-31",
    "2026-02-30", "2026-13-01", "2026-06-01T25:00:00Z", "2026-06-01T10:00:00+24:00", "2026",
    "2026-06", "20260601", "-2026-01-01", "2026-06-01T10:00:00.123456789Z", "1931-07-04",
    "2026-06-01T10:00:00", "0000", "2026-06-01T10:00Z", "２０２６-０６-０１",
]
leaves = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12), st.sampled_from(ODD_STRINGS), st.sampled_from(DATES),
    st.sampled_from(RAW_SPECIALS),
)
hostile_values = st.recursive(
    leaves,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(st.sampled_from(FIELD_NAMES) | st.text(max_size=4), children, max_size=3),
    ),
    max_leaves=6,
)


@st.composite
def mutated_request(draw: st.DrawFn, area: str) -> tuple[str, dict[str, Any], list[str]]:
    hook = draw(st.sampled_from(HOOKS))
    body = base_request(hook)
    done: list[str] = []
    for _ in range(draw(st.integers(1, 3))):
        focus = FOCUS[(area, hook)]
        choices = st.sampled_from(PATHS[(area, hook)])
        path = draw(st.one_of(st.sampled_from(focus), choices) if focus else choices)
        try:
            parent = _get(body, path[:-1])
            parent[path[-1]]
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation removed or replaced this part
        action = draw(st.sampled_from(("replace", "replace", "delete", "add")))
        if action == "replace":
            parent[path[-1]] = draw(hostile_values)
        elif action == "delete":
            del parent[path[-1]]
        else:
            target = parent[path[-1]]
            if isinstance(target, dict):
                target[draw(st.sampled_from(FIELD_NAMES))] = draw(hostile_values)
            elif isinstance(target, list):
                target.insert(draw(st.integers(0, len(target))), draw(hostile_values))
            else:
                parent[path[-1]] = [target, draw(hostile_values)]
        where = ".".join(map(str, path))
        try:
            shown = to_json_text(_get(body, path))[:160] if action != "delete" else ""
        except (KeyError, IndexError, TypeError):
            shown = ""
        done.append(f"{action} {where} {shown}".rstrip())
    return hook, body, done


# ---- the property ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mutation_app(tmp_path_factory: pytest.TempPathFactory) -> tuple[Flask, list[Any]]:
    app = build_app(tmp_path_factory.mktemp("mutations"))
    return app, record_crashes(app)


def post_raw(app: Flask, hook: str, text: str | bytes) -> Any:
    client = app.test_client()
    started = time.perf_counter()
    response = client.post(f"/cds-services/{HOOK_SERVICE[hook]}", data=text,
                           content_type="application/json")
    elapsed = time.perf_counter() - started
    REQUEST_COUNTS["fhir mutations"] += 1
    assert elapsed < SLOW_REQUEST_S, f"took {elapsed:.1f} s"
    return response


def check(response: Any, crashes: list[Any], before: int) -> None:
    """The contract, with the known findings counted rather than failed on."""
    new = crashes[before:]
    if response.status_code == 500 and new and all(c.key in KNOWN_CRASHES for c in new):
        KNOWN_SEEN.update(KNOWN_CRASHES[c.key] for c in new)
        return
    assert not new, f"crash: {', '.join(map(str, new))}"
    check_service_answer(response)


def test_starting_points_are_valid(mutation_app: tuple[Flask, list[Any]]) -> None:
    app, crashes = mutation_app
    for hook in HOOKS:
        response = post_raw(app, hook, to_json_text(base_request(hook)))
        check_service_answer(response, allowed={200})
        assert response.get_json()["cards"], hook


MUTATION_SETTINGS = settings(max_examples=300, deadline=None, derandomize=True, database=None,
                             suppress_health_check=list(HealthCheck))


@pytest.mark.parametrize("area", list(AREAS))
def test_mutated_fhir_keeps_the_contract(mutation_app: tuple[Flask, list[Any]],
                                         area: str) -> None:
    app, crashes = mutation_app

    @MUTATION_SETTINGS
    @given(mutated_request(area))
    def property_(mutation: tuple[str, dict[str, Any], list[str]]) -> None:
        hook, body, done = mutation
        before = len(crashes)
        try:
            check(post_raw(app, hook, to_json_text(body)), crashes, before)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{hook} request after: {'; '.join(done)}") from None

    property_()


# ---- malformed JSON text --------------------------------------------------------------------

TEXT_EDITS = st.sampled_from(("truncate", "insert", "replace", "prefix", "suffix", "encode"))
JUNK = st.sampled_from(["", ",", "}", "]", "{", "[", '"', "\\", "\\u", "\\ud800", "NaN",
                        "1e400", "\x00", "\ufeff", "\u2028", "//", "/*", "'", "undefined",
                        "[" * 10_000, "{" * 10_000, "\xff"])


@st.composite
def malformed_text(draw: st.DrawFn) -> tuple[str, bytes]:
    hook = draw(st.sampled_from(HOOKS))
    text = to_json_text(base_request(hook))
    at = draw(st.integers(0, len(text)))
    edit = draw(TEXT_EDITS)
    junk = draw(JUNK | st.text(max_size=8))
    if edit == "truncate":
        text = text[:at]
    elif edit == "insert":
        text = text[:at] + junk + text[at:]
    elif edit == "replace":
        text = text[:at] + junk + text[at + draw(st.integers(1, 20)):]
    elif edit == "prefix":
        text = junk + text
    elif edit == "suffix":
        text = text + junk
    if edit == "encode":
        encoding = draw(st.sampled_from(("utf-16", "utf-32", "utf-8-sig", "latin-1", "cp1252")))
        return hook, text.replace("p1", "p1é").encode(encoding, "replace")
    return hook, text.encode("utf-8", "surrogatepass")


@MUTATION_SETTINGS
@given(malformed_text())
def test_malformed_json_text_is_refused_cleanly(mutation_app: tuple[Flask, list[Any]],
                                                sample: tuple[str, bytes]) -> None:
    app, crashes = mutation_app
    hook, data = sample
    before = len(crashes)
    check(post_raw(app, hook, data), crashes, before)


@pytest.mark.parametrize("data", [
    b"", b"null", b"[]", b"0", b'"a"', b"true", b"{}", b"\xef\xbb\xbf{}", b"\xff\xfe{\x00}\x00",
    b"{" * 10_000, b"[" * 100_000, b'{"hook":' * 5_000, b"1" * 5_000, b"\x00" * 100,
    b"\xed\xa0\x80", b'{"hook":"\xed\xa0\x80"}', b'{"\\ud800":1}', b"NaN", b"-Infinity",
])
def test_top_level_odd_bodies(mutation_app: tuple[Flask, list[Any]], data: bytes) -> None:
    app, crashes = mutation_app
    before = len(crashes)
    response = post_raw(app, "patient-view", data)
    check(response, crashes, before)
    assert response.status_code == 400


@pytest.mark.parametrize("content_type", [
    None, "", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data",
    "application/json; charset=latin-1", "application/json; charset=utf-16",
    "application/fhir+json", "application/json;;", "application/JSON", "*/*",
    "application/json\u200b", "\u00e9",
])
def test_content_types(mutation_app: tuple[Flask, list[Any]], content_type: str | None) -> None:
    app, crashes = mutation_app
    before = len(crashes)
    headers = {} if content_type is None else {"Content-Type": content_type}
    response = app.test_client().post("/cds-services/rls-patient-view",
                                      data=to_json_text(base_request("patient-view")),
                                      headers=headers)
    REQUEST_COUNTS["fhir mutations"] += 1
    assert crashes[before:] == []
    check_service_answer(response, allowed={200, 400, 412, 413, 415})


def test_body_over_the_limit_is_413(mutation_app: tuple[Flask, list[Any]]) -> None:
    app, _ = mutation_app
    body = base_request("patient-view")
    body["extension"] = {"padding": "x" * (6 * 1024 * 1024)}
    response = post_raw(app, "patient-view", to_json_text(body))
    check_service_answer(response, allowed={413})


def test_megabyte_strings_everywhere(mutation_app: tuple[Flask, list[Any]]) -> None:
    """Four 1 MB strings (under the 5 MiB limit) in ids, units, codes and display text."""
    app, crashes = mutation_app
    big = "\u200d" * (MEGABYTE // 3)
    for hook in HOOKS:
        body = copy.deepcopy(base_request(hook))
        observations = body["prefetch"]["ironStudies"]["entry"]
        observations[0]["resource"]["valueQuantity"]["unit"] = big
        observations[1]["resource"]["id"] = big
        body["prefetch"]["conditions"]["entry"][0]["resource"]["code"]["coding"][0]["code"] = big
        body["prefetch"]["medications"]["entry"][0]["resource"]["medicationReference"][
            "display"] = big
        before = len(crashes)
        check(post_raw(app, hook, to_json_text(body)), crashes, before)
