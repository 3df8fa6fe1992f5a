"""Every error the HTTP API can answer with, its status, and its OperationOutcome body."""

from __future__ import annotations

from typing import Any


def operation_outcome(
    message: str, code: str = "invalid", expression: str | None = None
) -> dict[str, Any]:
    """The JSON body of every error this service answers with."""
    issue: dict[str, Any] = {"severity": "error", "code": code, "diagnostics": message}
    if expression:
        issue["expression"] = [expression]
    return {"resourceType": "OperationOutcome", "issue": [issue]}


class CdsError(Exception):
    """An error with an HTTP status and a message that is safe to show the client."""

    status = 400
    code = "invalid"

    def __init__(self, message: str, expression: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.expression = expression

    def body(self) -> dict[str, Any]:
        return operation_outcome(self.message, self.code, self.expression)


class BadRequest(CdsError):
    status, code = 400, "invalid"


class Unauthorized(CdsError):
    status, code = 401, "login"


class NotFound(CdsError):
    status, code = 404, "not-found"


class MethodNotAllowed(CdsError):
    status, code = 405, "not-supported"


class PrefetchUnavailable(CdsError):
    """Data the service needs is neither prefetched nor obtainable from the FHIR server."""

    status, code = 412, "incomplete"


class PayloadTooLarge(CdsError):
    status, code = 413, "too-costly"


class UnsupportedMediaType(CdsError):
    status, code = 415, "not-supported"


class ServiceUnavailable(CdsError):
    status, code = 503, "transient"


class ConfigurationError(RuntimeError):
    """The service cannot start: a setting, a hook definition or a knowledge file is wrong."""
