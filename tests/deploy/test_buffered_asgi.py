"""cds_service/buffered_asgi.py in process: the environ it builds, and what it answers itself."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from cds_service.buffered_asgi import BufferedAsgi, wsgi_environ

SCOPE = {
    "type": "http", "method": "POST", "path": "/cds-services/rls-order-select",
    "query_string": b"a=1", "root_path": "", "scheme": "http", "http_version": "1.1",
    "server": ("127.0.0.1", 8080), "client": ("127.0.0.1", 50000),
    "headers": [(b"content-type", b"application/json"), (b"transfer-encoding", b"chunked"),
                (b"x-dup", b"one"), (b"x-dup", b"two")],
}


def _echo_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    body = environ["wsgi.input"].read()
    seen = {k: environ.get(k) for k in ("CONTENT_LENGTH", "CONTENT_TYPE", "QUERY_STRING",
                                        "HTTP_X_DUP", "HTTP_TRANSFER_ENCODING")}
    start_response("201 Created", [("Content-Type", "application/json")])
    return [json.dumps({"body": body.decode(), "seen": seen}).encode()]


def _broken_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    raise RuntimeError("outside Flask's handlers")


def _call(app: BufferedAsgi, scope: dict, chunks: list[bytes], stall: bool = False) -> list[dict]:
    messages = [{"type": "http.request", "body": c, "more_body": stall or i < len(chunks) - 1}
                for i, c in enumerate(chunks)]
    sent: list[dict] = []

    async def receive() -> dict:
        if messages:
            return messages.pop(0)
        if stall:
            await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return sent


def _answer(sent: list[dict]) -> tuple[int, dict]:
    return sent[0]["status"], json.loads(sent[1]["body"])


def test_the_whole_de_chunked_body_reaches_the_app() -> None:
    app = BufferedAsgi(_echo_app, max_body=100, body_timeout_s=5, threads=1)
    status, body = _answer(_call(app, SCOPE, [b'{"a":', b" 1}"]))
    assert status == 201
    assert body == {"body": '{"a": 1}', "seen": {
        "CONTENT_LENGTH": "8", "CONTENT_TYPE": "application/json", "QUERY_STRING": "a=1",
        "HTTP_X_DUP": "one,two", "HTTP_TRANSFER_ENCODING": None}}


def test_a_body_over_the_limit_is_413_before_the_app() -> None:
    app = BufferedAsgi(_broken_app, max_body=10, body_timeout_s=5, threads=1)
    status, body = _answer(_call(app, SCOPE, [b"x" * 6, b"x" * 6]))
    assert status == 413
    assert body["issue"][0] == {"severity": "error", "code": "too-costly",
                                "diagnostics": "The request body is larger than the limit of "
                                               "10 bytes"}


def test_a_body_that_stalls_is_408() -> None:
    app = BufferedAsgi(_broken_app, max_body=10, body_timeout_s=0.2, threads=1)
    status, body = _answer(_call(app, SCOPE, [b"{"], stall=True))
    assert status == 408 and body["issue"][0]["code"] == "timeout"


def test_a_header_line_over_8190_bytes_is_431() -> None:
    scope = {**SCOPE, "headers": [(b"authorization", b"Bearer " + b"a" * 8190)]}
    app = BufferedAsgi(_broken_app, max_body=10, body_timeout_s=5, threads=1)
    status, body = _answer(_call(app, scope, [b""]))
    assert status == 431 and body["issue"][0]["code"] == "too-costly"


def test_an_error_outside_the_app_is_a_json_500() -> None:
    app = BufferedAsgi(_broken_app, max_body=10, body_timeout_s=5, threads=1)
    status, body = _answer(_call(app, SCOPE, [b"{}"]))
    assert status == 500 and body["issue"][0]["code"] == "exception"


def test_a_client_gone_mid_body_gets_nothing() -> None:
    app = BufferedAsgi(_broken_app, max_body=100, body_timeout_s=5, threads=1)
    scope_messages = _call(app, SCOPE, [])  # only a disconnect arrives
    assert scope_messages == []


def test_environ_paths_are_latin_1_strings_of_utf_8_bytes() -> None:
    environ = wsgi_environ({**SCOPE, "path": "/é"}, b"")
    assert environ["PATH_INFO"] == "/\u00c3\u00a9" and environ["CONTENT_LENGTH"] == "0"
