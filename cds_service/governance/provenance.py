"""Provenance on every card: why it fired, as one namespaced key in ``card.extension``.

``card.extension["org.rls-cds.provenance"]``::

    {"rule": "iv-iron-indicated",
     "knowledge": {"version": "2026.11.0", "sha256": "<64 hex>"},
     "evidence": [
       {"type": "Observation", "id": "ferritin-1", "versionId": "3",
        "analyte": "ferritin", "value": 60.0, "unit": "ng/mL", "effective": "2026-05-01"},
       {"type": "MedicationRequest", "id": "draft-1", "status": "draft"}]}

A value computed from several results (TSAT from iron and TIBC) lists them in ``derivedFrom``
instead of ``type``/``id``. ``versionId`` appears when the resource's ``meta.versionId`` was
sent; ``comparator`` when the value was given as a bound (``<10``); no ``evidence`` when the
rule read no lab or order. Other keys in ``card.extension`` are left as they are (Epic's
content type sits beside it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from fractions import Fraction
from itertools import chain
from typing import Any

from cds_service.engine.facts import LabFact, MedicationFact
from cds_service.engine.findings import Finding
from cds_service.engine.format import number
from cds_service.fhir.resources import iter_resources
from cds_service.governance.stamp import KnowledgeStamp

PROVENANCE_KEY = "org.rls-cds.provenance"


Lookup = Callable[[str], Mapping[str, Any] | None]  # "Type/id" -> the resource as sent


def resource_lookup(by_type: Mapping[str, list[dict[str, Any]]], drafts: object) -> Lookup:
    """Find a request's resource by "Type/id": prefetch (``ResourceIndex.by_type``), then the
    draft orders; the first resource sent with that id wins.

    Each type is read only as far as the cards need: a lookup goes on from where the last one
    of its type stopped, keeping every id it passes, so cited resources near the front of a
    large Bundle (newest results usually are) cost no walk through the rest.
    """
    tables: dict[str, tuple[dict[Any, Mapping[str, Any]], Iterator[Any]]] = {}
    draft_resources = iter_resources(drafts)  # read as the engine reads them (a lone entry too)

    def find(ref: str) -> Mapping[str, Any] | None:
        kind, _, ident = ref.partition("/")
        held = tables.get(kind)
        if held is None:
            held = tables[kind] = ({}, chain(by_type.get(kind, ()), draft_resources))
        table, unread = held
        found = table.get(ident)
        if found is not None:
            return found
        for resource in unread:
            if type(resource) is dict and resource.get("resourceType") == kind:
                ident_sent = resource.get("id")
                # hostile input sends lists, numbers, …; a repeated id keeps its first resource
                if isinstance(ident_sent, str) and ident_sent not in table:
                    table[ident_sent] = resource
                    if ident_sent == ident:
                        return resource
        return None

    return find


def _reference(ref: str, resources: Lookup) -> dict[str, Any]:
    kind, _, ident = ref.partition("/")
    out: dict[str, Any] = {"type": kind, "id": ident}
    resource = resources(ref)
    meta = resource.get("meta") if resource is not None else None
    if meta is None:  # the usual case, without the slower abstract Mapping check below
        return out
    # dict first: the type JSON gives, without the slower abstract Mapping check
    version = meta.get("versionId") if type(meta) is dict or isinstance(meta, Mapping) else None
    if isinstance(version, str) and version:
        out["versionId"] = version
    return out


def shown_number(value: Fraction) -> float:
    """``float(number(value))``: the value as the card shows it, as a JSON number."""
    if type(value) is Fraction and 100 % value.denominator == 0:
        # shown exactly (at most two decimals): the correctly rounded quotient is that float
        return float(value)  # one Python call: Fraction's numerator / denominator
    return float(number(value))


def _lab(lab: LabFact, resources: Lookup) -> dict[str, Any]:
    ref = lab.ref
    if " + " in ref:  # a computed value (TSAT from iron and TIBC) names its sources
        out = {"derivedFrom": [_reference(r, resources) for r in ref.split(" + ")]}
    else:
        out = _reference(ref, resources)
    # the value as the card shows it (exact arithmetic keeps a Fraction; JSON wants a number)
    out["analyte"] = lab.analyte
    out["value"] = shown_number(lab.value)
    out["unit"] = lab.unit
    out["effective"] = lab.effective.isoformat()
    if lab.comparator:
        out["comparator"] = lab.comparator
    return out


def _order(order: MedicationFact, resources: Lookup) -> dict[str, Any]:
    out = _reference(order.ref, resources)
    out["status"] = order.status
    return out


def provenance(
    finding: Finding, stamp: KnowledgeStamp, resources: Lookup
) -> dict[str, Any]:
    """The provenance entry of the card rendered from ``finding``."""
    evidence = []  # plain loops: most cards cite one or two resources
    for lab in finding.labs:
        evidence.append(_lab(lab, resources))
    for order in finding.orders:
        evidence.append(_order(order, resources))
    entry: dict[str, Any] = {"rule": finding.rule_id, "knowledge": stamp.entry}
    if evidence:  # no empty values anywhere in a card: a rule on history alone has none
        entry["evidence"] = evidence
    return entry


def add_provenance(
    card: dict[str, Any], finding: Finding, stamp: KnowledgeStamp,
    resources: Lookup,
) -> dict[str, Any]:
    """``card`` with its provenance merged into ``extension`` (other keys kept)."""
    entry = provenance(finding, stamp, resources)
    extension = card.get("extension")
    if extension:
        card["extension"] = {**extension, PROVENANCE_KEY: entry}
    else:  # the usual card: no other extension to keep
        card["extension"] = {PROVENANCE_KEY: entry}
    return card
