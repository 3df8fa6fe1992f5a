"""Write cds_service/fhir/r4_resources.schema.json from the fhir.resources R4B models.

    .venv/bin/python scripts/make_fhir_schema.py          # rewrite the shipped schema
    .venv/bin/python scripts/make_fhir_schema.py --check  # exit 1 if it is out of date

The schema is the fast half of ``cds_service.fhir.validation``: jsonschema-rs says "valid" only
for resources the strict-then-lenient pydantic path accepts; anything else goes to that path,
which decides and explains. So every rule here is as strict as fhir.resources or stricter,
never looser: where pydantic coerces (``"true"`` for a boolean, ``"5"`` for an integer, a
number for a date), accepts ``null`` or an odd key (``fhir_comments``, ``status__ext``), or a
type is not modelled here (url, uuid, contained resources of other types), the schema says
no and pydantic has the last word.

Two variants of each element type: ``S:`` strict, ``L:`` lenient, which also accepts a lone
object where an array is expected, exactly where ``fhir/lenient.py`` would wrap one (it does
not walk into contained resources or primitive extensions, so those stay strict), and, at the
root of a MedicationRequest, a missing ``intent``.
"""

from __future__ import annotations

import argparse
import json
import sys
import types
import typing
from pathlib import Path
from typing import Any

import fhir_core.types as ft
from fhir.resources.R4B import get_fhir_model_class

from cds_service.fhir.lenient import UNREAD_REQUIRED, shape_of

OUT = Path(__file__).resolve().parents[1] / "cds_service" / "fhir" / "r4_resources.schema.json"
ROOTS = ("Patient", "Condition", "Observation", "MedicationRequest", "MedicationAdministration",
         "Medication")

# Regular expressions as explicit character classes, so that jsonschema-rs (ECMA-262) and
# pydantic-core (Rust regex) cannot disagree on what \s or \S means.
# Unicode White_Space, what \s means in pydantic-core's (Rust) regular expressions.
SPACE = "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
NOT_SPACE = (  # \S: every other character
    "\x00-\x08\x0e-\x1f!-\x84\x86-\x9f\xa1-\u167f\u1681-\u1fff\u200b-\u2027"
    "\u202a-\u202e\u2030-\u205e\u2060-\u2fff\u3001-\U0010ffff"
)
# fhir_core's String is re.search("[ \r\n\t\S]+"): one character that is not other whitespace.
STRING = f"[ \r\n\t{NOT_SPACE}]"
CODE = f"^[{NOT_SPACE}]+([{SPACE}][{NOT_SPACE}]+)*$"  # fhir_core: ^[^\s]+(\s[^\s]+)*$
YEAR = "([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)"
LEAP_YEAR = "([0-9]{2}(0[48]|[2468][048]|[13579][26])|(0[48]|[2468][048]|[13579][26])00)"
DAY = (  # a calendar date: pydantic rejects 2023-02-29 and 2023-04-31
    f"({YEAR}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])"
    f"|{YEAR}-(0[13-9]|1[0-2])-(29|30)"
    f"|{YEAR}-(0[13578]|1[02])-31"
    f"|{LEAP_YEAR}-02-29)"
)
PARTIAL = f"{YEAR}(-(0[1-9]|1[0-2]))?"
CLOCK = "([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\\.[0-9]{1,9})?"
ZONE = "(Z|[+-]((0[0-9]|1[0-3]):[0-5][0-9]|14:00))"
INSTANT = f"{DAY}T{CLOCK}{ZONE}"

