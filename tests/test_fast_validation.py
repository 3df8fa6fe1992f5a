"""The fast resource check (generated JSON Schema in jsonschema-rs) against the reference, the
strict-then-lenient fhir.resources path it stands in front of (``fhir/validation.py``).

The fast check may only say "valid" when the reference does; when it says "invalid" the
reference decides, so it may be stricter only about spellings pydantic coerces (``"true"``, a
``null``, a number for a date...): then the value pydantic makes of the input passes the fast
check. Compared over every real-shaped resource under ``fhir_fixtures/`` and ``tests/``, seeded
mutations of them, and hypothesis-generated resources built from the R4B models' fields.
"""

from __future__ import annotations

import copy
import json
import random
import runpy
import types
import typing
from functools import cache
from pathlib import Path
from typing import Any

import fhir_core.types as ft
import orjson
import pytest
from fhir.resources.R4B import get_fhir_model_class
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cds_service.fhir.lenient import lenient_copy
from cds_service.fhir.validation import (
    READ_TYPES,
    Invalid,
    _invalid_reason_of,
    fast_check,
    invalid_reason,
    strict_error,
)

ROOT = Path(__file__).resolve().parents[1]


def reference(resource: dict[str, Any]) -> Invalid | None:
    """The answer before the fast check: the pydantic path on every resource."""
    try:
        raw = orjson.dumps(resource)
    except (TypeError, orjson.JSONEncodeError):
        return Invalid("it is not JSON", f"{resource.get('resourceType')}:not_json")
    return _invalid_reason_of(raw)


def reference_valid(resource: dict[str, Any]) -> bool:
    return reference(resource) is None


def fast_valid(resource: dict[str, Any]) -> bool:
    return fast_check()(resource)


def canonical(resource: dict[str, Any]) -> dict[str, Any]:
    """What pydantic makes of an input it accepts, written back as FHIR JSON."""
    target = resource if strict_error(resource) is None else lenient_copy(resource)[0]
    model = get_fhir_model_class(resource["resourceType"]).model_validate(target)
    return json.loads(model.model_dump_json())


def check(resource: dict[str, Any]) -> str:
    """'agree' or 'stricter' (the fast check refuses a spelling pydantic coerces); fails on a
    real difference."""
    if str(resource.get("resourceType")) not in READ_TYPES:  # a mutated type: not validated
        assert invalid_reason(resource) is None
        return "agree"
    fast, slow = fast_valid(resource), reference_valid(resource)
    assert not (fast and not slow), f"fast check accepts what R4B rejects: {resource}"
    assert invalid_reason(resource) == reference(resource)  # the same words, too
    if fast == slow:
        return "agree"
    assert fast_valid(canonical(resource)), f"fast check refuses valid R4: {resource}"
    return "stricter"


def _walk(value: object, found: list[dict[str, Any]]) -> None:
    if isinstance(value, dict):
        if value.get("resourceType") in READ_TYPES:
            found.append(value)
        for item in value.values():
            _walk(item, found)
    elif isinstance(value, list):
        for item in value:
            _walk(item, found)


@cache
def real_shaped() -> tuple[dict[str, Any], ...]:
    """Every resource of a type the rules read in the fixtures and client captures, once."""
    found: list[dict[str, Any]] = []
    for folder in (ROOT / "fhir_fixtures", ROOT / "tests"):
        for path in sorted(folder.rglob("*.json")):
            _walk(json.loads(path.read_text()), found)
    unique = {orjson.dumps(r, option=orjson.OPT_SORT_KEYS): r for r in found}
    return tuple(unique.values())


def test_the_shipped_schema_is_the_generated_one() -> None:
    script = runpy.run_path(str(ROOT / "scripts" / "make_fhir_schema.py"))
    assert (ROOT / "cds_service" / "fhir" / "r4_resources.schema.json").read_text() == (
        script["render"]()
    )


def test_every_real_shaped_resource_gets_the_same_verdict() -> None:
    resources = real_shaped()
    assert len(resources) > 500
    verdicts = [(fast_valid(r), reference_valid(r)) for r in resources]
    assert all(fast == slow for fast, slow in verdicts)
    assert sum(fast for fast, _ in verdicts) > 500  # the fixtures are mostly valid: fast path


# -- mutations of the real-shaped resources -------------------------------------------------

BAD_STRINGS = ("", " ", "a  b", " lead", "tail\n", "\u000b", "2023-02-30", "2023-13", "2023-02-29",
               "2024-02-29", "1900-02-29", "2000-02-29", "2023-01-01T10:00", "2023-01-01T10:00:00",
               "2023-01-01T24:00:00Z", "2023-01-01T10:00:00+15:00", "0000", "x" * 3, "é",
               "10:61:00")
