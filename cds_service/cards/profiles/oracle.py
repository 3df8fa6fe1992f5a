"""``oracle``: Oracle Health (Cerner Millennium) calls only patient-view, follows the CDS Hooks 1.0
response rules and removes links that are not registered (``constraints.json``, profile oracle).

Suggestions stay, with ``selectionBehavior: "at-most-one"``: CDS Hooks 1.0 allows no other
value ("CDS Clients that do not understand the value MUST treat the card as an error"), so
Epic's ``any`` would break the card. Oracle documents nothing about suggestions; they are
well-formed 1.0 suggestions, applied or not as the client decides.
"""

from __future__ import annotations

from typing import Any

from cds_service.cards.profiles.common import keep_allowed_links
from cds_service.cards.profiles.context import ProfileContext

HOOKS = ("patient-view",)


def _card(card: dict[str, Any], ctx: ProfileContext) -> dict[str, Any]:
    card = dict(card)
    keep_allowed_links(card, ctx.site_for("oracle").allowed_links)
    if "links" in card:  # "the appContext field is not currently supported"
        card["links"] = [{k: v for k, v in link.items() if k != "appContext"}
                         for link in card["links"]]
    if card.get("suggestions"):
        card["selectionBehavior"] = "at-most-one"
    return card


def render(response: dict[str, Any], ctx: ProfileContext, hook: str = "") -> dict[str, Any]:
    return {**response, "cards": [_card(c, ctx) for c in response.get("cards", [])]}


def discovery(document: dict[str, Any], ctx: ProfileContext) -> dict[str, Any]:
    """Only the services Oracle Health can call."""
    return {**document, "services": [s for s in document["services"] if s["hook"] in HOOKS]}
