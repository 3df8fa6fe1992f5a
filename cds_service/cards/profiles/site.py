"""Per-site settings of the output profiles (``CDS_EHR_SITE_CODES``), read and checked once.

JSON, inline or in a file (a value that does not start with ``{`` is a path)::

    {"epic":   {"preference_list": {"gabapentin": "12345", "2276-4": "67890"},
                "order_sets": {"iron-studies": "4242"},
                "allowed_links": ["https://example.org/rls"]},
     "oracle": {"allowed_links": ["https://example.org/rls"]}}

``preference_list`` keys are medication template keys (``recommendations.json``
``medication_templates``) or the LOINC codes of the iron studies; ``order_sets`` keys name a
multi-order suggestion (only ``iron-studies`` today).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ORDER_SET_KEYS = frozenset({"iron-studies"})
_SECTIONS = {"preference_list", "order_sets", "allowed_links"}


@dataclass(frozen=True)
class SiteCodes:
    """One profile's site settings."""

    preference_list: Mapping[str, str] = field(default_factory=dict)
    order_sets: Mapping[str, str] = field(default_factory=dict)
    allowed_links: tuple[str, ...] = ()

    def as_lint_settings(self) -> dict[str, Any]:
        return {"allowed_links": list(self.allowed_links)}


def _codes(where: str, value: object, allowed: frozenset[str]) -> dict[str, str]:
    if not isinstance(value, dict) or not all(
        isinstance(v, str) and v.strip() for v in value.values()
    ):
        raise ValueError(f"{where}: expected an object of non-empty code strings")
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {unknown}; known: {sorted(allowed)}")
    return dict(value)


def parse_site_codes(
    text: str, profiles: frozenset[str], orderable: frozenset[str]
) -> dict[str, SiteCodes]:
    """Site settings per profile. ``orderable`` is every key a preference-list code may have
    (medication keys and lab LOINC codes). ``ValueError`` names the offending entry."""
    text = (text or "").strip()
    if not text:
        return {}
    if not text.startswith("{"):
        try:
            text = Path(text).read_text(encoding="utf-8")
        except OSError as exc:
            raise ValueError(f"CDS_EHR_SITE_CODES file {text!r}: {exc.strerror}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"CDS_EHR_SITE_CODES: not valid JSON ({exc.msg})") from None
    if not isinstance(data, dict):
        raise ValueError('CDS_EHR_SITE_CODES: expected {"<profile>": {...}}')
    out = {}
    for profile, entry in data.items():
        where = f"CDS_EHR_SITE_CODES.{profile}"
        if profile not in profiles:
            raise ValueError(f"{where}: unknown profile; known: {sorted(profiles)}")
        if not isinstance(entry, dict) or set(entry) - _SECTIONS:
            raise ValueError(f"{where}: expected an object with keys among {sorted(_SECTIONS)}")
        links = entry.get("allowed_links", [])
        if not isinstance(links, list) or not all(isinstance(u, str) and u for u in links):
            raise ValueError(f"{where}.allowed_links: expected a list of URLs")
        out[profile] = SiteCodes(
            preference_list=_codes(
                f"{where}.preference_list", entry.get("preference_list", {}), orderable
            ),
            order_sets=_codes(f"{where}.order_sets", entry.get("order_sets", {}), ORDER_SET_KEYS),
            allowed_links=tuple(links),
        )
    return out