WRONG = (5, -1, 0, 1.5, True, {}, [], {"bogus": 1}, [5], ["x"], [{}], "x", 1e300, 2**70)
EXTENSIONS = (
    [{"url": "http://x", "valueString": "a"}],
    [{"url": "http://x", "extension": [{"url": "y", "valueCode": "z"}]}],
    [{"url": "http://x", "extension": {"url": "y", "valueCode": "z"}}],
    [{"url": "http://x", "valueString": "a", "valueBoolean": True}],
    [{"valueString": "a"}],
    [{"url": "http://x", "valueQuantity": {"value": "1"}}],
    {"url": "http://x", "valueInteger": 3},
)


def _paths(value: object, here: tuple = ()) -> list[tuple]:
    out = [here]
    if isinstance(value, dict):
        for key, item in value.items():
            out += _paths(item, (*here, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            out += _paths(item, (*here, i))
    return out


def _get(value: Any, path: tuple) -> Any:
    for part in path:
        value = value[part]
    return value


def mutations(resource: dict[str, Any], rng: random.Random) -> list[dict[str, Any]]:
    """Broken and odd variants: wrong types, lone objects for arrays and back, missing keys,
    bad dates and codes, extra keys, nested extensions, primitive extensions, choice pairs."""
    out = []
    paths = [p for p in _paths(resource) if p]
    for _ in range(16):
        path = rng.choice(paths)
        mutated = copy.deepcopy(resource)
        parent, last = _get(mutated, path[:-1]), path[-1]
        current = parent[last]
        kind = rng.randrange(8)
        if kind == 0 and isinstance(parent, dict) and last != "resourceType":
            del parent[last]
        elif kind == 1 and isinstance(current, list) and current:
            parent[last] = current[0]  # a lone object (or value) for an array
        elif kind == 2 and isinstance(current, dict):
            parent[last] = [current]  # an array for a single element
        elif kind == 3:
            parent[last] = rng.choice(BAD_STRINGS)
        elif kind == 4:
            parent[last] = rng.choice(WRONG)
        elif kind == 5 and isinstance(current, dict):
            current[rng.choice(["bogus", "extension", "_text", "resourceType", "id"])] = rng.choice(
                (*EXTENSIONS, "x", {"extension": [{"url": "u", "valueString": "v"}]})
            )
        elif kind == 6 and isinstance(parent, dict) and isinstance(last, str):
            parent[f"_{last}"] = rng.choice(({"extension": []}, {"id": "a"}, EXTENSIONS[0][0]))
            if rng.random() < 0.5:
                del parent[last]  # a value replaced by its extension (required or not)
        elif kind == 7 and isinstance(parent, dict):
            parent[rng.choice(["valueString", "effectivePeriod", "medicationReference",
                               "deceasedBoolean", "onsetAge", "abatementString"])] = current
        else:
            continue
        out.append(mutated)
    return out


def test_mutated_resources_get_the_same_verdict() -> None:
    rng = random.Random(17)
    outcomes = {"agree": 0, "stricter": 0}
    invalid = 0
    for resource in real_shaped():
        for mutated in mutations(resource, rng):
            outcomes[check(mutated)] += 1
            read = str(mutated.get("resourceType")) in READ_TYPES
            invalid += read and not reference_valid(mutated)
    assert outcomes["agree"] > 6000 and invalid > 3500
    assert outcomes["stricter"] < outcomes["agree"] / 100


# -- generated from the models' fields -----------------------------------------------------

PRIMITIVE_VALUES: dict[object, tuple[Any, ...]] = {
    ft.BooleanType: (True, False, 2, "x"),
    ft.StringType: ("a", " x ", "Ünïcode", "", "\u000b", "tab\tand\nline", 5),
    ft.CodeType: ("final", "a b", "a  b", " a", "a\n", "", 5),
    ft.IdType: ("abc-1.2", "a" * 70, "a b", "a_b", "", 5),
    ft.UriType: ("http://loinc.org", "", "urn:oid:1.2", 5),
    ft.DecimalType: (1, 1.5, -0.0, 1e-7, 1e30, "x", True, {}),
    ft.IntegerType: (0, -5, 2**31, 1.5, "x"),
    ft.UnsignedIntType: (0, 3, -1),
    ft.PositiveIntType: (1, 0, -1),
    ft.DateType: ("2023", "2023-06", "2023-06-15", "2024-02-29", "2023-02-29", "2023-06-31",
                  "2023-6-15", "2023-06-15T10:00:00Z", ""),
    ft.DateTimeType: ("2023", "2023-06-15", "2023-06-15T10:00:00Z", "2023-06-15T10:00:00.123+02:00",
                      "2023-06-15T10:00:60Z", "2023-06-15T10:00:00", "2023-06-31",
                      "2023-06-15T10:00Z",
                      "2000-02-29T00:00:00-05:00", "2100-02-29"),
    ft.InstantType: ("2023-06-15T10:00:00Z", "2023-06-15", "2023-06-15T10:00:00"),
    ft.TimeType: ("10:00:00", "24:00:00", "10:00"),
}


def _field_value(draw, annotation: object, depth: int) -> Any:
    if annotation in PRIMITIVE_VALUES:
        return draw(st.sampled_from(PRIMITIVE_VALUES[annotation]))
    if isinstance(annotation, type) and issubclass(annotation, ft.FhirBase):
        name = annotation.__name__.removesuffix("Type")
        if name == "Resource":
            return draw(st.sampled_from([{"resourceType": "Medication", "id": "m"}, "x", 5]))
        return draw(element(annotation.get_model_klass(), depth + 1))
    return "x"


def _strip_none(annotation: object) -> object:
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    union = typing.get_origin(annotation) in (typing.Union, types.UnionType)
    return args[0] if union and len(args) == 1 else annotation


def _unwrap(annotation: object) -> tuple[bool, object]:
    annotation = _strip_none(annotation)
    if typing.get_origin(annotation) is list:
        return True, _strip_none(typing.get_args(annotation)[0])
    return False, annotation


@st.composite
def element(draw, model: Any, depth: int = 0, root: bool = False) -> dict[str, Any]:
    """Some of the model's fields (required ones nine times in ten), each with a value drawn
    from valid and invalid spellings of its type; arrays now and then as a lone value."""
    fields = [
        (f.alias or n, f) for n, f in model.model_fields.items()
        if n != "fhir_comments" and (f.alias or n) != "resourceType"
    ]
    out: dict[str, Any] = {"resourceType": model.get_resource_type()} if root else {}
    size = 0 if depth > 2 else (5 if depth else 8)
    chosen = draw(st.lists(st.sampled_from(fields), max_size=size, unique_by=lambda f: f[0]))
    keys = {key for key, _ in chosen}
    chosen += [(k, f) for k, f in fields
               if f.is_required() and k not in keys and draw(st.integers(0, 9))]
    for key, field in chosen:
        is_list, inner = _unwrap(field.annotation)
        value = _field_value(draw, inner, depth)
        if is_list and draw(st.integers(0, 4)):  # usually an array, sometimes a lone value
            more = draw(st.integers(0, 1))
            value = [value, *(_field_value(draw, inner, depth) for _ in range(more))]
        out[key] = value
    if draw(st.integers(0, 30)) == 0:
        out["bogus"] = 1
    return out


@settings(max_examples=600, deadline=None, derandomize=True,  # reproducible in CI
          suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(READ_TYPES)).flatmap(
    lambda name: element(get_fhir_model_class(name), root=True)))
def test_generated_resources_get_the_same_verdict(resource: dict[str, Any]) -> None:
    check(resource)


# -- where the fast check is stricter, the answer is still the reference's -----------------

@pytest.mark.parametrize(
    "extra",
    [
        {"active": "true"},  # pydantic coerces
        {"multipleBirthInteger": "5"},
        {"birthDate": 0},
        {"gender": None},  # a null is read as absent
        {"name": [{"given": ["Ann", None]}]},
        {"fhir_comments": "a comment"},
        {"birthDate__ext": {"extension": []}},  # the field name for "_birthDate"
        {"contained": [{"resourceType": "Basic", "code": {}}]},  # a type we do not model
        {"extension": [{"url": "u", "valueUuid": "urn:uuid:0b1d1a43-3c17-4d65-9fa5-6f1c6bbbd3f0"}]},
    ],
)
def test_where_the_fast_check_refuses_pydantic_decides(extra: dict[str, Any]) -> None:
    patient = {"resourceType": "Patient", "id": "p1", **extra}
    assert not fast_valid(patient)
    assert invalid_reason(patient) is None  # the reference accepts: so does the service


def test_an_invalid_resource_is_explained_in_the_same_words() -> None:
    bad = {"resourceType": "Observation", "status": "final", "code": {},
           "effectiveDateTime": "2023-02-30"}
    reason = invalid_reason(bad)
    assert reason is not None
    assert reason.message == "the date (effectiveDateTime) is not a valid FHIR R4 value"
    assert reason.code == "Observation.effectiveDateTime:datetime_from_date_parsing"
