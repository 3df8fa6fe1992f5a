"""Small card edits several profiles share."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def keep_allowed_links(card: dict[str, Any], allowed: Iterable[str]) -> None:
    """Drop every link whose URL the site has not registered (the client would drop it too)."""
    if "links" not in card:
        return
    allowed = set(allowed)
    links = [link for link in card["links"] if link.get("url") in allowed]
    if links:
        card["links"] = links
    else:
        del card["links"]


def set_suggestions(
    card: dict[str, Any], suggestions: list[dict[str, Any]], selection_behavior: str
) -> None:
    """Replace the card's suggestions; no suggestions means no selectionBehavior either."""
    if suggestions:
        card["suggestions"] = suggestions
        card["selectionBehavior"] = selection_behavior
    else:
        card.pop("suggestions", None)
        card.pop("selectionBehavior", None)
