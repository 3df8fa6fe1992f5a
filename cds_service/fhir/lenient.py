"""Lenient reading of real client shapes, where the meaning is unambiguous.

Real EHRs and the CDS Hooks Sandbox send a single object where FHIR R4 has an array (the
Sandbox's draft ``category`` and ``reasonCode``) and leave out required elements that no rule
reads (the Sandbox's draft ``intent``). A resource that fails strict R4 validation gets one
second chance: a copy with every such singleton wrapped in a one-element array, at any depth,
and every unread required element filled with a neutral value, validated again. The readers
see the same thing through :func:`cds_service.fhir.resources.as_list`, which reads a lone
object as a one-element list. Anything else that is invalid stays invalid.
"""

from __future__ import annotations

import typing
from collections.abc import Mapping
from functools import cache
from typing import Any

from fhir.resources.R4B import get_fhir_model_class

# Required in R4, read by no rule: a draft without them is still a readable order.
UNREAD_REQUIRED: dict[str, dict[str, str]] = {
    "MedicationRequest": {"intent": "order"},
}

Shape = dict[str, tuple[bool, str | None]]  # JSON key -> (is an array, element type name)


def _element_name(annotation: object) -> tuple[bool, str | None]:
    """(is a list, FHIR element type name) from a fhir.resources field annotation."""
    is_list = False
    stack = [annotation]
    name: str | None = None
    while stack:
        current = stack.pop()
        origin = typing.get_origin(current)
        if origin is list:
            is_list = True
        args = typing.get_args(current)
        if args:
            stack.extend(args)
            continue
        type_name = getattr(current, "__name__", "")
        if type_name.endswith("Type") and type_name[0].isupper() and type_name != "NoneType":
            name = type_name[: -len("Type")]
    return is_list, name


@cache
def shape_of(type_name: str) -> Shape:
    """Which keys of a FHIR type are arrays, and the element type of each complex key."""
    try:
        model = get_fhir_model_class(type_name)
    except (KeyError, ValueError):
        return {}
    shape: Shape = {}
    for name, field in model.model_fields.items():
        key = field.alias or name
        is_list, element = _element_name(field.annotation)
        if element in ("Resource", "FHIRPrimitiveExtension"):
            element = None  # contained resources and primitive extensions: not walked
        shape[key] = (is_list, element)
    return shape


def _wrap(value: object, type_name: str, path: str, changed: list[str]) -> object:
    if not isinstance(value, Mapping):
        return value
    shape = shape_of(type_name)
    out: dict[str, Any] = {}
    for key, item in value.items():
        is_list, element = shape.get(key, (False, None))
        where = f"{path}.{key}" if path else key
        if is_list and isinstance(item, Mapping):
            changed.append(where)
            item = [item]
        if element is not None:
            if isinstance(item, list):
                item = [_wrap(i, element, where, changed) for i in item]
            else:
                item = _wrap(item, element, where, changed)
        out[key] = item
    return out


def lenient_copy(resource: Mapping[str, Any]) -> tuple[dict[str, Any], tuple[str, ...]]:
    """A copy of ``resource`` read leniently, and the paths that needed it (empty: no change)."""
    rtype = str(resource.get("resourceType"))
    changed: list[str] = []
    copy = _wrap(resource, rtype, "", changed)
    assert isinstance(copy, dict)
    for key, neutral in UNREAD_REQUIRED.get(rtype, {}).items():
        if key not in copy:
            copy[key] = neutral
            changed.append(f"{key} (absent)")
    return copy, tuple(changed)
