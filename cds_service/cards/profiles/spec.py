"""``spec``: CDS Hooks 2.0 exactly as the cards are built (the default profile)."""

from __future__ import annotations

from typing import Any

from cds_service.cards.profiles.context import ProfileContext


def render(response: dict[str, Any], ctx: ProfileContext, hook: str = "") -> dict[str, Any]:
    return response


def discovery(document: dict[str, Any], ctx: ProfileContext) -> dict[str, Any]:
    return document
