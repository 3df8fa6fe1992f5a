"""Authentication of CDS clients by the JWT they send (CDS Hooks 2.0, section "Trusting CDS
Clients"). Flask-agnostic: the app calls ``ClientAuthenticator.authenticate`` and answers 401
(without detail) on ``AuthError``.
"""

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
from .replay import MemoryReplayCache, RedisReplayCache, ReplayCache, SqlReplayCache
from .setup import build_authenticator, trusted_issuers
from .verifier import ClientAuthenticator

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
