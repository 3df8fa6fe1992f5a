"""What a profile may know besides the cards: the knowledge's order vocabulary and site codes."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cds_service.cards.card_ids import new_uuid as fresh_uuid
from cds_service.cards.profiles.site import SiteCodes
from cds_service.knowledge import Knowledge


@dataclass(frozen=True)
class ProfileContext:
    """Lookups built once at start-up; ``new_uuid`` makes uuids for split suggestions."""

    medication_keys: Mapping[str, str]  # RxNorm code of a medication template -> its key
    iron_study_codes: frozenset[str]  # LOINC codes of the iron-studies suggestion
    site: Mapping[str, SiteCodes] = field(default_factory=dict)
    new_uuid: Callable[[], str] = fresh_uuid

    def site_for(self, profile: str) -> SiteCodes:
        return self.site.get(profile) or SiteCodes()

    @property
    def orderable_keys(self) -> frozenset[str]:
        return frozenset(self.medication_keys.values()) | self.iron_study_codes


def vocabulary(knowledge: Knowledge) -> dict[str, Any]:
    """The keyword arguments of ``ProfileContext`` that come from the knowledge."""
    recs = knowledge.raw["recommendations"]
    return {
        "medication_keys": {
            t["coding"]["code"]: key
            for key, t in recs["medication_templates"].items()
            if "coding" in t
        },
        "iron_study_codes": frozenset(t["code"] for t in recs["iron_study_orders"]["tests"]),
    }
