"""Settings from CDS_* environment variables, parsed and checked once at start-up."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cds_service.errors import ConfigurationError

REPO_ROOT = Path(__file__).resolve().parent.parent


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _bool(name: str, text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ConfigurationError(f"{name} must be true or false, not {text!r}")


def _number(name: str, text: str, kind: type = int) -> Any:
    try:
        value = kind(text)
    except ValueError:
        raise ConfigurationError(f"{name} must be a number, not {text!r}") from None
    if value <= 0:
        raise ConfigurationError(f"{name} must be positive")
    return value


def _list(text: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in text.split(",") if item.strip())


@dataclass(frozen=True)
class Settings:
    """Every setting of the service. The README's configuration table lists each variable."""

    hooks_dir: Path = REPO_ROOT / "hooks"
    max_body_bytes: int = 5 * 1024 * 1024
    freshness_days: int = 180
    cors_origins: tuple[str, ...] = ("*",)
    public_base_url: str | None = None
    require_auth: bool = True
    trusted_issuers: str = ""
    trusted_issuers_file: str | None = None
    trust_sandbox: bool = False
    jwt_algorithms: tuple[str, ...] = ("ES384", "RS384")
    jwt_leeway_s: float = 30.0
    jwt_max_lifetime_s: float = 300.0
    jwks_timeout_s: float = 2.0
    redis_url: str | None = None
    fhir_allowlist: tuple[str, ...] = ()
    fhir_allow_http: bool = False
    fhir_deadline_s: float = 2.0
    fhir_max_pages: int = 10
    fhir_max_workers: int = 6
    database_url: str | None = None
    data_dir: Path = REPO_ROOT / "var"
    enable_console: bool = False
    metrics_token: str | None = None  # when set, GET /metrics needs "Authorization: Bearer <it>"
    # Free-text override comments may name patients: kept only when a site allows it.
    store_feedback_comments: bool = False
    ehr_profile: str = "spec"
    ehr_site_codes: str = ""
    log_level: str = "INFO"
    site_config: str | None = None  # CDS_SITE_CONFIG: per-site rule modes (cds_service.governance)
    site_id: str | None = None  # the site of every call when auth is off (no verified issuer)
    patient_hash_key: str | None = None  # HMAC key for patient ids in evaluation records
    clock: Callable[[], datetime] = field(default=_utcnow, compare=False)


# Environment variable -> (setting, parser)
ENV: dict[str, tuple[str, Callable[[str, str], Any]]] = {
    "CDS_HOOKS_DIR": ("hooks_dir", lambda n, v: Path(v)),
    "CDS_MAX_BODY_BYTES": ("max_body_bytes", _number),
    "CDS_FRESHNESS_DAYS": ("freshness_days", _number),
    "CDS_CORS_ORIGINS": ("cors_origins", lambda n, v: _list(v)),
    "CDS_PUBLIC_BASE_URL": ("public_base_url", lambda n, v: v.rstrip("/") or None),
    "CDS_REQUIRE_AUTH": ("require_auth", _bool),
    "CDS_TRUSTED_ISSUERS": ("trusted_issuers", lambda n, v: v),
    "CDS_TRUSTED_ISSUERS_FILE": ("trusted_issuers_file", lambda n, v: v or None),
    "CDS_TRUST_CDS_HOOKS_SANDBOX": ("trust_sandbox", _bool),
    "CDS_JWT_ALGORITHMS": ("jwt_algorithms", lambda n, v: _list(v)),
    "CDS_JWT_LEEWAY": ("jwt_leeway_s", lambda n, v: _number(n, v, float)),
    "CDS_JWT_MAX_LIFETIME_S": ("jwt_max_lifetime_s", lambda n, v: _number(n, v, float)),
    "CDS_JWKS_TIMEOUT": ("jwks_timeout_s", lambda n, v: _number(n, v, float)),
    "CDS_REDIS_URL": ("redis_url", lambda n, v: v or None),
    "CDS_FHIR_SERVER_ALLOWLIST": ("fhir_allowlist", lambda n, v: _list(v.replace(" ", ","))),
    "CDS_FHIR_ALLOW_HTTP": ("fhir_allow_http", _bool),
    "CDS_FHIR_DEADLINE_S": ("fhir_deadline_s", lambda n, v: _number(n, v, float)),
    "CDS_FHIR_MAX_PAGES": ("fhir_max_pages", _number),
    "CDS_FHIR_MAX_WORKERS": ("fhir_max_workers", _number),
    "CDS_DATABASE_URL": ("database_url", lambda n, v: v or None),
    "CDS_DATA_DIR": ("data_dir", lambda n, v: Path(v)),
    "CDS_ENABLE_CONSOLE": ("enable_console", _bool),
    "CDS_METRICS_TOKEN": ("metrics_token", lambda n, v: v.strip() or None),
    "CDS_STORE_FEEDBACK_COMMENTS": ("store_feedback_comments", _bool),
    "CDS_EHR_PROFILE": ("ehr_profile", lambda n, v: v.strip().lower() or "spec"),
    "CDS_EHR_SITE_CODES": ("ehr_site_codes", lambda n, v: v),
    "CDS_LOG_LEVEL": ("log_level", lambda n, v: v.upper()),
    "CDS_SITE_CONFIG": ("site_config", lambda n, v: v or None),
    "CDS_SITE_ID": ("site_id", lambda n, v: v.strip() or None),
    "CDS_PATIENT_HASH_KEY": ("patient_hash_key", lambda n, v: v or None),
}


def load_settings(
    environ: Mapping[str, str] | None = None, overrides: Mapping[str, Any] | None = None
) -> Settings:
    """Settings from the environment, then from ``overrides`` (keys are Settings field names)."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for name, (attr, parse) in ENV.items():
        if name in environ:
            values[attr] = parse(name, environ[name])
    known = {f.name for f in fields(Settings)}
    for key, value in (overrides or {}).items():
        if key not in known:
            raise ConfigurationError(f"unknown setting {key!r}")
        values[key] = Path(value) if key in ("hooks_dir", "data_dir") else value
    return replace(Settings(), **values)
