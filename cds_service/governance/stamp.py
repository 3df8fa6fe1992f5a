"""The knowledge stamp every record and card carries: version and content hash of the files."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from cds_service.knowledge import Knowledge

_cache: dict[int, tuple[Knowledge, KnowledgeStamp]] = {}


@dataclass(frozen=True)
class KnowledgeStamp:
    version: str
    sha256: str  # of the files' canonical JSON (keys sorted, no whitespace): formatting-blind

    @cached_property
    def entry(self) -> dict[str, Any]:
        """``{"version", "sha256"}`` as each card's provenance carries it: one dict, shared by
        every card (nothing changes a card after it is built)."""
        return {"version": self.version, "sha256": self.sha256}


def knowledge_stamp(knowledge: Knowledge) -> KnowledgeStamp:
    """The stamp of ``knowledge`` (computed once per loaded knowledge object)."""
    held = _cache.get(id(knowledge))
    if held is not None and held[0] is knowledge:
        return held[1]
    canonical = json.dumps(knowledge.raw, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    stamp = KnowledgeStamp(knowledge.version, hashlib.sha256(canonical.encode()).hexdigest())
    _cache[id(knowledge)] = (knowledge, stamp)  # holding the object keeps its id unique
    return stamp
