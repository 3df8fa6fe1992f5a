"""Index the raw FHIR JSON of a request: resources by type and references."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


def as_list(value: object) -> list[Any]:
    """A FHIR array as sent; a lone object as a one-element array (clients send those, see
    ``lenient``); [] when the field is absent or anything else (unvalidated JSON)."""
    if isinstance(value, list):
        return value
    return [value] if isinstance(value, dict) else []


def label(resource: Mapping[str, Any]) -> str:
    """'Observation/abc' (or 'Observation/(no id)') for messages and card details."""
    return f"{resource.get('resourceType', 'Resource')}/{resource.get('id') or '(no id)'}"


def refers_to(reference: object, resource_type: str, resource_id: str) -> bool:
    """Whether a FHIR reference object or string points at ``resource_type/resource_id``."""
    if isinstance(reference, dict):
        reference = reference.get("reference")
    if not isinstance(reference, str):
        return False
    parts = reference.split("/_history/")[0].rstrip("/").split("/")
    return len(parts) >= 2 and parts[-2] == resource_type and parts[-1] == resource_id


def is_about_patient(resource: Mapping[str, Any], patient_id: str, field: str = "subject") -> bool:
    """Whether ``resource[field]`` refers to ``Patient/patient_id``."""
    reference = resource.get(field)
    if isinstance(reference, dict) and reference.get("reference") == f"Patient/{patient_id}":
        return True  # the common case, without parsing the reference
    return refers_to(reference, "Patient", patient_id)


def ref_key(reference: object) -> str | None:
    """'Medication/abc' from a relative or absolute reference; '#x' stays as is."""
    if isinstance(reference, Mapping):
        reference = reference.get("reference")
    if not isinstance(reference, str) or not reference:
        return None
    if reference.startswith("#"):
        return reference
    parts = reference.split("/_history/")[0].rstrip("/").split("/")
    return "/".join(parts[-2:]) if len(parts) >= 2 else None


def iter_resources(value: object) -> list[dict[str, Any]]:
    """The resources inside one prefetch value: a Bundle's entries, or the resource itself."""
    if not isinstance(value, dict):
        return []
    if value.get("resourceType") == "Bundle":
        return [
            entry["resource"]
            for entry in as_list(value.get("entry"))  # one entry as an object: read as a list
            if isinstance(entry, dict) and isinstance(entry.get("resource"), dict)
        ]
    return [value] if isinstance(value.get("resourceType"), str) else []


_NO_TYPE = object()  # before a Bundle's first entry: equal to no resourceType
# The only types a rule follows a reference to (medicationReference, reasonReference).
REFERENCED = frozenset({"Medication", "Condition"})


@dataclass
class ResourceIndex:
    """Every resource of a request, by type and by 'Type/id', for resolving references."""

    by_type: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    by_ref: dict[str, dict[str, Any]] = field(default_factory=dict)
    parent: ResourceIndex | None = None  # consulted when a reference is not found here

    @classmethod
    def of(cls, values: Iterable[object], parent: ResourceIndex | None = None) -> ResourceIndex:
        index = cls(parent=parent)
        by_type, by_ref = index.by_type, index.by_ref
        for value in values:
            # iter_resources written out: this runs per resource of the request
            if not isinstance(value, dict):
                continue
            rtype = value.get("resourceType")
            if rtype != "Bundle":
                if isinstance(rtype, str):
                    index._add(value, rtype)
                continue
            entries = value.get("entry")
            if not isinstance(entries, list):
                entries = as_list(entries)  # one entry as an object: read as a list
            # A search Bundle holds one type entry after entry: its list is looked up once.
            # (last_type is a str, and in JSON only a str equals a str.)
            last_type: object = _NO_TYPE
            same_type: list[dict[str, Any]] = []
            referenced = False
            for entry in entries:
                try:  # only a JSON object takes a str subscript: entry and resource are dicts
                    resource = entry["resource"]
                    rtype = resource["resourceType"]
                except (KeyError, TypeError):
                    if not isinstance(entry, dict):
                        continue
                    resource = entry.get("resource")
                    if not isinstance(resource, dict):
                        continue
                    rtype = None  # a resource without a type is indexed as 'None' (str(None))
                if rtype != last_type:
                    last_type = rtype = str(rtype)
                    same_type = by_type.setdefault(rtype, [])
                    referenced = rtype in REFERENCED
                same_type.append(resource)
                if referenced and resource.get("id"):
                    by_ref[f"{rtype}/{resource['id']}"] = resource
        return index

    def _add(self, resource: dict[str, Any], rtype: str) -> None:
        self.by_type.setdefault(rtype, []).append(resource)
        if rtype in REFERENCED and resource.get("id"):
            self.by_ref[f"{rtype}/{resource['id']}"] = resource

    def resolve(self, reference: object, container: Mapping[str, Any] | None = None) -> Any:
        """The resource a reference points at: contained in ``container``, or in the request."""
        key = ref_key(reference)
        if key is None:
            return None
        if key.startswith("#"):
            for contained in as_list((container or {}).get("contained")):
                if isinstance(contained, Mapping) and contained.get("id") == key[1:]:
                    return contained
            return None
        found = self.by_ref.get(key)
        if found is None and self.parent is not None:
            return self.parent.resolve(reference)
        return found
