"""Governance at run time: the caller's site, its rule modes and the evaluation record of a call,
all built once at start-up from the site file, the knowledge and the database."""

from __future__ import annotations

import json
import os
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cds_service.cards.profiles import Profiles
from cds_service.database import Database
from cds_service.governance.changes import record_config_version
from cds_service.governance.metrics import observe_evaluation
from cds_service.governance.records import (
    EvaluationRecorder,
    PatientHmac,
)
from cds_service.governance.site_config import (
    DEFAULT_SITE,
    Site,
    SiteConfig,
    SiteConfigError,
    check_default_modes,
)
from cds_service.governance.stamp import KnowledgeStamp, knowledge_stamp
from cds_service.knowledge import Knowledge

KEY_NAME = "patient-hmac"


@dataclass(frozen=True)
class _SiteCall:
    """What every call from one site needs, worked out on its first call: its configured site,
    the record's fixed fields, its patient hash and its output profiles (None: the default)."""

    site: Site
    fixed: tuple[str, str, str]  # knowledge version and sha256, site-file sha256
    hashed: PatientHmac
    profiles: Profiles | None


@dataclass
class Governance:
    config: SiteConfig
    stamp: KnowledgeStamp
    rules: Mapping[str, Mapping[str, Any]]
    default_key: bytes
    site_keys: Mapping[str, bytes] = field(default_factory=dict)
    site_id: str | None = None  # CDS_SITE_ID: the site when no issuer was verified
    recorder: EvaluationRecorder | None = None
    database: Database | None = None
    site_profiles: Mapping[str, Profiles] = field(default_factory=dict)  # sites' order codes
    _modes: dict[str, dict[str, str]] = field(default_factory=dict)
    _calls: dict[str, _SiteCall] = field(default_factory=dict)

    def site_of(self, issuer: str | None) -> str:
        """The verified issuer, else the configured client id, else ``default``."""
        return issuer or self.site_id or DEFAULT_SITE

    def modes(self, site: str) -> dict[str, str]:
        """Every rule's mode at ``site`` (computed once per site)."""
        modes = self._modes.get(site)
        if modes is None:
            modes = self._modes[site] = self.config.modes(site, self.rules)
        return modes

    def _call(self, site: str) -> _SiteCall:
        """Per caller site, computed once (sites are configured or verified issuers)."""
        call = self._calls.get(site)
        if call is None:
            configured = self.config.site(site)
            call = self._calls[site] = _SiteCall(
                configured,
                (self.stamp.version, self.stamp.sha256, self.config.sha256),
                PatientHmac(self.site_keys.get(configured.name, self.default_key)),
                self.site_profiles.get(configured.name),
            )
        return call

    def profiles_for(self, site: str, default: Profiles) -> Profiles:
        """The output profiles with the site's own order codes (else ``default``)."""
        profiles = self._call(site).profiles
        return default if profiles is None else profiles

    def record(
        self, site: str, hook: str, service_id: str, patient_id: str,
        active: tuple[str, ...], silent: tuple[str, ...],
    ) -> None:
        """Count the call (Prometheus) and buffer its record (written off the request path): the
        fields of a ``governance.records.Evaluation``, built by the writer."""
        observe_evaluation(site, active, silent)
        if self.recorder is not None:
            call = self._call(site)
            reference = f"Patient/{patient_id}" if call.site.record_patient_reference else None
            self.recorder.record(
                site, hook, service_id, *call.fixed, call.hashed(patient_id), active, silent,
                reference, time.time(),
            )


def _default_key(configured: str | None, database: Database | None) -> bytes:
    """CDS_PATIENT_HASH_KEY, else a random key made once and kept in the service database, so
    every worker and replica hashes alike (set the variable to keep the key apart from the
    hashes: whoever reads both could test guessed patient ids)."""
    if configured:
        return configured.encode("utf-8")
    if database is None:
        return secrets.token_hex(32).encode("utf-8")  # nothing is recorded without a database
    with database.transaction(write=True) as tx:
        tx.execute("INSERT INTO service_keys (name, value) VALUES (:name, :value) "
                   "ON CONFLICT (name) DO NOTHING",
                   {"name": KEY_NAME, "value": secrets.token_hex(32)})
        (value,) = tx.execute("SELECT value FROM service_keys WHERE name = :name",
                              {"name": KEY_NAME}).fetchone()
    return value.encode("utf-8")


def _site_keys(config: SiteConfig, environ: Mapping[str, str]) -> dict[str, bytes]:
    keys = {}
    for name, site in config.sites.items():
        if site.patient_key_env:
            value = environ.get(site.patient_key_env)
            if not value:
                raise SiteConfigError(
                    f"CDS_SITE_CONFIG sites.{name}.patient_key_env: environment variable "
                    f"{site.patient_key_env} is not set"
                )
            keys[name] = value.encode("utf-8")
    return keys


def _site_profiles(config: SiteConfig, knowledge: Knowledge) -> dict[str, Profiles]:
    """Profiles per site that sets ``order_codes``; SiteConfigError naming the bad entry."""
    built = {}
    for name, site in config.sites.items():
        if site.order_codes is None:
            continue
        try:
            built[name] = Profiles.build(knowledge, json.dumps(site.order_codes))
        except ValueError as exc:
            detail = str(exc).replace("CDS_EHR_SITE_CODES", "", 1).lstrip(".: ")
            raise SiteConfigError(f"CDS_SITE_CONFIG sites.{name}.order_codes.{detail}") from None
    return built


def build_governance(
    config: SiteConfig, knowledge: Knowledge, *, database: Database | None,
    key: str | None = None, site_id: str | None = None, environ: Mapping[str, str] | None = None,
) -> Governance:
    """Governance for the app; logs a new site-file version when the database is given."""
    check_default_modes(knowledge.rules)
    governance = Governance(
        config, knowledge_stamp(knowledge), knowledge.rules, _default_key(key, database),
        _site_keys(config, os.environ if environ is None else environ), site_id,
        site_profiles=_site_profiles(config, knowledge),
    )
    if database is not None:
        record_config_version(database, config)
        governance.database = database
        governance.recorder = EvaluationRecorder(database, config.retention_days)
    return governance
