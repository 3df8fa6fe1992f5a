"""Card and suggestion uuids: RFC 4122 version 4, unique, and never shared with a forked worker."""

from __future__ import annotations

import os
import uuid
from unittest.mock import patch

from hypothesis import given, settings
from hypothesis import strategies as st

from cds_service.cards.card_ids import (
    new_card_uuid,
    new_uuid,
    rule_of_card_uuid,
    rule_prefix,
    uuid_block,
)


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


def _reference_uuids(raw: bytes, count: int) -> list[str]:
    """What ``uuid.UUID(bytes=..., version=4)`` makes of each uuid's bytes in the block layout
    (all first groups, then all second groups, ...)."""
    widths = (4, 2, 2, 2, 6)
    out = []
    for i in range(count):
        start, parts = 0, []
        for width in widths:
            parts.append(raw[start + width * i : start + width * (i + 1)])
            start += width * count
        out.append(str(uuid.UUID(bytes=b"".join(parts), version=4)))
    return out


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=1, max_value=40).flatmap(
    lambda n: st.tuples(st.just(n), st.binary(min_size=16 * n, max_size=16 * n))
))
def test_a_uuid_block_is_what_uuid4_makes_of_the_same_bytes(case: tuple[int, bytes]) -> None:
    count, raw = case
    with patch("cds_service.cards.card_ids.os.urandom", lambda size: raw[:size]):
        assert uuid_block(count) == _reference_uuids(raw, count)


def test_uuids_are_handed_out_once_each() -> None:
    taken = [new_uuid() for _ in range(600)]  # more than two blocks
    assert len(set(taken)) == 600


def test_threads_drawing_at_once_never_share_a_uuid() -> None:
    from concurrent.futures import ThreadPoolExecutor

    def draw(_: int) -> list[str]:
        return [new_uuid() for _ in range(2000)]

    with ThreadPoolExecutor(8) as pool:
        drawn = [u for batch in pool.map(draw, range(8)) for u in batch]
    assert len(set(drawn)) == len(drawn) == 16000
