"""Build a ``ClientAuthenticator`` from the service's settings (CDS_* variables)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from .config import (
    TrustedIssuer,
    load_trusted_issuers_file,
    parse_trusted_issuers,
    sandbox_preset,
)
from .replay import RedisReplayCache, ReplayCache
from .verifier import ClientAuthenticator

if TYPE_CHECKING:
    import requests

log = logging.getLogger("cds_service.auth")


def trusted_issuers(
    issuers_json: str, issuers_file: str | None, trust_sandbox: bool
) -> dict[str, TrustedIssuer]:
    """Merge the JSON setting, the issuers file and (demo only) the sandbox preset."""
    sources = [parse_trusted_issuers(issuers_json)]
    if issuers_file:
        sources.append(load_trusted_issuers_file(issuers_file))
    if trust_sandbox:
        log.warning("trusting the CDS Hooks sandbox issuer: its private key is public (demo only)")
        sources.append(sandbox_preset())
    merged: dict[str, TrustedIssuer] = {}
    for source in sources:
        for iss, issuer in source.items():
            if iss in merged and merged[iss] != issuer:
                raise ValueError(f"trusted issuer {iss!r} is configured twice, differently")
            merged[iss] = issuer
    return merged


def build_authenticator(
    *,
    issuers_json: str = "",
    issuers_file: str | None = None,
    trust_sandbox: bool = False,
    algorithms: tuple[str, ...],
    leeway: float,
    redis_url: str | None,
    jwks_timeout: float,
    session: requests.Session | None = None,
    replay_cache: ReplayCache | None = None,
    max_lifetime: float = 300,
) -> ClientAuthenticator:
    """The authenticator; ``ValueError`` when no issuer is trusted or a setting is bad.

    The replay cache: Redis when ``redis_url`` is set, else ``replay_cache`` (the service
    passes its database's), else one process's memory (tests and library use only).
    """
    issuers = trusted_issuers(issuers_json, issuers_file, trust_sandbox)
    if not issuers:
        raise ValueError(
            "client authentication is on but no trusted issuer is configured: set "
            "CDS_TRUSTED_ISSUERS (or CDS_TRUSTED_ISSUERS_FILE), or CDS_REQUIRE_AUTH=false"
        )
    return ClientAuthenticator(
        issuers,
        algorithms=algorithms,
        leeway=leeway,
        replay_cache=RedisReplayCache(redis_url) if redis_url else replay_cache,
        session=session,
        jwks_timeout=jwks_timeout,
        max_lifetime=max_lifetime,
    )
