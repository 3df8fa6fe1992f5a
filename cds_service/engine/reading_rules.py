"""Saying what could not be read: an empty answer must mean "checked, nothing to say"."""

from __future__ import annotations

from cds_service.engine.findings import Finding
from cds_service.engine.situation import Situation


def order_not_checked(s: Situation) -> list[Finding]:
    """One warning naming every order being placed that could not be read."""
    orders = s.unreadable_drafts
    if not orders:
        return []
    names = tuple([m.concept.text.split(" | ")[0] or m.ref for m in orders])
    return [
        Finding(
            "order-not-checked",
            s.knowledge.rules["order-not-checked"]["indicator"],
            orders,
            names,
            values={"orders": ", ".join(dict.fromkeys(names))},
        )
    ]


def data_not_read(s: Situation, findings: list[Finding]) -> list[Finding]:
    """When nothing else applies but some data the rules read was left out, say so."""
    if findings or not s.record.skipped:
        return []
    return [Finding("data-not-read", s.knowledge.rules["data-not-read"]["indicator"])]
