"""Who each rule and each of its suggestions is for, in words, from the knowledge files only.

A rule states ``applies_to`` and ``excludes`` (recommendations.json); a suggestion may list
patient gates under ``not_for`` / ``only_for`` (described in ``suggestion_gates``) and a drug class
under ``unless_drafted_class``. Whatever the files say is shown; nothing here knows a gate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cds_service.knowledge import Knowledge


@dataclass(frozen=True)
class SuggestionView:
    """One suggestion as the committee reads it: what it creates and for whom."""

    spec: dict[str, Any]
    template: dict[str, Any] | None  # the medication it drafts, if any
    offered_to: str  # "every patient the card fires for", or the gates that limit it
    limits: tuple[str, ...]  # one line per gate or condition that withholds it


def _gate(knowledge: Knowledge, gate: str) -> str:
    gates = knowledge.raw["recommendations"].get("suggestion_gates", {})
    text = gates.get(gate)
    return f"{gate}: {text}" if text else gate


def suggestion_view(knowledge: Knowledge, spec: dict[str, Any]) -> SuggestionView:
    """The suggestion ``spec`` with who may be offered it, in the knowledge file's words."""
    recs = knowledge.raw["recommendations"]
    medication = spec.get("medication")
    template = recs.get("medication_templates", {}).get(medication) if medication else None
    limits = [f"not for {_gate(knowledge, g)}" for g in spec.get("not_for", [])]
    only = [_gate(knowledge, g) for g in spec.get("only_for", [])]
    drafted = spec.get("unless_drafted_class")
    if drafted:
        display = knowledge.classes.get(drafted, {}).get("display", drafted)
        limits.append(f"not when {display} is already being ordered")
    if only:
        offered = "only for " + "; ".join(only)
    elif limits:
        offered = "every patient the card fires for, except as listed"
    else:
        offered = "every patient the card fires for"
    return SuggestionView(spec, template, offered, tuple(limits))


def suggestion_views(knowledge: Knowledge, rule: dict[str, Any]) -> list[SuggestionView]:
    return [suggestion_view(knowledge, spec) for spec in rule.get("suggestions", [])]
