"""Card uuids that carry their rule id, so feedback can be traced without a lookup table.

A card uuid is a random version-4 uuid whose first 8 hex digits are replaced by the first 8 hex
digits of sha256(rule id). The rule of a card is recovered by matching that prefix against the
known rule ids; no patient data and no issued-card log is needed on the hook path.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from functools import lru_cache

_POOL_UUIDS = 256  # 4096 random bytes per getrandom() call instead of one call each
# Made in blocks, handed out by list.pop: atomic, so every uuid goes to one caller only, from
# any thread (two threads that both find it empty each add a block: no uuid is lost or shared).
_pool: list[str] = []
# Each byte's top bits replaced by RFC 4122's: version 4 (0100) and variant 10.
_VERSION = bytes((b & 0x0F) | 0x40 for b in range(256))
_VARIANT = bytes((b & 0x3F) | 0x80 for b in range(256))


# A forked worker must never hand out uuids its parent (or a sibling) also holds.
os.register_at_fork(after_in_child=_pool.clear)


@lru_cache(maxsize=1024)
def rule_prefix(rule_id: str) -> str:
    """The 8 hex digits that mark a card of ``rule_id``."""
    return hashlib.sha256(rule_id.encode("utf-8")).hexdigest()[:8]


def _hex_groups(raw: bytearray, width: int) -> list[str]:
    """``raw`` as hex text cut into groups of ``width`` bytes."""
    return raw.hex(" ", width).split()


def uuid_block(count: int = _POOL_UUIDS) -> list[str]:
    """``count`` random version-4 uuids as text, from one os.urandom call.

    The random bytes are laid out group by group (all first groups, then all second groups,
    ...) so that every step is one C call over the whole block rather than a Python step per
    uuid; the third and fourth groups get the version and variant bits ``uuid.uuid4`` sets.
    """
    raw = bytearray(os.urandom(16 * count))
    third, fourth = raw[6 * count : 8 * count], raw[8 * count : 10 * count]
    third[::2] = third[::2].translate(_VERSION)
    fourth[::2] = fourth[::2].translate(_VARIANT)
    groups = (
        _hex_groups(raw[: 4 * count], 4),
        _hex_groups(raw[4 * count : 6 * count], 2),
        _hex_groups(third, 2),
        _hex_groups(fourth, 2),
        _hex_groups(raw[10 * count :], 6),
    )
    return list(map("-".join, zip(*groups, strict=True)))


def new_uuid() -> str:
    """A random version-4 uuid as text (what ``str(uuid.uuid4())`` gives, without the object)."""
    try:
        return _pool.pop()
    except IndexError:
        _pool.extend(uuid_block())
        return _pool.pop()


# The pool's own pop, for the hot path: a C call without new_uuid's Python frame; it raises
# IndexError when the pool is empty, and the caller then takes new_uuid(), which refills it.
# (The fork hook clears the list in place, so this stays the pool's method.)
pooled_uuid = _pool.pop


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
