"""Client authentication (JWT, CDS Hooks A1-A5) and CORS (X1) for the HTTP layer."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

import orjson
from flask import Flask, Request, Response, g, request

from cds_service.auth import AuthError, AuthUnavailable, TrustedIssuer

if TYPE_CHECKING:
    from cds_service.auth import SqlReplayCache
from cds_service.cards.profiles import check_profile
from cds_service.config import Settings
from cds_service.database import Database, default_database_url
from cds_service.errors import ConfigurationError, ServiceUnavailable, Unauthorized

log = logging.getLogger("cds_service.security")
AUTH_OFF_WARNED = "RLS_CDS_AUTH_OFF_WARNED"  # set by a parent process that has said it once

PROTECTED_PREFIXES = ("/cds-services", "/analytics")
CORS_METHODS = "GET, POST, OPTIONS"
CORS_HEADERS = "Authorization, Content-Type"


def _unauthorized() -> Response:
    error = Unauthorized("Unauthorized")  # no detail: the reason goes to the log only
    response = Response(orjson.dumps(error.body()), error.status, mimetype="application/json")
    response.headers["WWW-Authenticate"] = "Bearer"
    return response


def _unavailable() -> Response:
    # Retryable: the token may be fine, the key set or the replay store could not be reached.
    # A 401 here would tell the EHR its credentials are wrong.
    error = ServiceUnavailable("Authentication is temporarily unavailable; retry")
    response = Response(orjson.dumps(error.body()), error.status, mimetype="application/json")
    response.headers["Retry-After"] = "1"
    return response


def _replay_cache(settings: Settings) -> SqlReplayCache | None:
    """Without Redis, one-time ``jti`` in the service's database, shared by every worker (its
    table comes with the feedback store's migrations, which run before the first request)."""
    from cds_service.auth import SqlReplayCache

    if settings.redis_url:
        return None
    if settings.database_url is None:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    url = settings.database_url or default_database_url(settings.data_dir)
    return SqlReplayCache(Database(url, synchronous="NORMAL"))


def audience_url(settings: Settings, req: Request | None = None) -> str:
    """The public URL of the endpoint being called (``req``, default: the current request):
    what the client's ``aud`` must name."""
    if req is None:
        req = request._get_current_object()  # type: ignore[attr-defined]
    base = settings.public_base_url or req.host_url.rstrip("/")
    return base + req.path


def issuer_profiles(issuers: Mapping[str, TrustedIssuer]) -> dict[str, str]:
    """The output profile configured per trusted issuer; ConfigurationError on an unknown one."""
    try:
        return {
            iss: check_profile(issuer.profile, f"trusted issuer {iss!r}")
            for iss, issuer in issuers.items()
            if issuer.profile
        }
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from exc


def init_auth(app: Flask, settings: Settings) -> None:
    """Require a valid client JWT on discovery, services, feedback and analytics."""
    if not settings.require_auth:
        # One warning per process group: the command or server master that already warned
        # sets AUTH_OFF_WARNED for the workers it starts.
        if os.environ.get(AUTH_OFF_WARNED) == "1":
            return
        log.warning(
            "CLIENT AUTHENTICATION IS OFF (CDS_REQUIRE_AUTH=false): any caller can use this "
            "service. Use this only for local trials."
        )
        return
    from cds_service.auth import build_authenticator  # cryptography: only when on

    try:
        authenticator = build_authenticator(
            issuers_json=settings.trusted_issuers,
            issuers_file=settings.trusted_issuers_file,
            trust_sandbox=settings.trust_sandbox,
            algorithms=settings.jwt_algorithms,
            leeway=settings.jwt_leeway_s,
            redis_url=settings.redis_url,
            jwks_timeout=settings.jwks_timeout_s,
            max_lifetime=settings.jwt_max_lifetime_s,
            replay_cache=_replay_cache(settings),
        )
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from exc
    profiles = issuer_profiles(authenticator.issuers)

    @app.before_request
    def authenticate() -> Response | None:
        # The request proxy resolved once: each attribute through it costs a lookup.
        req = request._get_current_object()  # type: ignore[attr-defined]
        if req.method == "OPTIONS" or not req.path.startswith(PROTECTED_PREFIXES):
            return None
        try:
            claims = authenticator.authenticate(
                req.headers.get("Authorization"), audience_url(settings, req)
            )
        except AuthUnavailable:
            return _unavailable()  # the reason is logged by the authenticator
        except AuthError:
            return _unauthorized()  # the reason is logged by the authenticator, never sent
        # The verified caller, for what depends on who calls (the output profile, feedback).
        state = g._get_current_object()  # type: ignore[attr-defined]
        state.client_issuer = claims["iss"]
        state.issuer_profile = profiles.get(claims["iss"])
        return None


def init_cors(app: Flask, settings: Settings) -> None:
    """CORS for browser clients such as the CDS Hooks sandbox; preflight needs no JWT."""
    allow_any = "*" in settings.cors_origins

    @app.after_request
    def cors(response: Response) -> Response:
        req = request._get_current_object()  # type: ignore[attr-defined]  # one proxy lookup
        origin = req.environ.get("HTTP_ORIGIN")  # what req.headers.get("Origin") reads
        if not origin or not (allow_any or origin in settings.cors_origins):
            return response
        # Never with Allow-Credentials: tokens travel in the Authorization header.
        response.headers["Access-Control-Allow-Origin"] = "*" if allow_any else origin
        if not allow_any:
            response.headers.add("Vary", "Origin")
        response.headers["Access-Control-Expose-Headers"] = "WWW-Authenticate"
        if req.method == "OPTIONS":
            response.headers["Access-Control-Allow-Methods"] = CORS_METHODS
            response.headers["Access-Control-Allow-Headers"] = CORS_HEADERS
            response.headers["Access-Control-Max-Age"] = "600"
        return response
