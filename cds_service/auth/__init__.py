"""Authentication of CDS clients by the JWT they send (CDS Hooks 2.0, section "Trusting CDS
Clients"). Flask-agnostic: the app calls ``ClientAuthenticator.authenticate`` and answers 401
(without detail) on ``AuthError``.
"""

from typing import TYPE_CHECKING, Any

from .config import (
    DEFAULT_ALGORITHMS,
    SUPPORTED_ALGORITHMS,
    TrustedIssuer,
    load_trusted_issuers_file,
    parse_algorithms,
    parse_trusted_issuers,
    sandbox_preset,
)
from .errors import AuthError, AuthUnavailable

if TYPE_CHECKING:
    from .replay import MemoryReplayCache, RedisReplayCache, ReplayCache, SqlReplayCache
    from .setup import build_authenticator, trusted_issuers
    from .verifier import ClientAuthenticator

# The verifier needs cryptography (about 7 MB a worker), the set-up requests: imported on
# first use, so a service with authentication off never loads them.
_LAZY = {
    "MemoryReplayCache": "replay",
    "RedisReplayCache": "replay",
    "ReplayCache": "replay",
    "SqlReplayCache": "replay",
    "build_authenticator": "setup",
    "trusted_issuers": "setup",
    "ClientAuthenticator": "verifier",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(f".{module}", __name__), name)


__all__ = [
    "DEFAULT_ALGORITHMS",
    "SUPPORTED_ALGORITHMS",
    "AuthError",
    "AuthUnavailable",
    "ClientAuthenticator",
    "MemoryReplayCache",
    "RedisReplayCache",
    "ReplayCache",
    "SqlReplayCache",
    "TrustedIssuer",
    "build_authenticator",
    "load_trusted_issuers_file",
    "parse_algorithms",
    "parse_trusted_issuers",
    "sandbox_preset",
    "trusted_issuers",
]
