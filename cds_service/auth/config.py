"""Configuration of trusted CDS clients: issuers, their keys, tenants and algorithms."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

#: Asymmetric JWS algorithms the verifier can be configured to accept.
SUPPORTED_ALGORITHMS = frozenset(
    {"ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}
)
#: Required by CDS Hooks 2.0 (accepted by default).
DEFAULT_ALGORITHMS: tuple[str, ...] = ("ES384", "RS384")

PRESET_DIR = Path(__file__).resolve().parent.parent / "auth_presets"

_ISSUER_FIELDS = {
    "jwks_url", "jwks_file", "tenants", "comment", "audiences", "jku_allowlist", "max_lifetime_s",
    "profile",
}
#: Default bound on ``exp - iat`` (the specification's examples and guidance: 5 minutes).
DEFAULT_MAX_LIFETIME_S = 300
#: Upper bound of any configured token lifetime (a day): a site may raise the 300 s default
#: (Epic's tokens live 900 s), never make tokens valid for years.
MAX_LIFETIME_CEILING_S = 86_400
_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}


@dataclass(frozen=True)
class TrustedIssuer:
    """A CDS client allowed to call us, identified by the JWT ``iss`` claim.

    Keys come from ``jwks_file`` when it is set (read once, never fetched); otherwise they are
    fetched from ``jwks_url``. A token's ``jku`` header, when present, must equal ``jwks_url``
    (so ``jwks_url`` may be set together with ``jwks_file`` to name the key set the client
    advertises). When ``tenants`` is set, the token's ``tenant`` claim must be one of them.

    Per-site details, because EHR sites type these by hand: ``audiences`` are ``aud`` values
    accepted on every endpoint besides the called URL (the base ``.../cds-services``, one
    value for all services, or a service URL); ``jku_allowlist`` are further ``jku`` URLs the
    issuer may name (keys are then fetched from the named one); ``max_lifetime_s`` overrides
    the service-wide bound on ``exp - iat``. ``profile`` names the output profile this
    client's responses get (``cards.profiles``).
    """

    iss: str
    jwks_url: str | None = None
    jwks_file: str | None = None
    tenants: tuple[str, ...] | None = None
    audiences: tuple[str, ...] = ()
    jku_allowlist: tuple[str, ...] = ()
    max_lifetime_s: float | None = None
    profile: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.iss, str) or not self.iss.strip():
            raise ValueError("trusted issuer: 'iss' must be a non-empty string")
        if self.jwks_url is None and self.jwks_file is None and not self.jku_allowlist:
            raise ValueError(
                f"trusted issuer {self.iss!r}: set 'jwks_url', 'jwks_file' or 'jku_allowlist'"
            )
        if self.jwks_url is not None:
            _check_jwks_url(self.iss, self.jwks_url)
        for name in ("audiences", "jku_allowlist"):
            values = getattr(self, name)
            if not isinstance(values, tuple) or not all(isinstance(v, str) and v for v in values):
                raise ValueError(
                    f"trusted issuer {self.iss!r}: {name!r} must be a list of non-empty strings"
                )
        for url in self.jku_allowlist:
            _check_jwks_url(self.iss, url, "jku_allowlist")
        lifetime = self.max_lifetime_s
        if lifetime is not None and (
            not isinstance(lifetime, int | float)
            or isinstance(lifetime, bool)
            or not 0 < lifetime <= MAX_LIFETIME_CEILING_S
        ):
            raise ValueError(
                f"trusted issuer {self.iss!r}: 'max_lifetime_s' must be a number of seconds "
                f"between 1 and {MAX_LIFETIME_CEILING_S}"
            )
        if self.jwks_file is not None and (
            not isinstance(self.jwks_file, str) or not self.jwks_file
        ):
            raise ValueError(f"trusted issuer {self.iss!r}: 'jwks_file' must be a path string")
        if self.tenants is not None:
            tenants = tuple(self.tenants) if isinstance(self.tenants, list | tuple) else None
            if not tenants or not all(isinstance(t, str) and t for t in tenants):
                raise ValueError(
                    f"trusted issuer {self.iss!r}: 'tenants' must be a non-empty list of "
                    "non-empty strings (omit it to allow any tenant)"
                )
            object.__setattr__(self, "tenants", tenants)
        if self.profile is not None and (not isinstance(self.profile, str) or not self.profile):
            raise ValueError(f"trusted issuer {self.iss!r}: 'profile' must be a profile name")


def _check_jwks_url(iss: str, url: object, name: str = "jwks_url") -> None:
    if not isinstance(url, str):
        raise ValueError(f"trusted issuer {iss!r}: {name!r} must be a string")
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme == "http" and host in _LOCAL_HOSTS:
        pass
    elif parts.scheme != "https" or not host:
        raise ValueError(
            f"trusted issuer {iss!r}: {name!r} must be an absolute https URL "
            f"(http only for localhost), got {url!r}"
        )
    if parts.fragment:
        raise ValueError(f"trusted issuer {iss!r}: {name!r} must not have a fragment")


def parse_trusted_issuers(
    text: str, *, base_dir: str | Path | None = None
) -> dict[str, TrustedIssuer]:
    """Parse ``CDS_TRUSTED_ISSUERS`` JSON into issuers keyed by ``iss``.

    Format: ``{"<iss>": {"jwks_url": "https://..."} | {"jwks_file": "path"},
    optional "tenants": [...], "audiences": [...], "jku_allowlist": [...],
    "max_lifetime_s": N, "comment": "..."}``. Blank text means no issuers.
    Relative ``jwks_file`` paths are resolved against ``base_dir`` when given.
    Raises ``ValueError`` with a message naming the offending entry.
    """
    if not text or not text.strip():
        return {}
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"trusted issuers: not valid JSON ({exc.msg} at line {exc.lineno})"
        ) from None
    if not isinstance(data, dict):
        raise ValueError('trusted issuers: expected a JSON object {"<iss>": {...}}')
    issuers: dict[str, TrustedIssuer] = {}
    for iss, entry in data.items():
        if not iss.strip():
            raise ValueError("trusted issuers: issuer names must be non-empty")
        if not isinstance(entry, dict):
            raise ValueError(f"trusted issuer {iss!r}: expected an object")
        unknown = set(entry) - _ISSUER_FIELDS
        if unknown:
            raise ValueError(
                f"trusted issuer {iss!r}: unknown field(s) {sorted(unknown)}; "
                f"allowed: {sorted(_ISSUER_FIELDS)}"
            )
        if "comment" in entry and not isinstance(entry["comment"], str):
            raise ValueError(f"trusted issuer {iss!r}: 'comment' must be a string")
        jwks_file = entry.get("jwks_file")
        if isinstance(jwks_file, str) and jwks_file and base_dir is not None:
            jwks_file = str(Path(base_dir, jwks_file))
        tenants = entry.get("tenants")
        if tenants is not None and not isinstance(tenants, list):
            raise ValueError(f"trusted issuer {iss!r}: 'tenants' must be a list of strings")
        issuers[iss] = TrustedIssuer(
            iss=iss,
            jwks_url=entry.get("jwks_url"),
            jwks_file=jwks_file,
            tenants=tuple(tenants) if tenants is not None else None,
            profile=entry.get("profile"),
            **_site_details(iss, entry),
        )
    return issuers


def _site_details(iss: str, entry: dict) -> dict:
    """audiences / jku_allowlist (a string or a list) and max_lifetime_s, when given."""
    details: dict = {}
    for name in ("audiences", "jku_allowlist"):
        value = entry.get(name)
        if value is None:
            continue
        values = [value] if isinstance(value, str) else value
        if not isinstance(values, list) or not values:
            raise ValueError(f"trusted issuer {iss!r}: {name!r} must be a non-empty list")
        details[name] = tuple(values)
    if entry.get("max_lifetime_s") is not None:
        details["max_lifetime_s"] = entry["max_lifetime_s"]
    return details


def load_trusted_issuers_file(path: str | Path) -> dict[str, TrustedIssuer]:
    """Read a trusted-issuers JSON file; relative ``jwks_file`` paths are relative to it."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"trusted issuers file {str(path)!r}: {exc.strerror}") from None
    return parse_trusted_issuers(text, base_dir=path.parent)


