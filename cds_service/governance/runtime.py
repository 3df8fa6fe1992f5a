"""Governance at run time: the caller's site, its rule modes and the evaluation record of a call,
all built once at start-up from the site file, the knowledge and the database."""

from __future__ import annotations

import json
import os
import secrets
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from cds_service.cards.profiles import Profiles
from cds_service.governance.changes import record_config_version
from cds_service.governance.metrics import observe_evaluation
from cds_service.governance.records import Evaluation, EvaluationRecorder, patient_hmac
from cds_service.governance.site_config import (
    DEFAULT_SITE,
    SiteConfig,
    SiteConfigError,
    check_default_modes,
)
from cds_service.governance.stamp import KnowledgeStamp, knowledge_stamp
from cds_service.knowledge import Knowledge

KEY_FILE = "patient-hash.key"


@dataclass
class Governance:
    config: SiteConfig
    stamp: KnowledgeStamp
    rules: Mapping[str, Mapping[str, Any]]
    default_key: bytes
    site_keys: Mapping[str, bytes] = field(default_factory=dict)
    site_id: str | None = None  # CDS_SITE_ID: the site when no issuer was verified
    recorder: EvaluationRecorder | None = None
    engine: Engine | None = None
    site_profiles: Mapping[str, Profiles] = field(default_factory=dict)  # sites' order codes
    _modes: dict[str, dict[str, str]] = field(default_factory=dict)

    def site_of(self, issuer: str | None) -> str:
        """The verified issuer, else the configured client id, else ``default``."""
        return issuer or self.site_id or DEFAULT_SITE

    def modes(self, site: str) -> dict[str, str]:
        """Every rule's mode at ``site`` (computed once per site)."""
        modes = self._modes.get(site)
        if modes is None:
            modes = self._modes[site] = self.config.modes(site, self.rules)
        return modes

    def profiles_for(self, site: str, default: Profiles) -> Profiles:
        """The output profiles with the site's own order codes (else ``default``)."""
        return self.site_profiles.get(self.config.site(site).name, default)

    def evaluation(
        self, site: str, hook: str, service_id: str, patient_id: str,
        active: tuple[str, ...], silent: tuple[str, ...], at: datetime | None = None,
    ) -> Evaluation:
        key = self.site_keys.get(self.config.site(site).name, self.default_key)
        reference = f"Patient/{patient_id}" if self.config.site(site).record_patient_reference \
            else None
        return Evaluation(
            site, hook, service_id, self.stamp.version, self.stamp.sha256, self.config.sha256,
            patient_hmac(key, patient_id), active, silent, reference, at or datetime.now(UTC),
        )

    def record(
        self, site: str, hook: str, service_id: str, patient_id: str,
        active: tuple[str, ...], silent: tuple[str, ...],
    ) -> None:
        """Count the call (Prometheus) and buffer its record (written off the request path)."""
        observe_evaluation(site, active, silent)
        if self.recorder is not None:
            self.recorder(self.evaluation(site, hook, service_id, patient_id, active, silent))


def _default_key(configured: str | None, data_dir: Path) -> bytes:
    """CDS_PATIENT_HASH_KEY, else a random key kept in the data directory (made once)."""
    if configured:
        return configured.encode("utf-8")
    path = data_dir / KEY_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        # Written whole under a private name, then linked into place: a worker starting at the
        # same moment sees no file or the complete key, never a half-written one.
        fd, temporary = tempfile.mkstemp(dir=data_dir, prefix=".patient-hash-")
        try:
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_hex(32))
            os.link(temporary, path)
        except FileExistsError:
            pass  # another worker made it first: use theirs
        finally:
            os.unlink(temporary)
    return path.read_text("utf-8").strip().encode("utf-8")


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
    config: SiteConfig, knowledge: Knowledge, *, engine: Engine | None, data_dir: Path,
    key: str | None = None, site_id: str | None = None, environ: Mapping[str, str] | None = None,
) -> Governance:
    """Governance for the app; logs a new site-file version when the engine is given."""
    check_default_modes(knowledge.rules)
    governance = Governance(
        config, knowledge_stamp(knowledge), knowledge.rules, _default_key(key, data_dir),
        _site_keys(config, os.environ if environ is None else environ), site_id,
        site_profiles=_site_profiles(config, knowledge),
    )
    if engine is not None:
        record_config_version(engine, config)
        governance.engine = engine
        governance.recorder = EvaluationRecorder(engine, config.retention_days)
    return governance
