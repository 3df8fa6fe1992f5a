"""One JSON line per request on logger ``cds_service.access``, and the request metrics.

The line carries only: time, method, route template, status, duration, and, for CDS calls, the
service id, hook, hookInstance, output profile, rule ids, reason codes of what could not be
read and how each prefetch key was read, as the view put them into ``flask.g.cds_log``. Query
strings,
bodies, headers and tokens are never read here, and the path is the matched route template
(``/cds-services/<service_id>``), never the raw URL.
"""

from __future__ import annotations

import logging
import re
import sys
import time
from collections.abc import Callable, Iterable
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
_ID_FIELDS = ("service", "hook", "hookInstance", "profile")
_LIST_FIELDS = ("rules", "silent", "unreadable", "prefetch")  # lists of ids and reason codes
# Ids already checked against _ID_RE (rule ids, service ids, reason codes recur on every call):
# a set lookup instead of the pattern. Capped, and never fed hookInstance (new on every call).
_CHECKED: set[str] = set()
_CHECKED_LIMIT = 4096
_STR = {str}
_MILLIS = tuple(f".{ms:03d}Z" for ms in range(1000))
_second: tuple[int, str] = (-1, "")  # the last second stamped, formatted to the second


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
        with self.lock:  # type: ignore[union-attr]
            try:
                stream = sys.stdout
                stream.write(line + self.terminator)
                stream.flush()
            except (OSError, ValueError):
                pass


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


def _checked_id(value: object) -> str:
    """:func:`_safe_id`, remembering the ids that pass (up to a bound)."""
    if type(value) is str and value in _CHECKED:
        return value
    safe = _safe_id(value)
    if safe is value and type(value) is str and len(_CHECKED) < _CHECKED_LIMIT:
        _CHECKED.add(value)
    return safe


def utc_stamp(ns: int) -> str:
    """``ns`` (nanoseconds since the epoch) as ``2026-01-31T12:00:00.123Z``, what
    ``datetime.isoformat(timespec="milliseconds")`` writes, formatted once per second."""
    global _second
    second, rest = divmod(ns, 1_000_000_000)
    cached = _second
    if cached[0] != second:
        cached = _second = (second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)))
    return cached[1] + _MILLIS[rest // 1_000_000]


def access_record(status: int, duration_s: float) -> dict[str, Any]:
    """The access-log fields for the current request."""
    request = flask.request._get_current_object()  # type: ignore[attr-defined]  # one lookup
    return _record(request, flask.g.get("cds_log"), status, duration_s)


def _record(
    request: flask.Request, cds_log: object, status: int, duration_s: float
) -> dict[str, Any]:
    rule = request.url_rule
    method = request.method
    record: dict[str, Any] = {
        "ts": utc_stamp(time.time_ns()),
        "method": method if method.isascii() and method.isalpha() else INVALID,
        "path": rule.rule if rule is not None else UNMATCHED,
        "status": status,
        "duration_ms": round(duration_s * 1000.0, 2),
    }
    if isinstance(cds_log, dict):
        checked = _CHECKED
        for key in _ID_FIELDS:
            if key in cds_log:
                value = cds_log[key]
                if key == "hookInstance":
                    record[key] = _safe_id(value)
                else:
                    record[key] = value if type(value) is str and value in checked \
                        else _checked_id(value)
        for key in _LIST_FIELDS:
            if key in cds_log:
                items = cds_log[key]
                items = items[:_MAX_RULES] if isinstance(items, (list, tuple)) else ()
                record[key] = list(items) if _all_checked(items) \
                    else [_checked_id(item) for item in items]
    return record


def _all_checked(items: list[Any] | tuple[Any, ...]) -> bool:
    """Whether every item is a str equal to an id already checked."""
    try:
        return _CHECKED.issuperset(items) and set(map(type, items)) <= _STR
    except TypeError:  # an unhashable item
        return False


def _finish(request: flask.Request, status: int) -> None:
    """Log and count ``request`` (the current one) once, whichever hook gets there first."""
    environ = request.environ
    if environ.get(_LOGGED):
        return
    environ[_LOGGED] = True
    started = environ.get(_STARTED)
    duration_s = time.perf_counter() - started if started is not None else 0.0
    g = flask.g._get_current_object()  # type: ignore[attr-defined]  # one lookup
    record = _record(request, vars(g).get("cds_log"), status, duration_s)
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

    # The request proxy resolved once per hook (each attribute through it costs a lookup).
    @app.after_request
    def _log_response(response: flask.Response) -> flask.Response:
        request = flask.request._get_current_object()  # type: ignore[attr-defined]
        _finish(request, response.status_code)
        return response

    @app.teardown_request
    def _log_unfinished(exc: BaseException | None) -> None:
        # Reached without after_request only when the response could not be built.
        request = flask.request._get_current_object()  # type: ignore[attr-defined]
        if not request.environ.get(_LOGGED):
            _finish(request, 500)
