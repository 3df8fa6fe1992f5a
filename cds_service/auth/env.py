"""Build a ``ClientAuthenticator`` from environment variables."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

import requests

from .config import (
    TrustedIssuer,
    load_trusted_issuers_file,
    parse_algorithms,
    parse_trusted_issuers,
    sandbox_preset,
)
from .replay import RedisReplayCache
from .verifier import ClientAuthenticator

log = logging.getLogger("cds_service.auth")

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}


def env_flag(environ: Mapping[str, str], name: str, default: bool) -> bool:
    """Parse a boolean environment variable; ``ValueError`` on anything unrecognised."""
    raw = environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"{name}: expected true/false, got {raw!r}")


def _env_float(
    environ: Mapping[str, str], name: str, default: float, lo: float, hi: float
) -> float:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name}: expected a number of seconds, got {raw!r}") from None
    if not lo <= value <= hi:
        raise ValueError(f"{name}: must be between {lo:g} and {hi:g}, got {raw!r}")
    return value


def trusted_issuers_from_env(environ: Mapping[str, str] | None = None) -> dict[str, TrustedIssuer]:
    """Merge ``CDS_TRUSTED_ISSUERS``, ``CDS_TRUSTED_ISSUERS_FILE`` and the sandbox preset."""
    env = os.environ if environ is None else environ
    sources: list[dict[str, TrustedIssuer]] = [
        parse_trusted_issuers(env.get("CDS_TRUSTED_ISSUERS", ""))
    ]
    if env.get("CDS_TRUSTED_ISSUERS_FILE", "").strip():
        sources.append(load_trusted_issuers_file(env["CDS_TRUSTED_ISSUERS_FILE"].strip()))
    if env_flag(env, "CDS_TRUST_CDS_HOOKS_SANDBOX", False):
        log.warning("trusting the CDS Hooks sandbox issuer: its private key is public (demo only)")
        sources.append(sandbox_preset())
    merged: dict[str, TrustedIssuer] = {}
    for source in sources:
        for iss, issuer in source.items():
            if iss in merged and merged[iss] != issuer:
                raise ValueError(f"trusted issuer {iss!r} is configured twice, differently")
            merged[iss] = issuer
    return merged


def authenticator_from_env(
    environ: Mapping[str, str] | None = None, *, session: requests.Session | None = None
) -> ClientAuthenticator:
    """Build the authenticator; ``ValueError`` on bad or empty configuration."""
    env = os.environ if environ is None else environ
    issuers = trusted_issuers_from_env(env)
    if not issuers:
        raise ValueError(
            "client authentication is on but no trusted issuer is configured: set "
            "CDS_TRUSTED_ISSUERS (or CDS_TRUSTED_ISSUERS_FILE), or CDS_REQUIRE_AUTH=false"
        )
    redis_url = env.get("CDS_REDIS_URL", "").strip()
    return ClientAuthenticator(
        issuers,
        algorithms=parse_algorithms(env.get("CDS_JWT_ALGORITHMS")),
        leeway=_env_float(env, "CDS_JWT_LEEWAY", 30.0, 0, 300),
        replay_cache=RedisReplayCache(redis_url) if redis_url else None,
        session=session,
        jwks_timeout=_env_float(env, "CDS_JWKS_TIMEOUT", 2.0, 0.1, 30),
    )
