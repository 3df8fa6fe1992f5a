"""Whether a resource the rules read is valid FHIR R4 (strictly, or read leniently).

Two halves. The fast one is a JSON Schema generated from the fhir.resources R4B models
(``r4_resources.schema.json``, by ``scripts/make_fhir_schema.py``) and checked by jsonschema-rs:
it says "valid" only for resources the pydantic path below accepts (``tests/fhir`` compares the
two over generated and real-shaped resources). Anything else, and every invalid resource, goes
to fhir.resources' pydantic models, strictly and then with ``fhir/lenient.py``'s second chance,
which decide and explain. fhir.resources and pydantic are imported on the first such resource,
so a worker that only sees valid data never loads them (about 26 MB and 0.3 s).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources as package_files
from typing import Any

import jsonschema_rs
import orjson

from cds_service.knowledge import remember

# Only the resource types the rules read are ever validated.
READ_TYPES = frozenset(
    {
        "Patient",
        "Condition",
        "Observation",
        "MedicationRequest",
        "MedicationAdministration",
        "Medication",
    }
)
SCHEMA_FILE = "r4_resources.schema.json"


@dataclass(frozen=True)
class Invalid:
    """Why a resource could not be read: words for the card, a code for the log."""

    message: str  # e.g. "the drug (medicationCodeableConcept) is not written as FHIR R4 requires"
    code: str  # e.g. "MedicationRequest.medicationCodeableConcept:json_invalid" (no values)


def invalid_reason(resource: Mapping[str, Any]) -> Invalid | None:
    """Why ``resource`` cannot be read as FHIR R4, even leniently; None when it can (or is of
    a type we do not read).

    The verdict is a pure function of the resource's content, and an EHR sends the same
    Patient, Conditions, orders and labs on every hook of a visit: verdicts are kept in a
    bounded table keyed by the resource's exact JSON (a hit costs about half the fast check).
    """
    rtype = resource.get("resourceType")
    try:
        if rtype not in READ_TYPES:
            return None
    except TypeError:  # a list or object is not hashable, nor a type we read
        return None
    try:
        key = orjson.dumps(resource)
    except (TypeError, orjson.JSONEncodeError):
        return Invalid("it is not JSON", f"{rtype}:not_json")
    try:
        return _VERDICTS[key]
    except KeyError:
        pass
    verdict = _invalid_reason_of(key)
    # Kept under an exact-size copy of the key: orjson's bytes keep their spare buffer, about
    # 4 KB for a 600-byte Observation, which made a full table 14 MB instead of 3 MB.
    remember(_VERDICTS, bytes(memoryview(key)), verdict)
    return verdict


_VERDICTS: dict[bytes, Invalid | None] = {}  # resource JSON -> verdict, bounded by remember


@cache
def fast_check() -> Any:
    """jsonschema-rs's yes/no for the six types: True only when the pydantic path accepts."""
    text = package_files.files("cds_service.fhir").joinpath(SCHEMA_FILE).read_text()
    return jsonschema_rs.validator_for(json.loads(text)).is_valid


ERROR_WORDS = (  # pydantic error type fragment -> what is wrong, in plain words
    ("missing", "is missing"),
    ("list_type", "should be a list"),
    ("json_invalid", "is not written as FHIR R4 requires"),
    ("_type", "is not written as FHIR R4 requires"),
    ("literal", "has a value FHIR R4 does not allow"),
    ("enum", "has a value FHIR R4 does not allow"),
    ("pattern", "is not in FHIR format"),
)
FIELD_WORDS = {  # the elements the rules read, as a clinician names them
    "medicationCodeableConcept": "the drug",
    "medicationReference": "the drug",
    "authoredOn": "the order date",
    "status": "the status",
    "intent": "the order intent",
    "subject": "the patient",
    "code": "the code",
    "clinicalStatus": "the clinical status",
    "verificationStatus": "the verification status",
    "valueQuantity": "the result value",
    "effectiveDateTime": "the date",
    "effectivePeriod": "the date",
    "reasonCode": "the reason",
    "birthDate": "the birth date",
}


def strict_error(resource: Mapping[str, Any]) -> Invalid | None:
    """The first error of fhir.resources' R4B model for ``resource``, in words; None if valid."""
    from fhir.resources.R4B import get_fhir_model_class  # only for resources the schema refused
    from pydantic import ValidationError

    model = get_fhir_model_class(resource["resourceType"])
    try:
        model.model_validate(resource)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "__root__") or "resource"
        kind = str(first.get("type", "invalid"))
        words = next((w for frag, w in ERROR_WORDS if frag in kind), "is not a valid FHIR R4 value")
        named = FIELD_WORDS.get(where.split(".")[0])
        subject = f"{named} ({where})" if named else where
        return Invalid(f"{subject} {words}", f"{resource['resourceType']}.{where}:{kind}")
    except (TypeError, ValueError) as exc:  # fhir.resources raises these for some shapes
        kind = type(exc).__name__
        return Invalid("it is not valid FHIR R4", f"{resource['resourceType']}:{kind}")
    return None


def _invalid_reason_of(raw: bytes) -> Invalid | None:
    resource = orjson.loads(raw)  # what the key says, whatever object it was written from
    if fast_check()(resource):
        return None
    from cds_service.fhir.lenient import lenient_copy  # with fhir.resources: only when needed

    strict = strict_error(resource)
    if strict is None:
        return None
    copy, changed = lenient_copy(resource)  # a lone object for an array, an unread intent
    if changed and strict_error(copy) is None:
        return None
    return strict
