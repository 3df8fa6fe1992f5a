"""The request body read straight from the server's stream (api.read_exactly) says what werkzeug's
get_data said: the same bytes, 413 past the limit, 400 for a client that went away."""

from __future__ import annotations

import io
import itertools
import json
import sys

import pytest
from werkzeug.exceptions import ClientDisconnected, RequestEntityTooLarge
from werkzeug.wrappers import Request

from cds_service.api import read_exactly
from tests.fhir_builders import request

BODY = json.dumps(request("order-select")).encode()
LIMIT = 64 * 1024


class PartStream:
    """A server stream that hands the body over ``part`` bytes at a time (a socket does), and
    fails with ``error`` once it is drained."""

    def __init__(self, data: bytes, part: int, error: Exception | None = None) -> None:
        self.data, self.part, self.error = data, part, error

    def read(self, size: int = -1) -> bytes:
        if size and not self.data and self.error is not None:
            raise self.error
        size = len(self.data) if size < 0 else size
        chunk, self.data = self.data[: min(size, self.part)], self.data[min(size, self.part):]
        return chunk

    def readinto(self, buffer: bytearray) -> int:
        chunk = self.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)


def _environ(stream: PartStream, length: int, terminated: bool) -> dict:
    environ = {"REQUEST_METHOD": "POST", "CONTENT_LENGTH": str(length), "wsgi.input": stream,
               "CONTENT_TYPE": "application/json", "SERVER_NAME": "x", "SERVER_PORT": "80",
               "wsgi.url_scheme": "http", "wsgi.errors": sys.stderr}
    if terminated:
        environ["wsgi.input_terminated"] = True
    return environ


def _outcome(read) -> bytes | type[Exception]:
    try:
        return read()
    except (ClientDisconnected, RequestEntityTooLarge) as exc:
        return type(exc)


def _werkzeug(sent: bytes, length: int, part: int, terminated: bool, error: Exception | None):
    req = Request(_environ(PartStream(sent, part, error), length, terminated))
    req.max_content_length = LIMIT
    return _outcome(lambda: req.get_data(cache=False))


def _ours(sent: bytes, length: int, part: int, terminated: bool, error: Exception | None):
    environ = _environ(PartStream(sent, part, error), length, terminated)
    return _outcome(lambda: read_exactly(environ, length, LIMIT))


LENGTHS = {  # Content-Length for what was sent
    "exact": len,
    "less than sent": lambda sent: max(len(sent) - 10, 0),
    "more than sent": lambda sent: len(sent) + 100,  # the client went away mid-body
    "zero": lambda sent: 0,
    "over the limit": lambda sent: LIMIT + 1,
}
CASES = list(itertools.product(
    (BODY, BODY[:100], b""),  # what the client sent
    LENGTHS,
    (1 << 20, 4096, 7),  # the server hands it over in parts this large
    (False, True),  # wsgi.input_terminated
    (None, OSError("reset"), ValueError("closed")),  # how the drained stream fails
))


@pytest.mark.parametrize(("sent", "length", "part", "terminated", "error"), CASES)
def test_the_direct_read_says_what_werkzeug_said(sent, length, part, terminated, error) -> None:
    length = LENGTHS[length](sent)
    ours = _ours(sent, length, part, terminated, error)
    if length <= LIMIT and length <= len(sent) and (terminated or error is not None):
        # The declared body arrived whole and is read exactly. werkzeug may read on past it (a
        # terminated stream to its end, any stream once more) and meet what follows: a server
        # that terminates the stream ends it at Content-Length, and a failure after the body
        # is not a client that went away before sending it.
        assert ours == sent[:length]
        return
    assert ours == _werkzeug(sent, length, part, terminated, error)


def test_a_body_in_parts_gives_the_same_answer(app) -> None:
    whole = app.test_client().post("/cds-services/rls-order-select", data=BODY,
                                   content_type="application/json")
    statuses = []
    environ = _environ(PartStream(BODY, 4096), len(BODY), terminated=False)
    environ.update(PATH_INFO="/cds-services/rls-order-select", SERVER_PROTOCOL="HTTP/1.1",
                   **{"wsgi.version": (1, 0), "wsgi.multithread": False,
                      "wsgi.multiprocess": False, "wsgi.run_once": False})
    parts = b"".join(app(environ, lambda status, headers, exc=None: statuses.append(status)))
    assert statuses == ["200 OK"] and whole.status_code == 200
    strip = _without_uuids
    assert strip(json.loads(parts)) == strip(whole.get_json())


def test_a_client_that_goes_away_mid_body_gets_a_json_400(app) -> None:
    statuses = []
    environ = _environ(PartStream(BODY[:500], 4096), len(BODY), terminated=False)
    environ.update(PATH_INFO="/cds-services/rls-order-select", SERVER_PROTOCOL="HTTP/1.1",
                   **{"wsgi.version": (1, 0), "wsgi.multithread": False,
                      "wsgi.multiprocess": False, "wsgi.run_once": False})
    body = json.loads(b"".join(app(environ, lambda s, h, exc=None: statuses.append(s))))
    assert statuses == ["400 BAD REQUEST"]
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"][0]["severity"] == "error"


def _without_uuids(value):
    if isinstance(value, dict):
        return {k: _without_uuids(v) for k, v in value.items() if k != "uuid"}
    if isinstance(value, list):
        return [_without_uuids(v) for v in value]
    return value


def test_a_content_length_over_the_limit_is_413_before_reading(app) -> None:
    stream = io.BytesIO(BODY)
    with pytest.raises(RequestEntityTooLarge):
        read_exactly({"wsgi.input": stream}, LIMIT + 1, LIMIT)
    assert stream.tell() == 0
