"""The WSGI app behind an ASGI front that reads the whole request before a thread sees it.

Why: a WSGI server hands the socket's body stream to a Python thread, so a client that sends
its body one byte a second holds that thread (and with five workers, twenty such clients stall
the service; README "Serving"). Here the event loop (granian's ``--interface asgi``; headers are
parsed in granian's Rust layer) collects the body with a size limit and a deadline, and only a
complete request is run in the worker's thread pool. What this layer answers itself (413 over
``CDS_MAX_BODY_BYTES``, 408 after ``CDS_BODY_TIMEOUT_S``) is a JSON OperationOutcome.
"""

from __future__ import annotations

import asyncio
import io
import logging
import os
import sys
from collections.abc import Awaitable, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import orjson

from cds_service.errors import operation_outcome
from cds_service.serving import env_int

log = logging.getLogger("cds_service.serving")

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


DEFAULT_MAX_BODY = 5 * 1024 * 1024  # the service's own default (CDS_MAX_BODY_BYTES)
# gunicorn's limits, kept under granian (whose own buffer admits about 400 KB of headers): a
# header line over 8190 bytes, or over 100 header fields, is 431.
MAX_HEADER_LINE = 8190
MAX_HEADER_FIELDS = 100


class _TooLarge(Exception):
    pass


def wsgi_environ(scope: Scope, body: bytes) -> dict[str, Any]:
    """The PEP 3333 environ for an ASGI http ``scope`` whose whole body is ``body``."""
    server = scope.get("server") or ("127.0.0.1", 80)
    client = scope.get("client") or ("", 0)
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": scope.get("root_path", "").encode().decode("latin-1"),
        "PATH_INFO": scope["path"].encode().decode("latin-1"),
        "QUERY_STRING": scope.get("query_string", b"").decode("latin-1"),
        "SERVER_NAME": str(server[0]),
        "SERVER_PORT": str(server[1]),
        "SERVER_PROTOCOL": f"HTTP/{scope.get('http_version', '1.1')}",
        "REMOTE_ADDR": str(client[0]),
        "REMOTE_PORT": str(client[1]),
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    for raw_name, raw_value in scope.get("headers", []):
        name = raw_name.decode("latin-1").upper().replace("-", "_")
        value = raw_value.decode("latin-1")
        if name in ("CONTENT_LENGTH", "TRANSFER_ENCODING"):
            continue  # the body is complete and de-chunked: its real length was set above
        key = "CONTENT_TYPE" if name == "CONTENT_TYPE" else f"HTTP_{name}"
        environ[key] = f"{environ[key]},{value}" if key in environ else value
    return environ


def run_wsgi(app: WsgiApp, environ: dict[str, Any]) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """Call ``app`` once, in the calling thread: (status, headers, whole body)."""
    started: list[Any] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        started[:] = [status, headers]
        return lambda data: None  # the legacy write() callable; unused by Flask

    result = app(environ, start_response)
    try:
        body = b"".join(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    status, headers = started
    encoded = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers]
    return int(status.split(" ", 1)[0]), encoded, body


def _headers_too_large(headers: list[tuple[bytes, bytes]]) -> bool:
    if len(headers) > MAX_HEADER_FIELDS:
        return True
    return any(len(name) + len(value) + 2 > MAX_HEADER_LINE for name, value in headers)


async def _read_body(receive: Receive, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ConnectionError("client went away before its body was complete")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _send(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _send_outcome(send: Send, status: int, code: str, message: str) -> None:
    body = orjson.dumps(operation_outcome(message, code))
    headers = [(b"content-type", b"application/json"), (b"connection", b"close")]
    await _send(send, status, headers, body)


class BufferedAsgi:
    """An ASGI app that buffers each request completely, then runs ``wsgi_app`` in a thread."""

    def __init__(self, wsgi_app: WsgiApp, max_body: int, body_timeout_s: float, threads: int):
        self.wsgi_app = wsgi_app
        self.max_body = max_body
        self.body_timeout_s = body_timeout_s
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="wsgi")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            await self._http(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.pool.shutdown(wait=True)
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        if _headers_too_large(scope.get("headers", [])):
            log.info("request headers over the limit: answered 431")
            message = "The request headers are larger than this server accepts"
            await _send_outcome(send, 431, "too-costly", message)
            return
        try:
            body = await asyncio.wait_for(
                _read_body(receive, self.max_body), timeout=self.body_timeout_s
            )
        except _TooLarge:
            log.info("request body over %s bytes: answered 413", self.max_body)
            message = f"The request body is larger than the limit of {self.max_body} bytes"
            await _send_outcome(send, 413, "too-costly", message)
            return
        except TimeoutError:
            log.info("request body not complete within %s s: answered 408", self.body_timeout_s)
            message = f"The request body did not arrive within {self.body_timeout_s:g} seconds"
            await _send_outcome(send, 408, "timeout", message)
            return
        except ConnectionError:
            return
        loop = asyncio.get_running_loop()
        environ = wsgi_environ(scope, body)
        try:
            status, headers, payload = await loop.run_in_executor(
                self.pool, run_wsgi, self.wsgi_app, environ
            )
        except Exception as exc:  # Flask answers its own errors; this is the server's last net
            log.error("unexpected error %s outside the application", type(exc).__name__)
            message = "Internal error; the request was not processed"
            await _send_outcome(send, 500, "exception", message)
            return
        await _send(send, status, headers, payload)


def build(wsgi_app: Any, environ: dict[str, str] | os._Environ[str] = os.environ) -> BufferedAsgi:
    """The ASGI app for ``wsgi_app`` with the CDS_* limits of ``environ``."""
    return BufferedAsgi(
        wsgi_app,
        max_body=int(getattr(wsgi_app, "config", {}).get("MAX_CONTENT_LENGTH") or DEFAULT_MAX_BODY),
        body_timeout_s=env_int("CDS_BODY_TIMEOUT_S", 10, minimum=1, environ=environ),
        threads=env_int("CDS_THREADS", 1, minimum=1, environ=environ),
    )
