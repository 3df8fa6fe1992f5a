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


def _message(error: ValidationError) -> str:
    if error.validator == "required":
        return str(error.message).replace("is a required property", "is required")
    if error.validator == "pattern":
        return f"{_path(error)} is not in the expected format"
    return error.message if len(error.message) < 200 else f"{_path(error)} is invalid"


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
        path = _path(error)
        bare = error.validator in ("required", "dependentRequired") or path == "(request)"
        where = "" if bare else f"{path}: "
        raise BadRequest(f"{where}{_message(error)}", path)
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
