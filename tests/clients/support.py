"""What the client replay tests share: where the captures are, and cards as (rule, indicator)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cds_service.cards.profiles.epic import rule_id_for_topic_code
from cds_service.knowledge import load_knowledge

CLIENTS = Path(__file__).resolve().parents[2] / "fhir_fixtures" / "clients"
RULE_IDS = tuple(load_knowledge().rules)


def rule_pairs(response: dict[str, Any]) -> list[list[str]]:
    """(rule id, indicator) per card, in order; Epic's letters-and-digits topic codes mapped
    back to the rule id."""
    pairs = []
    for card in response["cards"]:
        code = card["source"]["topic"]["code"]
        rule = code if code in RULE_IDS else rule_id_for_topic_code(code, RULE_IDS) or code
        pairs.append([rule, card["indicator"]])
    return pairs
