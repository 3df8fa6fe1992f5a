"""Prometheus counters of evaluations and fired rules per site and mode (bounded labels)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client import Counter

from cds_service.observability.metrics import BoundedLabel, incrementer

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


# Per site label: the evaluation counter's writer, and per mode the fired-rule writers by rule
# id (only ids that are their own label, so both stay bounded like the labels).
_site_writers: dict[str, tuple[Callable[[float], None], dict[str, dict[str, Any]]]] = {}


def _writers(site_label: str) -> tuple[Callable[[float], None], dict[str, dict[str, Any]]]:
    writers = _site_writers.get(site_label)
    if writers is None:
        writers = (incrementer(EVALUATIONS.labels(site_label)), {"active": {}, "silent": {}})
        _site_writers[site_label] = writers
    return writers


def _fired(rules: Iterable[str], site_label: str, mode: str, known: dict[str, Any]) -> None:
    for rule in rules:
        inc = known.get(rule) if type(rule) is str else None
        if inc is None:
            label = _rule_label(rule)
            inc = incrementer(RULES_FIRED.labels(label, site_label, mode))
            if label == rule:
                known[rule] = inc
        inc(1)


def observe_evaluation(site: str, active: Iterable[str], silent: Iterable[str]) -> None:
    """Count one evaluation and the rules it fired (firing rate = fired / evaluations)."""
    site_label = _site_label(site)
    evaluated, fired = _writers(site_label)
    evaluated(1)
    if active:
        _fired(active, site_label, "active", fired["active"])
    if silent:
        _fired(silent, site_label, "silent", fired["silent"])
