"""``sandbox``: what the CDS Hooks Sandbox can apply (``constraints.json``, profile sandbox).

The Sandbox holds one medication order. Taking a suggestion, it walks the actions in turn and
stops at the first it can apply: a create whose MedicationRequest has
``medicationCodeableConcept.text`` and ``coding[0].code`` replaces the order, a delete empties
it; any other create is skipped with a console warning. So each suggestion keeps only the
actions the Sandbox applies, creates first, and a suggestion left with nothing it can apply
is dropped (the Sandbox would post "accepted" feedback for a click that changed nothing).
Its Patient View has no order at all, so there no suggestion can be applied and none is sent.
"""

from __future__ import annotations

from typing import Any

from cds_service.cards.profiles.common import set_suggestions
from cds_service.cards.profiles.context import ProfileContext


def _applicable_create(action: dict[str, Any]) -> bool:
    resource = action.get("resource") or {}
    concept = resource.get("medicationCodeableConcept") or {}
    coding = concept.get("coding") or [{}]
    return (
        resource.get("resourceType") == "MedicationRequest"
        and bool(concept.get("text"))
        and bool(coding[0].get("code"))
    )


def _suggestion(suggestion: dict[str, Any]) -> dict[str, Any] | None:
    actions = suggestion.get("actions", [])
    creates = [a for a in actions if a.get("type") == "create"]
    usable = [a for a in creates if _applicable_create(a)]
    if creates and not usable:
        return None  # a "Draft …" or "Replace with …" the Sandbox cannot draft
    kept = usable + [a for a in actions if a.get("type") == "delete"]
    return {**suggestion, "actions": kept} if kept else None


def _card(card: dict[str, Any], orderable: bool) -> dict[str, Any]:
    if "suggestions" not in card:
        return card
    card = dict(card)
    kept = [s for s in map(_suggestion, card["suggestions"]) if s is not None and orderable]
    set_suggestions(card, kept, card.get("selectionBehavior", "at-most-one"))
    return card


def render(response: dict[str, Any], ctx: ProfileContext, hook: str = "") -> dict[str, Any]:
    orderable = hook != "patient-view"  # the Sandbox's Patient View holds no order to change
    return {**response, "cards": [_card(c, orderable) for c in response.get("cards", [])]}


def discovery(document: dict[str, Any], ctx: ProfileContext) -> dict[str, Any]:
    return document
