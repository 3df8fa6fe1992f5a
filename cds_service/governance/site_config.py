"""The per-site configuration file (``CDS_SITE_CONFIG``, YAML or JSON), read and checked once.

Shape (every key but ``sites`` optional)::

    sites:
      default:                       # any caller without a site of its own
        rules: {rule-id: active | silent | off}
      https://ehr.hospital-a.org:    # a verified JWT issuer, or CDS_SITE_ID when auth is off
        rules: {rls-iron-oral: silent}
        record_patient_reference: false   # AuditEvents name the patient only when true
        patient_key_env: HOSPITAL_A_KEY   # env var holding this site's HMAC key
        order_codes:                      # this site's codes (as CDS_EHR_SITE_CODES)
          epic: {preference_list: {gabapentin: "PL-123"}}
    evaluation_records: {retention_days: 400}
    monitoring: {window_days: 7, baseline_days: 28, drift_factor: 2.0}
    changed_by: "Dr A. Example (CDS committee)"   # who made this version (the change log)
    change_note: "iron rule silent at site A for 4 weeks"

A rule's mode comes from the caller's site, else ``default``, else the rule's ``default_mode``
in recommendations.json, else ``active``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MODES = ("active", "silent", "off")
DEFAULT_SITE = "default"
TOP_KEYS = {"sites", "evaluation_records", "monitoring", "changed_by", "change_note"}
SITE_KEYS = {"rules", "record_patient_reference", "patient_key_env", "order_codes"}
MONITORING_DEFAULTS = {"window_days": 7, "baseline_days": 28, "drift_factor": 2.0}


class SiteConfigError(ValueError):
    """The site file is unreadable or invalid; the message names the file and the bad key."""


@dataclass(frozen=True)
class Site:
    name: str
    rules: Mapping[str, str] = field(default_factory=dict)
    record_patient_reference: bool = False
    patient_key_env: str | None = None
    order_codes: Mapping[str, Any] | None = None  # as CDS_EHR_SITE_CODES, for this site only


@dataclass(frozen=True)
class SiteConfig:
    """The checked site file (or the empty default when there is none)."""

    sites: Mapping[str, Site] = field(default_factory=dict)
    retention_days: int | None = None
    monitoring: Mapping[str, float] = field(default_factory=lambda: dict(MONITORING_DEFAULTS))
    changed_by: str | None = None
    change_note: str | None = None
    content: str = ""  # the file's text, as read (the change log keeps it)
    sha256: str = ""  # of ``content``; "" when no file is configured

    def site(self, name: str | None) -> Site:
        """The caller's site; an unlisted caller gets ``default`` (or an empty site)."""
        if name is not None and name in self.sites:
            return self.sites[name]
        return self.sites.get(DEFAULT_SITE, Site(DEFAULT_SITE))

    def modes(self, name: str | None, rules: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
        """Every rule's mode for the site ``name``."""
        site, default = self.site(name), self.sites.get(DEFAULT_SITE, Site(DEFAULT_SITE))
        return {
            rid: site.rules.get(rid) or default.rules.get(rid) or rule.get("default_mode", "active")
            for rid, rule in rules.items()
        }


def _fail(where: str, message: str) -> SiteConfigError:
    return SiteConfigError(f"CDS_SITE_CONFIG {where}: {message}")


def _parse(path: Path, text: str) -> Any:
    if path.suffix.lower() == ".json":
        try:
            return json.loads(text)
        except ValueError as exc:
            raise _fail(str(path), f"not valid JSON ({exc})") from None
    import yaml  # only when a YAML file is configured

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise _fail(str(path), f"not valid YAML ({str(exc).splitlines()[0]})") from None


def _unknown(keys: Iterable[str], allowed: set[str], where: str) -> None:
    for key in keys:
        if key not in allowed:
            raise _fail(where + str(key), f"unknown key; allowed: {', '.join(sorted(allowed))}")


def _site(name: str, raw: Any, rule_ids: set[str]) -> Site:
    where = f"sites.{name}"
    if not isinstance(raw, Mapping):
        raise _fail(where, "must be a mapping")
    _unknown(raw, SITE_KEYS, where + ".")
    rules = raw.get("rules") or {}
    if not isinstance(rules, Mapping):
        raise _fail(where + ".rules", "must be a mapping of rule id to mode")
    for rule_id, mode in rules.items():
        if rule_id not in rule_ids:
            raise _fail(f"{where}.rules.{rule_id}", "no such rule in the knowledge files")
        if mode not in MODES:
            raise _fail(f"{where}.rules.{rule_id}", f"mode must be one of {', '.join(MODES)}, "
                        f"not {mode!r}")
    reference = raw.get("record_patient_reference", False)
    if not isinstance(reference, bool):
        raise _fail(where + ".record_patient_reference", "must be true or false")
    key_env = raw.get("patient_key_env")
    if key_env is not None and not (isinstance(key_env, str) and key_env):
        raise _fail(where + ".patient_key_env", "must name an environment variable")
    codes = raw.get("order_codes")
    if codes is not None and not isinstance(codes, Mapping):
        raise _fail(where + ".order_codes", 'must be a mapping {"<profile>": {...}}')
    return Site(name, dict(rules), reference, key_env, codes)


def _positive(raw: Mapping[str, Any], key: str, where: str) -> float:
    value = raw[key]
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise _fail(f"{where}.{key}", "must be a positive number")
    return value


def parse_site_config(path: Path, text: str, rule_ids: Iterable[str]) -> SiteConfig:
    """Check the text of the site file; ``SiteConfigError`` naming the first bad key."""
    raw = _parse(path, text)
    if not isinstance(raw, Mapping) or not isinstance(raw.get("sites"), Mapping):
        raise _fail("sites", "the file must be a mapping with a 'sites' mapping")
    _unknown(raw, TOP_KEYS, "")
    known = set(rule_ids)
    sites = {str(name): _site(str(name), spec, known) for name, spec in raw["sites"].items()}
    records = raw.get("evaluation_records") or {}
    _unknown(records, {"retention_days"}, "evaluation_records.")
    retention = int(_positive(records, "retention_days", "evaluation_records")) \
        if "retention_days" in records else None
    monitoring = raw.get("monitoring") or {}
    _unknown(monitoring, set(MONITORING_DEFAULTS), "monitoring.")
    tuned = {k: _positive(monitoring, k, "monitoring") for k in monitoring}
    for key in ("changed_by", "change_note"):
        if key in raw and not isinstance(raw[key], str):
            raise _fail(key, "must be text")
    return SiteConfig(
        sites, retention, {**MONITORING_DEFAULTS, **tuned}, raw.get("changed_by"),
        raw.get("change_note"), text, hashlib.sha256(text.encode()).hexdigest(),
    )


def check_default_modes(rules: Mapping[str, Mapping[str, Any]]) -> None:
    """Each rule's ``default_mode`` in recommendations.json, when set, is a known mode."""
    for rule_id, rule in rules.items():
        mode = rule.get("default_mode", "active")
        if mode not in MODES:
            raise SiteConfigError(f"recommendations.json rules.{rule_id}.default_mode: mode "
                                  f"must be one of {', '.join(MODES)}, not {mode!r}")


def load_site_config(path: str | Path | None, rule_ids: Iterable[str]) -> SiteConfig:
    """The site file at ``path`` (None: no file, every rule at its knowledge default)."""
    if not path:
        return SiteConfig()
    path = Path(path)
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _fail(str(path), f"cannot read ({getattr(exc, 'strerror', None) or exc})") from None
    return parse_site_config(path, text, rule_ids)
