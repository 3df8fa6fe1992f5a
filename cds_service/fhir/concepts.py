"""CodeableConcepts to engine Concepts, with code systems folded onto short names."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from cds_service.engine.facts import Concept
from cds_service.fhir.resources import as_list
from cds_service.knowledge import Knowledge


def concept_of(knowledge: Knowledge, *concepts: object) -> Concept:
    """Merge one or more CodeableConcept dicts into one Concept (codings and all display text)."""
    codings: list[tuple[str, str]] = []
    texts: list[str] = []
    for cc in concepts:
        if not isinstance(cc, Mapping):
            continue
        if isinstance(cc.get("text"), str):
            texts.append(cc["text"])
        for coding in _codings(cc):
            code = coding.get("code")
            if isinstance(code, str) and code:
                codings.append((knowledge.system_name(coding.get("system")), code))
            if isinstance(coding.get("display"), str):
                texts.append(coding["display"])
    return Concept(tuple(codings), " | ".join(texts))


def _codings(cc: Mapping[str, Any]) -> Iterable[Mapping[str, Any]]:
    yield from (c for c in as_list(cc.get("coding")) if isinstance(c, Mapping))


def first_code(cc: object) -> str | None:
    """The first coding's code of a CodeableConcept (for status-like concepts)."""
    if isinstance(cc, Mapping):
        for coding in _codings(cc):
            if isinstance(coding.get("code"), str):
                return coding["code"]
    return None
