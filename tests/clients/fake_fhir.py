"""A tenant-scoped FHIR server on loopback, answering from a captured {query: response} file."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit


@dataclass
class FakeFhir:
    """Answers ``GET {base}/{Type}?...`` and ``GET {base}/{Type}/{id}`` by the captured query
    whose path is the same (search parameters are the service's own, so they are not matched)."""

    base_path: str  # e.g. /r4/ec2458f2-...
    responses: dict[str, Any]
    seen: list[tuple[str, str | None]] = field(default_factory=list)  # (path, Authorization)

    def answer(self, path: str) -> Any | None:
        if not path.startswith(self.base_path + "/"):
            return None
        relative = path[len(self.base_path) + 1 :]
        for query, response in self.responses.items():
            if query.split("?")[0] == relative:
                return response
        return None


def _handler(fake: FakeFhir) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            path = urlsplit(self.path).path
            fake.seen.append((path, self.headers.get("Authorization")))
            body = fake.answer(path)
            status = 200 if body is not None else 404
            if body is None:
                body = {"resourceType": "OperationOutcome", "issue": [
                    {"severity": "error", "code": "not-found"}]}
            raw = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/fhir+json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, *args: object) -> None:
            pass

    return Handler


@contextmanager
def serve_captured(data_file: Path) -> Iterator[tuple[str, FakeFhir]]:
    """Serve ``data_file`` (``{"fhirServer": url, "responses": {...}}``) under the same tenant
    path on 127.0.0.1; yields the local base URL and the server's record of requests."""
    data = json.loads(data_file.read_text(encoding="utf-8"))
    fake = FakeFhir(urlsplit(data["fhirServer"]).path.rstrip("/"), data["responses"])
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}{fake.base_path}", fake
    finally:
        server.shutdown()
        server.server_close()
