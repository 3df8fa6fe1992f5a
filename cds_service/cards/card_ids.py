"""Card uuids that carry their rule id, so feedback can be traced without a lookup table.

A card uuid is a random version-4 uuid whose first 8 hex digits are replaced by the first 8 hex
digits of sha256(rule id). The rule of a card is recovered by matching that prefix against the
known rule ids; no patient data and no issued-card log is needed on the hook path.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterable
from functools import lru_cache

_POOL_BYTES = 4096  # 256 uuids per getrandom() call instead of one call each
_pool = threading.local()


def _forget_pool() -> None:
    """A forked worker must never hand out random bytes its parent (or a sibling) also holds."""
    global _pool
    _pool = threading.local()


os.register_at_fork(after_in_child=_forget_pool)


@lru_cache(maxsize=1024)
def rule_prefix(rule_id: str) -> str:
    """The 8 hex digits that mark a card of ``rule_id``."""
    return hashlib.sha256(rule_id.encode("utf-8")).hexdigest()[:8]


def _random_hex32() -> str:
    """32 hex digits from os.urandom, drawn in blocks (per thread) to save system calls."""
    block: str = getattr(_pool, "hex", "")
    at: int = getattr(_pool, "at", 0)
    if at >= len(block):
        block, at = os.urandom(_POOL_BYTES).hex(), 0
        _pool.hex = block
    _pool.at = at + 32
    return block[at : at + 32]


def new_uuid() -> str:
    """A random version-4 uuid as text (what ``str(uuid.uuid4())`` gives, without the object)."""
    h = _random_hex32()
    variant = "89ab"[int(h[16], 16) & 3]  # RFC 4122 variant: the top bits of the 17th digit are 10
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{variant}{h[17:20]}-{h[20:32]}"


def new_card_uuid(rule_id: str) -> str:
    """A fresh version-4 uuid whose first group names ``rule_id``."""
    return rule_prefix(rule_id) + new_uuid()[8:]


def rule_of_card_uuid(card_uuid: str, rule_ids: Iterable[str]) -> str | None:
    """The rule id encoded in ``card_uuid``, or None when it matches none of ``rule_ids``."""
    prefix = card_uuid[:8].lower()
    for rule_id in rule_ids:
        if rule_prefix(rule_id) == prefix:
            return rule_id
    return None
