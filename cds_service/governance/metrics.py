"""Prometheus counters of evaluations and fired rules per site and mode (bounded labels)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from prometheus_client import Counter

from cds_service.observability.metrics import BoundedLabel

EVALUATIONS = Counter("cds_evaluations", "Service calls evaluated, by site.", ["site"])
RULES_FIRED = Counter(
    "cds_rules_fired", "Rules that fired, by rule id, site and mode (active or silent).",
    ["rule_id", "site", "mode"],
)
_SITE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/@-]{0,199}$")  # issuers are URLs
_site_names: set[str] = set()
_SITE_LIMIT = 50
_rule_label = BoundedLabel(limit=200)


def _site_label(site: str) -> str:
    """The site (issuer URL or site id) as a label; past 50 distinct sites, "other"."""
    if site in _site_names:
        return site
    if not _SITE_RE.match(site) or len(_site_names) >= _SITE_LIMIT:
        return "other"
    _site_names.add(site)  # a race adds at most a few extra: sites are configured, not free text
    return site
_children: dict[tuple[str, ...], Any] = {}


def _child(counter: Counter, *labels: str) -> Any:
    key = (counter._name, *labels)
    child = _children.get(key)
    if child is None:
        child = _children[key] = counter.labels(*labels)
    return child


def observe_evaluation(site: str, active: Iterable[str], silent: Iterable[str]) -> None:
    """Count one evaluation and the rules it fired (firing rate = fired / evaluations)."""
    site_label = _site_label(site)
    _child(EVALUATIONS, site_label).inc()
    for mode, rules in (("active", active), ("silent", silent)):
        for rule in rules:
            _child(RULES_FIRED, _rule_label(rule), site_label, mode).inc()