def sandbox_preset() -> dict[str, TrustedIssuer]:
    """Trust the public CDS Hooks sandbox (https://sandbox.cds-hooks.org). DEMO ONLY.

    The sandbox's private signing key is published in its repository, so anyone can mint a
    token this preset accepts: never enable it in production.
    """
    return load_trusted_issuers_file(PRESET_DIR / "cds-hooks-sandbox.json")


def parse_algorithms(text: str | None) -> tuple[str, ...]:
    """Parse ``CDS_JWT_ALGORITHMS`` (comma or space separated); blank gives the default."""
    if not text or not text.strip():
        return DEFAULT_ALGORITHMS
    algs = tuple(dict.fromkeys(a for a in re.split(r"[\s,]+", text.strip()) if a))
    check_algorithms(algs)
    return algs


def check_algorithms(algorithms: tuple[str, ...] | list[str]) -> None:
    """Raise ``ValueError`` unless every algorithm is a supported asymmetric one."""
    if not algorithms:
        raise ValueError("JWT algorithms: at least one algorithm is required")
    for alg in algorithms:
        if alg not in SUPPORTED_ALGORITHMS:
            why = (
                "symmetric/none algorithms are never accepted"
                if alg.lower() == "none" or alg.upper().startswith("HS")
                else "unsupported"
            )
            raise ValueError(
                f"JWT algorithms: {alg!r} is not allowed ({why}); "
                f"choose from {sorted(SUPPORTED_ALGORITHMS)}"
            )
