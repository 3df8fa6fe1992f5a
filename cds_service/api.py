"""The one blueprint: discovery and service calls, JSON in and out, errors as OperationOutcome."""

from __future__ import annotations

import re
from typing import Any

import orjson
from flask import Blueprint, Request, Response, current_app, g, request
from werkzeug.datastructures import Headers
from werkzeug.exceptions import ClientDisconnected, RequestEntityTooLarge
from werkzeug.wsgi import get_content_length

from cds_service.cards.profiles import choose_profile
from cds_service.errors import BadRequest, NotFound, UnsupportedMediaType
from cds_service.hook_call import call_service

api = Blueprint("cds", __name__)
UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def json_response(payload: Any, status: int = 200) -> Response:
    """``Response(orjson.dumps(payload), status, content_type="application/json")``: the
    header mimetype="application/json" gives (no charset for JSON)."""
    return _json_body_response(orjson.dumps(payload), status)


_STATUS_LINES: dict[int, str] = {}  # status code -> werkzeug's status line ("200 OK")


def _json_body_response(body: bytes, status: int) -> Response:
    """What ``Response(body, status, content_type="application/json")`` builds, field for
    field, without werkzeug's per-call checks of headers it is handed (27 K instructions
    against 7 K, on every answer). tests/test_json_response.py holds the two side by side, so
    a werkzeug that builds its responses differently fails there, not here."""
    line = _STATUS_LINES.get(status)
    if line is None:
        line = _STATUS_LINES[status] = Response(status=status).status
    response = Response.__new__(Response)
    headers = Headers()
    headers._list = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    response.headers = headers
    response._status = line
    response._status_code = status
    response.direct_passthrough = False
    response._on_close = []
    response.response = [body]
    return response


def _runtime() -> Any:
    # Each attribute through a werkzeug proxy costs a lookup: resolve it once.
    return current_app._get_current_object().extensions["rls_cds"]  # type: ignore[attr-defined]


@api.get("/cds-services")
def discovery() -> Response:
    runtime = _runtime()
    document = {"services": [s.definition for s in runtime.services.values()]}
    profile = g.get("issuer_profile") or runtime.settings.ehr_profile
    return json_response(runtime.profiles.discovery(document, profile))


def read_json_body(req: Request | None = None) -> Any:
    """The parsed JSON body of ``req`` (default: the current request); 415 for another media
    type, 400 for malformed JSON."""
    if req is None:
        req = request._get_current_object()  # type: ignore[attr-defined]  # one proxy lookup
    mimetype = req.environ.get("CONTENT_TYPE")
    if mimetype != "application/json":  # the usual header is its own mimetype: no parsing
        mimetype = req.mimetype or ""
    if mimetype != "application/json" and not mimetype.endswith("+json"):
        raise UnsupportedMediaType(
            f"Content-Type must be application/json, not {mimetype or 'missing'}"
        )
    environ = req.environ
    length = get_content_length(environ)  # req.content_length, without the headers
    if length is not None:
        raw = read_exactly(environ, length, req.max_content_length)
    else:
        raw = req.get_data(cache=False)
        limit = req.max_content_length  # read only here: each read looks up the app
        if limit is not None and len(raw) >= limit:
            # A chunked body is cut at the limit by werkzeug, never refused: one more byte
            # from the server's (terminated) stream tells a body of exactly the limit from a
            # larger one.
            if environ["wsgi.input"].read(1):
                raise RequestEntityTooLarge()
    try:
        return orjson.loads(raw)  # also refuses NaN, lone surrogates and nesting past 1024
    except orjson.JSONDecodeError as exc:
        # Where, not the parser's own wording: check brackets, quotes and commas there.
        raise BadRequest(
            f"The request body is not valid JSON: the first error is at line {exc.lineno}, "
            f"column {exc.colno}"
        ) from None


def read_exactly(environ: dict[str, Any], length: int, limit: int | None) -> bytes:
    """The ``length`` bytes of a body sent with Content-Length, read straight from the server's
    stream: werkzeug's get_data answers the same but copies the body six times on the way
    (LimitedStream, bytearrays), a fifth of a request's instructions at 30 KB.

    As werkzeug: 413 past ``limit``, 400 (ClientDisconnected) when a stream the server does
    not terminate ends early or fails; from a terminated stream a short body is what was sent.
    """
    if limit is not None and length > limit:
        raise RequestEntityTooLarge()
    if length == 0:
        return b""
    stream = environ["wsgi.input"]
    try:
        raw = stream.read(length)
        if len(raw) < length:  # a socket-backed stream may hand the body over in parts
            parts = [raw]
            got = len(raw)
            while got < length and (more := stream.read(length - got)):
                parts.append(more)
                got += len(more)
            raw = b"".join(parts)
    except (OSError, ValueError):
        raise ClientDisconnected() from None
    if len(raw) < length and "wsgi.input_terminated" not in environ:
        raise ClientDisconnected()
    return raw


@api.post("/cds-services/<service_id>")
def service_call(service_id: str) -> Response:
    runtime = _runtime()
    service = runtime.services.get(service_id)
    if service is None:
        raise NotFound(f"No CDS service with id {service_id!r}; see GET /cds-services")
    body = read_json_body()
    flask_g = g._get_current_object()  # type: ignore[attr-defined]  # one proxy lookup
    log = flask_g.cds_log = {"service": service_id, "hook": service.hook}
    instance = body.get("hookInstance") if isinstance(body, dict) else None
    if isinstance(instance, str) and UUID.fullmatch(instance):  # never log an arbitrary string
        log["hookInstance"] = instance
    governance = runtime.governance
    site = governance.site_of(flask_g.get("client_issuer"))
    outcome = call_service(
        runtime.knowledge, runtime.settings, service, body, runtime.fetch_missing,
        governance.modes(site),
    )
    governance.record(
        site, service.hook, service_id, body["context"]["patientId"], outcome.rule_ids,
        outcome.silent,
    )
    log["rules"] = list(outcome.rule_ids)
    if outcome.silent:
        log["silent"] = list(outcome.silent)
    log["prefetch"] = list(outcome.prefetch)
    if outcome.unreadable:  # reason codes only (resource type, field, error kind): no values
        log["unreadable"] = list(outcome.unreadable)
    runtime.after_cards(outcome.rule_ids)
    profile = log["profile"] = choose_profile(
        flask_g.get("issuer_profile"), body, runtime.settings.ehr_profile
    )
    profiles = governance.profiles_for(site, runtime.profiles)  # the site's own order codes
    return json_response(profiles.render(outcome.response, profile, service.hook))
