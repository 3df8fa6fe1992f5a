"""Verification of the JWT a CDS client sends in ``Authorization: Bearer`` (CDS Hooks 2.0)."""

from __future__ import annotations

import hashlib
import logging
import math
import re
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .config import (
    DEFAULT_ALGORITHMS,
    DEFAULT_MAX_LIFETIME_S,
    MAX_LIFETIME_CEILING_S,
    TrustedIssuer,
    check_algorithms,
)
from .errors import AuthError, AuthUnavailable
from .jwks import IssuerKeys
from .jws import JWSError, json_object, parse_compact, verify_signature
from .replay import MemoryReplayCache, ReplayCache

if TYPE_CHECKING:
    import requests

log = logging.getLogger("cds_service.auth")

MAX_TOKEN_CHARS = 8192
MAX_JTI_CHARS = 512
_COMPACT_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


class ClientAuthenticator:
    """Verifies client JWTs against allowlisted issuers (Flask-agnostic, thread-safe).

    ``replay_cache`` defaults to an in-process ``MemoryReplayCache``; use a
    ``RedisReplayCache`` when several replicas serve the same clients.
    """

    def __init__(
        self,
        issuers: Mapping[str, TrustedIssuer],
        *,
        algorithms: Sequence[str] = DEFAULT_ALGORITHMS,
        leeway: float = 30,
        replay_cache: ReplayCache | None = None,
        session: requests.Session | None = None,
        jwks_timeout: float = 2.0,
        clock: Callable[[], float] = time.time,
        jwks_min_refetch_interval: float = 30.0,
        jwks_cache_ttl: float = 3600.0,
        max_lifetime: float = DEFAULT_MAX_LIFETIME_S,
    ) -> None:
        algorithms = tuple(algorithms)
        check_algorithms(algorithms)
        if not 0 <= leeway <= 300:
            raise ValueError("JWT leeway must be between 0 and 300 seconds")
        if not 0 < max_lifetime <= MAX_LIFETIME_CEILING_S:
            raise ValueError(
                f"JWT maximum lifetime must be between 1 and {MAX_LIFETIME_CEILING_S} seconds"
            )
        self._algorithms = frozenset(algorithms)
        self._leeway = float(leeway)
        self._max_lifetime = float(max_lifetime)
        self._clock = clock
        self._replay: ReplayCache = (
            MemoryReplayCache(clock=clock) if replay_cache is None else replay_cache
        )
        if session is None and any(i.jwks_file is None for i in issuers.values()):
            # requests (4 MB a worker) only when some issuer's keys are fetched, not read
            # from a file
            import requests

            session = requests.Session()
        self._issuers: dict[str, IssuerKeys] = {}
        # Keys by (iss, jku) for every allowlisted jku of an issuer without a jwks_file.
        self._jku_keys: dict[tuple[str, str], IssuerKeys] = {}
        for iss, issuer in issuers.items():
            if iss != issuer.iss:
                raise ValueError(f"trusted issuers: key {iss!r} differs from iss {issuer.iss!r}")
            options: dict[str, Any] = {
                "session": session,
                "timeout": jwks_timeout,
                "min_interval": jwks_min_refetch_interval,
                "ttl": jwks_cache_ttl,
                "clock": clock,
            }
            self._issuers[iss] = IssuerKeys(issuer, **options)
            if issuer.jwks_file is None:
                for url in issuer.jku_allowlist:
                    self._jku_keys[(iss, url)] = IssuerKeys(issuer, url=url, **options)

    @property
    def issuers(self) -> dict[str, TrustedIssuer]:
        """The trusted issuers, by ``iss``."""
        return {iss: keys.issuer for iss, keys in self._issuers.items()}

    def authenticate(self, authorization_header: str | None, audience_url: str) -> dict[str, Any]:
        """Return the verified claims, or raise ``AuthError`` (logged at INFO, reason only).

        ``audience_url`` is the public URL of the endpoint being called; the token's ``aud``
        must contain it, or one of the issuer's configured ``audiences`` (a trailing slash
        ignored on either side).
        """
        if not isinstance(audience_url, str) or not audience_url:
            raise ValueError("audience_url must be the absolute URL of the called endpoint")
        issuer: list[str] = []
        try:
            return self._authenticate(authorization_header, audience_url, issuer)
        except AuthError as exc:
            if issuer:
                log.info("client JWT rejected: %s (issuer %s)", exc.reason, issuer[0])
            else:
                log.info("client JWT rejected: %s", exc.reason)
            raise

    def _authenticate(
        self, authorization_header: str | None, audience_url: str, issuer_out: list[str]
    ) -> dict[str, Any]:
        token = _bearer_token(authorization_header)
        try:
            jws = parse_compact(token)
        except JWSError:
            raise AuthError("malformed_header") from None
        header = jws.header
        alg = header.get("alg")
        if not isinstance(alg, str) or not alg:
            raise AuthError("missing_alg")
        if alg.lower() == "none" or alg.upper().startswith("HS"):
            raise AuthError("forbidden_alg")
        if alg not in self._algorithms:
            raise AuthError("alg_not_allowed")
        typ = header.get("typ")
        if not isinstance(typ, str) or typ.upper() != "JWT":
            raise AuthError("bad_typ")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise AuthError("missing_kid")
        if "crit" in header:  # parse_compact already rejects unknown ones; we understand none
            raise AuthError("unsupported_crit")
        try:
            claims = json_object(jws.payload)
        except JWSError:
            raise AuthError("malformed_payload") from None
        iss = claims.get("iss")
        if not isinstance(iss, str) or not iss:
            raise AuthError("missing_iss")
        keys = self._issuers.get(iss)
        if keys is None:
            raise AuthError("untrusted_iss")
        issuer_out.append(iss)
        keys = self._key_source(keys, header)
        key = keys.get(kid)
        if not key.allows(alg):
            raise AuthError("key_alg_mismatch")
        try:
            valid = verify_signature(alg, key.key, jws.signing_input, jws.signature)
        except (ValueError, TypeError):  # a key that does not fit alg (allows() prevents it)
            raise AuthError("invalid_token") from None
        if not valid:
            raise AuthError("bad_signature")
        # PyJWT's decode refused a non-string sub or jti (verify_sub, verify_jti).
        if any(name in claims and not isinstance(claims[name], str) for name in ("sub", "jti")):
            raise AuthError("invalid_token")
        exp = self._check_claims(claims, audience_url, keys.issuer)
        digest = hashlib.sha256(f"{iss}\x00{claims['jti']}".encode()).hexdigest()
        try:
            first_use = self._replay.check_and_store(digest, exp + self._leeway)
        except Exception as exc:  # any cache backend failure: fail closed
            log.warning("replay cache unavailable: %s", type(exc).__name__)
            raise AuthUnavailable("replay_cache_unavailable") from None
        if not first_use:
            raise AuthError("replayed_jti")
        return claims

    def _key_source(self, keys: IssuerKeys, header: dict[str, Any]) -> IssuerKeys:
        """Where the token's key comes from: the jku it names when that is allowlisted (its
        own fetched set, or the issuer's file), else the issuer's jwks_url or file. A jku that
        is not allowlisted is refused and never fetched."""
        issuer = keys.issuer
        if "jku" not in header:
            if issuer.jwks_url is None and issuer.jwks_file is None:
                raise AuthError("missing_jku")  # keys are only known by the jku it names
            return keys
        jku = header["jku"]
        if not isinstance(jku, str) or (
            jku != issuer.jwks_url and jku not in issuer.jku_allowlist
        ):
            raise AuthError("jku_not_allowed")
        if jku == issuer.jwks_url or issuer.jwks_file is not None:
            return keys
        return self._jku_keys[(issuer.iss, jku)]

    def _check_claims(
        self, claims: dict[str, Any], audience_url: str, issuer: TrustedIssuer
    ) -> float:
        """Validate time, audience, jti and tenant claims; return ``exp``."""
        now, leeway = self._clock(), self._leeway
        exp, iat, nbf = claims.get("exp"), claims.get("iat"), claims.get("nbf")
        if not _is_time(exp):
            raise AuthError("missing_exp" if exp is None else "bad_exp")
        if now > exp + leeway:
            raise AuthError("expired")
        if not _is_time(iat):
            raise AuthError("missing_iat" if iat is None else "bad_iat")
        if iat > now + leeway:
            raise AuthError("iat_in_future")
        max_lifetime = issuer.max_lifetime_s or self._max_lifetime
        if exp - iat > max_lifetime:
            raise AuthError("lifetime_too_long")
        if nbf is not None and (not _is_time(nbf) or nbf > now + leeway):
            raise AuthError("not_yet_valid")
        aud = claims.get("aud")
        auds = [aud] if isinstance(aud, str) else aud
        if not isinstance(auds, list) or not auds or not all(isinstance(a, str) for a in auds):
            raise AuthError("missing_aud")
        accepted = {audience_url.rstrip("/")}
        accepted.update(a.rstrip("/") for a in issuer.audiences)
        if not any(a.rstrip("/") in accepted for a in auds):
            raise AuthError("wrong_aud")
        jti = claims.get("jti")
        if not isinstance(jti, str) or not jti or len(jti) > MAX_JTI_CHARS:
            raise AuthError("missing_jti")
        if issuer.tenants is not None and claims.get("tenant") not in issuer.tenants:
            raise AuthError("tenant_not_allowed")
        return float(exp)


def _bearer_token(authorization_header: str | None) -> str:
    if not authorization_header or not authorization_header.strip():
        raise AuthError("missing_authorization")
    scheme, _, token = authorization_header.strip().partition(" ")
    if scheme.lower() != "bearer":
        raise AuthError("not_bearer")
    token = token.strip()
    if len(token) > MAX_TOKEN_CHARS:
        raise AuthError("token_too_large")
    if not _COMPACT_JWS.fullmatch(token):
        raise AuthError("malformed_token")
    return token


def _is_time(value: object) -> bool:
    """A finite number of seconds; an integer beyond a float's range (JSON allows 10**400) is
    no time either, where math.isfinite would raise OverflowError."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False
