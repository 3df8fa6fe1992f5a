"""One JSON line per request on logger ``cds_service.access``, and the request metrics.

The line carries only: time, method, route template, status, duration, and, for CDS calls, the
service id, hook, hookInstance, output profile, rule ids, reason codes of what could not be
read and how each prefetch key was read, as the view put them into ``flask.g.cds_log``. Query
strings,
bodies, headers and tokens are never read here, and the path is the matched route template
(``/cds-services/<service_id>``), never the raw URL.
"""

from __future__ import annotations

import contextlib
import logging
import re
import sys
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, TextIO

import flask
import orjson

from .metrics import observe_request

ACCESS_LOGGER_NAME = "cds_service.access"
UNMATCHED = "<unmatched>"
INVALID = "<invalid>"
_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
_STARTED = "cds_service.observability.started"
_LOGGED = "cds_service.observability.logged"
_MAX_RULES = 50
_LOGGER = logging.getLogger(ACCESS_LOGGER_NAME)  # loggers are per-name singletons


class StdoutHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A handler that writes each record's message as is to the current ``sys.stdout``."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(logging.Formatter("%(message)s"))

    @property
    def stream(self) -> TextIO:  # type: ignore[override]
        """Looked up at each write, so a replaced sys.stdout (tests, reloaders) is followed."""
        return sys.stdout

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        """Ignore the stream StreamHandler.__init__ sets."""

    def write_line(self, line: str) -> None:
        """What emit() writes for a record whose message is ``line``, under the same lock;
        like emit(), a failed write never fails the request."""
        with self.lock, contextlib.suppress(OSError, ValueError):  # type: ignore[union-attr]
            stream = sys.stdout
            stream.write(line + self.terminator)
            stream.flush()


def access_logger() -> logging.Logger:
    """The access logger, given a stdout JSON-line handler unless it already has handlers."""
    logger = _LOGGER
    if not logger.handlers:
        logger.addHandler(StdoutHandler())
        logger.propagate = False
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.INFO)
    return logger


def _safe_id(value: object) -> str:
    """``value`` when it looks like an id (no spaces, slashes or long text), else "<invalid>"."""
    return value if isinstance(value, str) and _ID_RE.match(value) else INVALID


def access_record(status: int, duration_s: float) -> dict[str, Any]:
    """The access-log fields for the current request."""
    request = flask.request._get_current_object()  # type: ignore[attr-defined]  # one lookup
    rule = request.url_rule.rule if request.url_rule is not None else UNMATCHED
    method = request.method
    record: dict[str, Any] = {
        "ts": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "method": method if method.isascii() and method.isalpha() else INVALID,
        "path": rule,
        "status": status,
        "duration_ms": round(duration_s * 1000.0, 2),
    }
    cds_log = flask.g.get("cds_log")
    if isinstance(cds_log, dict):
        for key in ("service", "hook", "hookInstance", "profile"):
            if key in cds_log:
                record[key] = _safe_id(cds_log[key])
        for key in ("rules", "silent", "unreadable", "prefetch"):  # lists of ids and reason codes
            if key in cds_log:
                items = cds_log[key]
                items = list(items) if isinstance(items, list | tuple) else []
                record[key] = [_safe_id(item) for item in items[:_MAX_RULES]]
    return record


def _finish(status: int) -> None:
    """Log and count the current request once, whichever hook gets there first."""
    environ = flask.request.environ
    if environ.get(_LOGGED):
        return
    environ[_LOGGED] = True
    started = environ.get(_STARTED)
    duration_s = time.perf_counter() - started if started is not None else 0.0
    record = access_record(status, duration_s)
    observe_request(record.get("service"), status, duration_s)
    logger = access_logger()
    if logger.isEnabledFor(logging.INFO):
        # Every value is a fixed word, a number or an id checked against _ID_RE: ASCII only.
        # Otherwise makeRecord + handle: the same record as logger.info, without walking the
        # stack for a caller that this line never shows.
        line = orjson.dumps(record).decode()
        handlers = logger.handlers
        own = handlers[0] if len(handlers) == 1 else None
        plain = not (logger.filters or (own and (own.filters or own.level > logging.INFO)))
        if type(own) is StdoutHandler and plain:
            # Only our own handler: the line it would format, written directly, without
            # building a LogRecord (a third of the access log's cost per request).
            own.write_line(line)
        else:
            logger.handle(
                logger.makeRecord(logger.name, logging.INFO, __file__, 0, line, (), None)
            )


class _StartTimer:
    """WSGI middleware that stamps the request's start before Flask sees it."""

    def __init__(self, wsgi_app: Callable[..., Iterable[bytes]]) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        environ[_STARTED] = time.perf_counter()
        return self.wsgi_app(environ, start_response)


def init_access_log(app: flask.Flask) -> None:
    """Time every request from the WSGI entry, then count and log it once when it ends."""
    access_logger()
    app.wsgi_app = _StartTimer(app.wsgi_app)  # type: ignore[method-assign]

    @app.after_request
    def _log_response(response: flask.Response) -> flask.Response:
        _finish(response.status_code)
        return response

    @app.teardown_request
    def _log_unfinished(exc: BaseException | None) -> None:
        # Reached without after_request only when the response could not be built.
        _finish(500)