PRIMITIVES: dict[object, dict[str, Any]] = {
    ft.BooleanType: {"type": "boolean"},
    ft.StringType: {"type": "string", "pattern": STRING},
    ft.CodeType: {"type": "string", "pattern": CODE},
    ft.IdType: {"type": "string", "pattern": "^[A-Za-z0-9\\-.]+$"},
    ft.UriType: {"type": "string"},  # \S* matches every string
    ft.CanonicalType: {"type": "string"},
    ft.MarkdownType: {"type": "string"},
    ft.XhtmlType: {"type": "string"},
    ft.OidType: {"type": "string", "pattern": "^urn:oid:[0-2](\\.(0|[1-9][0-9]*))+$"},
    # bounded so an integer orjson cannot write (stdlib json reads any) goes to the slow path
    ft.DecimalType: {"type": "number", "minimum": -(2**63), "maximum": 2**64 - 1},
    ft.IntegerType: {"type": "integer", "minimum": -2147483648, "maximum": 2147483647},
    ft.Integer64Type: {"type": "integer", "minimum": -(2**63) + 1, "maximum": 2**63 - 1},
    ft.UnsignedIntType: {"type": "integer", "minimum": 0, "maximum": 2147483647},
    ft.PositiveIntType: {"type": "integer", "minimum": 1, "maximum": 2147483647},
    ft.DateType: {"type": "string", "pattern": f"^({PARTIAL}|{DAY})$"},
    ft.DateTimeType: {"type": "string", "pattern": f"^({PARTIAL}|{DAY}|{INSTANT})$"},
    ft.InstantType: {"type": "string", "pattern": f"^{INSTANT}$"},
    ft.TimeType: {"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]{1,6})?$"},  # noqa: E501
    ft.Base64BinaryType: {
        "type": "string",
        "minLength": 4,
        "pattern": "^([A-Za-z0-9+/]{4})*([A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$",
    },
}
NOT_HERE: dict[str, Any] = {"not": {}}  # url, uuid...: left to pydantic
# Extension.value[x] types modelled here (the primitives and the common data types); the
# other 30 (Dosage, Expression, TriggerDefinition...) would more than double the schema.
EXTENSION_VALUES = frozenset({
    "Base64Binary", "Boolean", "Canonical", "Code", "Date", "DateTime", "Decimal", "Id",
    "Instant", "Integer", "Markdown", "Oid", "PositiveInt", "String", "Time", "UnsignedInt",
    "Uri", "Address", "CodeableConcept", "Coding", "ContactPoint", "HumanName", "Identifier",
    "Period", "Quantity", "Range", "Ratio", "Reference", "Age", "Duration", "Annotation",
    "Attachment", "Money",
})


def _optional(annotation: object) -> object:
    """X from ``X | None``; None for any other union (e.g. fhir_comments: str | list[str])."""
    if typing.get_origin(annotation) not in (typing.Union, types.UnionType):
        return annotation
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    return args[0] if len(args) == 1 else None


def _unwrap(annotation: object) -> tuple[bool, object]:
    """(is a list, the element annotation) of an ``X | None`` or ``List[X | None] | None`` field
    (the nulls a primitive list may hold are left to pydantic)."""
    annotation = _optional(annotation)
    if typing.get_origin(annotation) is list:
        return True, _optional(typing.get_args(annotation)[0])
    return False, annotation


