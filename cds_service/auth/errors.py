"""Exceptions raised by client authentication."""

from __future__ import annotations


class AuthError(Exception):
    """The request is not authenticated; answer 401 without detail.

    ``reason`` is a short fixed machine string for the log (never token contents) and must
    not be shown to the client.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class AuthUnavailable(AuthError):
    """Authentication could not be completed (key set or replay cache unreachable).

    A subclass of ``AuthError`` so it fails closed as a 401 by default; an app may answer
    503 instead.
    """
