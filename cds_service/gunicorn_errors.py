"""gunicorn's own error answers (bad request line, oversized headers) as JSON OperationOutcomes.

gunicorn answers a request it cannot parse before any application code runs, with an HTML page
from ``gunicorn.util.write_error``. Every error of this service is JSON, so that one function is
replaced in the master, before workers fork. The message never echoes what the client sent
(a malformed header line may hold a token).
"""

from __future__ import annotations

import json
from typing import Any

from gunicorn import util

from cds_service.errors import operation_outcome

MESSAGES = {
    400: ("invalid", "The HTTP request could not be parsed (request line or headers)"),
    431: ("too-costly", "The request headers are larger than this server accepts"),
}


def write_json_error(sock: Any, status_int: int, reason: str, mesg: str) -> None:
    """What ``gunicorn.util.write_error`` writes, as JSON; ``mesg`` is deliberately unused."""
    code, message = MESSAGES.get(status_int, ("processing", reason))
    body = json.dumps(operation_outcome(message, code)).encode()
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    util.write_nonblock(sock, head.encode("latin-1") + body)


def install() -> None:
    util.write_error = write_json_error