class Builder:
    def __init__(self) -> None:
        self.defs: dict[str, Any] = {}

    def ref(self, model: type, lenient: bool, type_name: str) -> dict[str, Any]:
        # lenient.py finds the shape by the annotation's name; unknown to it means not walked
        lenient = lenient and bool(shape_of(type_name))
        key = f"{'L' if lenient else 'S'}:{model.__module__.rsplit('.', 1)[-1]}.{model.__name__}"
        if key not in self.defs:
            self.defs[key] = {}  # placeholder against recursion
            self.defs[key] = self.model_schema(model, lenient, type_name, root=False)
        return {"$ref": f"#/$defs/{key}"}

    def element(self, annotation: object, lenient: bool) -> tuple[dict[str, Any], bool]:
        """The schema of one element and whether lenient.py walks into it."""
        if annotation in PRIMITIVES:
            return PRIMITIVES[annotation], False
        if isinstance(annotation, type) and issubclass(annotation, ft.FhirBase):
            name = annotation.__name__.removesuffix("Type")
            if name == "Resource":  # contained: only the types we model, always strict
                kinds = [self.ref(get_fhir_model_class(r), False, r) for r in ROOTS]
                return {"anyOf": kinds}, False
            model = annotation.get_model_klass()
            walked = name != "FHIRPrimitiveExtension"
            return self.ref(model, lenient and walked, name), walked
        return NOT_HERE, False

    def model_schema(self, model: Any, lenient: bool, type_name: str, root: bool) -> dict[str, Any]:
        props: dict[str, Any] = {}
        required: list[str] = []
        conditions: list[dict[str, Any]] = []
        choices: dict[str, list[str]] = {}
        required_choices: set[str] = set()
        if model.has_resource_base():  # a contained resource is typed by it too
            props["resourceType"] = {"const": model.get_resource_type()}
            required.append("resourceType")
        shape = shape_of(type_name) if lenient else {}
        for name, field in model.model_fields.items():
            key = field.alias or name
            if name == "fhir_comments" or key == "resourceType":
                continue
            is_list, inner = _unwrap(field.annotation)
            if model.__name__ == "Extension" and key.startswith("value") and (
                    key.removeprefix("value") not in EXTENSION_VALUES):
                inner = None  # rare in EHR data: left to pydantic, for a smaller schema
            schema, walked = self.element(inner, lenient)
            if is_list:
                array = {"type": "array", "items": schema}
                # lenient.py wraps a lone object in any list field it knows, walked or not
                lone = lenient and shape.get(key, (False, None))[0] and "$ref" in str(schema)
                schema = {"anyOf": [array, schema]} if lone else array
            props[key] = schema
            extra = field.json_schema_extra or {}
            if field.is_required():
                required.append(key)
            if extra.get("element_required"):
                neutral = UNREAD_REQUIRED.get(model.get_resource_type(), {}) if root else {}
                if not (lenient and key in neutral):
                    ext = f"_{key}"
                    conditions.append({"anyOf": [
                        {"required": [key]},
                        {"required": [ext], "properties": {ext: {
                            "required": ["extension"],
                            "properties": {"extension": {"minItems": 1}},
                        }}},
                    ]})
            if extra.get("one_of_many"):  # value[x]: at most one, at least one if required
                group = choices.setdefault(extra["one_of_many"], [])
                group.append(key)
                if extra.get("one_of_many_required"):
                    required_choices.add(extra["one_of_many"])
        for prefix, keys in choices.items():
            # A key whose own schema refuses every value needs no exclusion.
            kept = [k for k in keys if props[k] != NOT_HERE]
            # value[x]: exactly one of "has k1" ... "has kn" (and, when optional, "has none")
            # holds. n+1 small schemas, where "each key excludes all others" took n*(n-1)
            # (Extension's 51 choices were a third of the compiled validator's memory).
            alternatives: list[dict[str, Any]] = [{"required": [k]} for k in kept]
            if prefix in required_choices:
                assert kept, f"{model.__name__}.{prefix}[x]: no modelled choice"
                conditions.append({"oneOf": alternatives})
            elif len(kept) > 1:
                alternatives.append({"properties": {k: False for k in kept}})
                conditions.append({"oneOf": alternatives})
        if model.__name__ == "FHIRPrimitiveExtension":  # its own validator: id or extension
            conditions.append({"anyOf": [{"required": ["id"]}, {"required": ["extension"]}]})
        out: dict[str, Any] = {"type": "object", "properties": props,
                               "additionalProperties": False}
        if required:
            out["required"] = required
        if conditions:
            out["allOf"] = conditions
        return out


def build() -> dict[str, Any]:
    builder = Builder()
    for name in ROOTS:  # one entry per type read: "R:Patient"...
        model = get_fhir_model_class(name)
        builder.defs[f"R:{name}"] = builder.model_schema(model, True, name, root=True)
    # One validator for the six types (compiled once: 0.04 s, where six took 0.25 s), which
    # picks the type's schema by resourceType (about 10 % of a check).
    dispatch = [{"if": {"properties": {"resourceType": {"const": name}}},
                 "then": {"$ref": f"#/$defs/R:{name}"}} for name in ROOTS]
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$comment": "Generated by scripts/make_fhir_schema.py from fhir.resources R4B; "
        "accepts a subset of what the strict-then-lenient pydantic path accepts.",
        "type": "object",
        "required": ["resourceType"],
        "properties": {"resourceType": {"enum": list(ROOTS)}},
        "allOf": dispatch,
        "$defs": dict(sorted(builder.defs.items())),
    }


def render() -> str:
    return json.dumps(build(), indent=None, sort_keys=False, separators=(",", ":")) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is stale")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        same = OUT.exists() and OUT.read_text() == text
        print("up to date" if same else f"{OUT} is out of date: run {sys.argv[0]}")
        return 0 if same else 1
    OUT.write_text(text)
    print(f"wrote {OUT} ({len(text)} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
