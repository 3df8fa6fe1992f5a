"""CDS Hooks request checks: JSON Schema per hook, hook matches service, selections exist."""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

import jsonschema_rs

from cds_service.errors import BadRequest
from cds_service.fhir.resources import iter_resources, label

if TYPE_CHECKING:  # the reference validator is imported only to explain a rejection
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError


def _schema(name: str) -> dict[str, Any]:
    text = resources.files("cds_service.schemas").joinpath(f"{name}.schema.json").read_text()
    return json.loads(text)


@cache
def validator(name: str) -> Draft202012Validator:
    """The reference validator for ``schemas/<name>.schema.json``: precise error messages.

    Imported on the first rejected request (3 MB and 40 ms a worker otherwise spends at start).
    """
    from jsonschema import Draft202012Validator

    return Draft202012Validator(_schema(name), format_checker=None)


@cache
def fast_validator(name: str) -> Any:
    """The same schema compiled by jsonschema-rs: a yes/no answer in microseconds, so the
    reference validator (about 0.3 ms a request) only runs to explain a rejection."""
    return jsonschema_rs.validator_for(_schema(name))


def _path(error: ValidationError) -> str:
    parts = [str(p) if not isinstance(p, int) else f"[{p}]" for p in error.absolute_path]
    return ".".join(parts).replace(".[", "[") or "(request)"


JSON_KINDS = {
    "string": "text",
    "array": "a list",
    "object": "a JSON object",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "null": "null",
}


def _kind_of(value: object) -> str:
    for name, kind in (
        ("boolean", bool), ("string", str), ("array", list), ("object", dict), ("number", float)
    ):
        if isinstance(value, kind):
            return JSON_KINDS[name]
    return "null" if value is None else JSON_KINDS["integer"]


def _message(error: ValidationError) -> str:
    """What is wrong, in plain words and naming the field; never the validator's own wording
    ("[1] is not of type 'object'") and never a long echo of what was sent."""
    path, rule, want = _path(error), error.validator, error.validator_value
    if rule == "required":
        missing = next((p for p in want if p not in error.instance), "a field")
        if error.absolute_path:
            return f"{path}.{missing} is required"
        return f"'{missing}' is required"
    if rule == "dependentRequired":
        for sent, needs in want.items():
            absent = [n for n in needs if sent in error.instance and n not in error.instance]
            if absent:
                return f"{', '.join(absent)} is required when {sent} is sent"
    if rule == "type":
        wanted = [want] if isinstance(want, str) else list(want)
        kinds = " or ".join(JSON_KINDS.get(w, w) for w in wanted)
        return f"{path} must be {kinds}, not {_kind_of(error.instance)}"
    if rule == "pattern" or rule == "format":
        return f"{path} is not in the expected format"
    if rule == "const":
        return f"{path} must be {json.dumps(want)}"
    if rule == "enum":
        return f"{path} must be one of {', '.join(json.dumps(v) for v in want)}"
    if rule in ("minItems", "minLength", "minProperties"):
        return f"{path} must not be empty"
    if rule == "maxLength":
        return f"{path} is too long (at most {want} characters)"
    if rule == "maxItems":
        return f"{path} has too many entries (at most {want})"
    if rule == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        return f"{path} has a field this request does not allow: {', '.join(extra)}"
    return f"{path} is not valid here"


def _first_error(body: object) -> ValidationError | None:
    from jsonschema.exceptions import best_match

    return best_match(validator("cds-request").iter_errors(body))


def check_request(body: object, service_hook: str) -> Mapping[str, Any]:
    """The request body if it is a valid CDS Hooks request for ``service_hook``; else BadRequest."""
    if not isinstance(body, Mapping):
        raise BadRequest("The request body must be a JSON object")
    fast_ok = fast_validator("cds-request").is_valid(body)
    error = None if fast_ok else _first_error(body)
    if error is not None:
        raise BadRequest(_message(error), _path(error))
    if body["hook"] != service_hook:
        raise BadRequest(
            f"hook {body['hook']!r} does not match this service, which answers {service_hook!r}",
            "hook",
        )
    context = body["context"]
    if service_hook == "order-select":
        drafted = {label(r) for r in iter_resources(context["draftOrders"])}
        for i, selection in enumerate(context["selections"]):
            if selection not in drafted:
                raise BadRequest(
                    f"context.selections[{i}]: {selection} is not in context.draftOrders",
                    f"context.selections[{i}]",
                )
    return body
