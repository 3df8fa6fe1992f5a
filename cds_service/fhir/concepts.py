"""CodeableConcepts to engine Concepts, with code systems folded onto short names.

The JSON comes from a parser: a FHIR object is a ``dict`` (abc ``Mapping`` checks cost about
a thousand instructions each, and ``as_list`` already reads only dicts as objects).
"""

from __future__ import annotations

from typing import Any

from cds_service.engine.facts import Concept
from cds_service.knowledge import Knowledge


def concept_of(knowledge: Knowledge, *concepts: object) -> Concept:
    """Merge one or more CodeableConcept dicts into one Concept (codings and all display text)."""
    codings: list[tuple[str, str]] = []
    texts: list[str] = []
    systems = knowledge.systems  # knowledge.system_name, inline: this runs per coded resource
    for cc in concepts:
        if not isinstance(cc, dict):
            continue
        text = cc.get("text")
        if isinstance(text, str):
            texts.append(text)
        for coding in _codings(cc.get("coding")):
            if not isinstance(coding, dict):
                continue
            code = coding.get("code")
            if isinstance(code, str) and code:
                system = coding.get("system")
                name = systems.get(system, system) if isinstance(system, str) else ""
                codings.append((name, code))
            display = coding.get("display")
            if isinstance(display, str):
                texts.append(display)
    return Concept(tuple(codings), " | ".join(texts))


def _codings(codings: object) -> list[Any]:
    """A CodeableConcept's ``coding`` as a list: a lone coding object as a list of one, anything
    else as none (the caller skips items that are not objects)."""
    if isinstance(codings, list):
        return codings
    return [codings] if isinstance(codings, dict) else []


def first_code(cc: object) -> str | None:
    """The first coding's code of a CodeableConcept (for status-like concepts)."""
    if isinstance(cc, dict):
        for coding in _codings(cc.get("coding")):
            if isinstance(coding, dict):
                code = coding.get("code")
                if isinstance(code, str):
                    return code
    return None
