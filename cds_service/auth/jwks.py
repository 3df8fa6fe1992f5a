"""JWK Set loading, parsing and caching per trusted issuer."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives.asymmetric import ec, rsa

from .config import TrustedIssuer
from .errors import AuthError, AuthUnavailable
from .jws import public_key_from_jwk

if TYPE_CHECKING:
    import requests

log = logging.getLogger("cds_service.auth")

MAX_JWKS_BYTES = 256 * 1024
MIN_RSA_BITS = 2048
_EC_CURVES = {"ES256": "secp256r1", "ES384": "secp384r1", "ES512": "secp521r1"}


@dataclass(frozen=True)
class VerificationKey:
    """A public key from a JWK Set; ``alg`` is the JWK's own ``alg`` member, if any."""

    kid: str
    key: ec.EllipticCurvePublicKey | rsa.RSAPublicKey
    alg: str | None

    def allows(self, alg: str) -> bool:
        """True when this key may verify a token signed with ``alg``."""
        if self.alg is not None and self.alg != alg:
            return False
        if alg.startswith("ES"):
            return isinstance(self.key, ec.EllipticCurvePublicKey) and (
                self.key.curve.name == _EC_CURVES.get(alg)
            )
        if alg.startswith(("RS", "PS")):
            return isinstance(self.key, rsa.RSAPublicKey)
        return False


def parse_jwks(data: Any) -> dict[str, VerificationKey]:
    """Usable signature keys of a JWK Set by ``kid``; unusable keys are skipped.

    Skipped: non-EC/RSA keys (``oct`` secrets never count), keys without ``kid``, keys whose
    ``use`` is not ``sig``, RSA keys under 2048 bits. Private members are discarded.
    Raises ``ValueError`` when ``data`` is not a JWK Set.
    """
    if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
        raise ValueError('not a JWK Set (expected {"keys": [...]})')
    keys: dict[str, VerificationKey] = {}
    for jwk in data["keys"]:
        if not isinstance(jwk, dict):
            continue
        kid, alg = jwk.get("kid"), jwk.get("alg")
        if (
            jwk.get("kty") not in ("EC", "RSA")
            or not isinstance(kid, str)
            or not kid
            or jwk.get("use", "sig") != "sig"
            or (alg is not None and not isinstance(alg, str))
            or kid in keys
        ):
            continue
        try:
            key = public_key_from_jwk(jwk)
        except (ValueError, TypeError):
            continue  # never log the exception: it may come from the JWK's values
        if isinstance(key, rsa.RSAPublicKey) and key.key_size < MIN_RSA_BITS:
            continue
        keys[kid] = VerificationKey(kid=kid, key=key, alg=alg)
    return keys


def load_jwks_file(path: str) -> dict[str, VerificationKey]:
    """Read a JWK Set file; ``ValueError`` when it is missing, invalid or has no usable key."""
    try:
        with open(path, encoding="utf-8") as fh:
            keys = parse_jwks(json.load(fh))
    except OSError as exc:
        raise ValueError(f"JWK Set file {path!r}: {exc.strerror}") from None
    except ValueError as exc:
        raise ValueError(f"JWK Set file {path!r}: {exc}") from None
    if not keys:
        raise ValueError(f"JWK Set file {path!r}: no usable EC/RSA signature key with a kid")
    return keys


class IssuerKeys:
    """Keys of one issuer: from a file (loaded once), or fetched from its ``jwks_url``.

    Fetched keys are cached for ``ttl`` seconds; an unknown ``kid`` triggers one refetch, and
    no two fetches happen less than ``min_interval`` seconds apart. A failed refetch keeps the
    previously fetched keys.
    """

    def __init__(
        self,
        issuer: TrustedIssuer,
        *,
        url: str | None = None,
        session: requests.Session | None,
        timeout: float,
        min_interval: float,
        ttl: float,
        clock: Callable[[], float],
    ) -> None:
        self.issuer = issuer
        self._session = session
        self._timeout = timeout
        self._min_interval = min_interval
        self._ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._keys: dict[str, VerificationKey] = {}
        self._fetched_at: float | None = None
        self._attempted_at: float | None = None
        # ``url``: one of the issuer's allowlisted jku URLs, fetched instead of its key source.
        self._url = url or issuer.jwks_url
        self._static = url is None and issuer.jwks_file is not None
        if self._static:
            assert issuer.jwks_file is not None
            self._keys = load_jwks_file(issuer.jwks_file)

    def get(self, kid: str) -> VerificationKey:
        """The key with ``kid``; raises ``AuthError`` / ``AuthUnavailable``."""
        if self._static:
            key = self._keys.get(kid)
            if key is None:
                raise AuthError("unknown_kid")
            return key
        with self._lock:
            now = self._clock()
            fresh = self._fetched_at is not None and now - self._fetched_at < self._ttl
            if kid in self._keys and fresh:
                return self._keys[kid]
            fetch_failed = False
            if self._attempted_at is None or now - self._attempted_at >= self._min_interval:
                fetch_failed = not self._fetch(now)
            key = self._keys.get(kid)
            if key is not None:
                return key
            if fetch_failed:
                raise AuthUnavailable("jwks_fetch_failed")
            if self._fetched_at is None:
                raise AuthUnavailable("jwks_unavailable")
            raise AuthError("unknown_kid")

    def _fetch(self, now: float) -> bool:
        import requests  # loaded by the verifier with the session: only for fetched keys

        self._attempted_at = now
        url = self._url
        assert url is not None and self._session is not None
        try:
            with self._session.get(
                url, timeout=self._timeout, headers={"Accept": "application/json"}, stream=True
            ) as resp:
                if resp.status_code != 200:
                    raise ValueError(f"HTTP {resp.status_code}")
                body = b""
                for chunk in resp.iter_content(64 * 1024):
                    body += chunk
                    if len(body) > MAX_JWKS_BYTES:
                        raise ValueError("response too large")
            keys = parse_jwks(json.loads(body))
            if not keys:
                raise ValueError("no usable EC/RSA signature key with a kid")
        except requests.Timeout:
            log.warning("JWK Set fetch timed out for issuer %s (%s)", self.issuer.iss, url)
            return False
        except (requests.RequestException, ValueError) as exc:
            detail = type(exc).__name__ if isinstance(exc, requests.RequestException) else exc
            log.warning("JWK Set fetch failed for issuer %s (%s): %s", self.issuer.iss, url, detail)
            return False
        self._keys = keys
        self._fetched_at = now
        return True
