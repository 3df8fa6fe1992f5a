"""Card and suggestion uuids: RFC 4122 version 4, unique, and never shared with a forked worker."""

from __future__ import annotations

import os
import uuid

from cds_service.cards.card_ids import new_card_uuid, new_uuid, rule_of_card_uuid, rule_prefix


def test_new_uuid_is_a_version_4_uuid_in_canonical_text() -> None:
    seen = set()
    for _ in range(3000):  # more than one block of pooled random bytes
        text = new_uuid()
        parsed = uuid.UUID(text)
        assert (parsed.version, parsed.variant, str(parsed)) == (4, uuid.RFC_4122, text)
        seen.add(text)
    assert len(seen) == 3000


def test_card_uuid_names_its_rule() -> None:
    card = new_card_uuid("iv-iron-indicated")
    assert card[:8] == rule_prefix("iv-iron-indicated")
    assert uuid.UUID(card).version == 4
    assert rule_of_card_uuid(card, ["dopamine-agonist-against", "iv-iron-indicated"]) == (
        "iv-iron-indicated"
    )


def test_a_forked_worker_draws_its_own_random_bytes() -> None:
    new_uuid()  # the parent now holds pooled bytes
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report its next uuid, then leave without running pytest teardown
        os.write(write_end, new_uuid().encode())
        os._exit(0)
    os.close(write_end)
    os.waitpid(pid, 0)
    child = os.read(read_end, 64).decode()
    os.close(read_end)
    assert uuid.UUID(child).version == 4
    assert child != new_uuid()  # the parent's next uuid comes from the parent's own pool
