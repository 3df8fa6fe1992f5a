"""Cards and suggestions take their uuids straight from card_ids' pool, refilling it when empty."""

from __future__ import annotations

import re

from cds_service.cards import card_ids
from cds_service.cards.render import render_card
from cds_service.engine.findings import Finding
from cds_service.knowledge import load_knowledge

UUID4 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


def test_pooled_uuid_is_the_pool_s_own_pop() -> None:
    assert card_ids.pooled_uuid == card_ids._pool.pop


def test_cards_draw_from_an_empty_pool_as_from_a_full_one() -> None:
    knowledge = load_knowledge()
    rule_id = next(r for r, rule in knowledge.rules.items() if rule.get("suggestions"))
    finding = Finding(rule_id, "warning", values={"orders": "x", "trigger": "y"})
    seen: set[str] = set()
    for _ in range(3):
        card_ids._pool.clear()  # the first draw of the card (and of each suggestion) refills
        for _ in range(300):  # and past the end of a block
            card = render_card(knowledge, finding, "p")
            uuids = [card["uuid"]] + [s["uuid"] for s in card.get("suggestions", [])]
            assert card["uuid"].startswith(card_ids.rule_prefix(rule_id))
            for uuid in uuids:
                assert UUID4.fullmatch("0" * 8 + uuid[8:])  # a card's first group: its rule
                assert uuid not in seen
                seen.add(uuid)


def test_an_injected_new_uuid_still_makes_the_suggestion_uuids() -> None:
    knowledge = load_knowledge()
    rule_id = next(r for r, rule in knowledge.rules.items() if rule.get("suggestions"))
    card = render_card(knowledge, Finding(rule_id, "info"), "p", new_uuid=lambda: "fixed")
    assert [s["uuid"] for s in card.get("suggestions", [])] == ["fixed"] * len(
        card.get("suggestions", [])
    )
