"""Errors answered before any view runs (and hostile feedback), through ``rls-cds serve`` on both
servers (granian, the default, and CDS_SERVER=gunicorn): a request line or headers the server
cannot parse, oversized headers (a token over 8 KB), a chunked body over the limit, a token no
HTTP header can carry, and feedback nested too deep or holding a lone surrogate or a NUL.

Which layer answers: a request granian's Rust HTTP layer cannot parse gets its own 400 with an
empty body (never HTML, never an echo; it cannot be given a body); everything it can parse
reaches cds_service/buffered_asgi.py, which answers 431/413/408 as JSON. Under gunicorn,
cds_service/gunicorn_errors.py makes gunicorn's own 400/431 JSON."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from .support import free_port, python_path_env, running, venv_executable, wait_for_http

LIMIT = 2000


@pytest.fixture(scope="module", params=["granian", "gunicorn"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, int]]:
    exe = venv_executable("rls-cds")
    if exe is None:
        pytest.skip("rls-cds is not installed in this environment")
    tmp = tmp_path_factory.mktemp("errors")
    env = python_path_env({
        "CDS_SERVER": request.param,
        "CDS_REQUIRE_AUTH": "false",
        "CDS_WORKERS": "2",
        "CDS_MAX_BODY_BYTES": str(LIMIT),
        "CDS_DATA_DIR": str(tmp / "var"),
    })
    port = free_port()
    with running([str(exe), "serve", "--port", str(port)], env, tmp) as proc:
        wait_for_http(f"http://127.0.0.1:{port}/healthz", proc)
        yield "127.0.0.1", port


def _raw(server: tuple[str, int], data: bytes) -> tuple[int, dict[str, str], bytes]:
    with socket.create_connection(server, timeout=10) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}, body


def _outcome(body: bytes) -> dict:
    parsed = json.loads(body)
    assert parsed["resourceType"] == "OperationOutcome"
    return parsed["issue"][0]


@pytest.mark.parametrize(
    "request_bytes",
    [b"GARBAGE\r\n\r\n", b"GET /healthz HTTP/1.1\r\nHost: x\r\nNo colon here\r\n\r\n"],
    ids=["request-line", "header-line"],
)
def test_unparseable_request_is_400_never_html(
    server: tuple[str, int], request_bytes: bytes, request: pytest.FixtureRequest
) -> None:
    status, headers, body = _raw(server, request_bytes)
    assert status == 400
    if request.node.callspec.params["server"] == "granian":
        assert body == b"" and headers["content-length"] == "0"  # granian's Rust layer
    else:
        assert headers["content-type"] == "application/json"
        assert _outcome(body)["code"] == "invalid"


def test_a_token_over_8_kb_is_refused_with_json(server: tuple[str, int]) -> None:
    token = "eyJ" + "a" * 9000
    request = (
        f"GET /cds-services HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    status, headers, body = _raw(server, request)
    assert status == 431 and headers["content-type"] == "application/json"
    issue = _outcome(body)
    assert issue["code"] == "too-costly" and token not in body.decode()


def _chunked(server: tuple[str, int], payload: bytes) -> tuple[int, dict]:
    request = (
        b"POST /cds-services/rls-patient-view HTTP/1.1\r\nHost: x\r\n"
        b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        + f"{len(payload):x}\r\n".encode() + payload + b"\r\n0\r\n\r\n"
    )
    status, _, body = _raw(server, request)
    return status, _outcome(body)


def test_a_chunked_body_over_the_limit_is_413_not_cut(server: tuple[str, int]) -> None:
    payload = json.dumps({"hook": "patient-view", "pad": "x" * LIMIT}).encode()
    status, issue = _chunked(server, payload)
    assert status == 413 and issue["code"] == "too-costly"


def test_a_chunked_body_of_exactly_the_limit_is_read(server: tuple[str, int]) -> None:
    head = b'{"hook": "patient-view", "pad": "'
    payload = head + b"x" * (LIMIT - len(head) - 2) + b'"}'
    assert len(payload) == LIMIT
    status, issue = _chunked(server, payload)
    assert status == 400 and issue["diagnostics"] == "'hookInstance' is required"


def test_an_access_token_no_http_header_can_carry_is_a_400(server: tuple[str, int]) -> None:
    body = {
        "hook": "patient-view",
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "fhirServer": "https://fhir.example.org",
        "fhirAuthorization": {"access_token": "tökén", "token_type": "Bearer",
                              "expires_in": 300, "scope": "patient/*.read", "subject": "x"},
        "context": {"userId": "Practitioner/1", "patientId": "p1"},
    }
    host, port = server
    req = urllib.request.Request(
        f"http://{host}:{port}/cds-services/rls-patient-view",
        data=json.dumps(body).encode(), headers={"Content-Type": "application/json"},
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(req, timeout=10)
    assert caught.value.code == 400
    issue = _outcome(caught.value.read())
    assert issue["expression"] == ["fhirAuthorization.access_token"]


def test_the_server_still_answers(server: tuple[str, int], tmp_path: Path) -> None:
    host, port = server
    with urllib.request.urlopen(f"http://{host}:{port}/healthz", timeout=5) as response:
        assert response.status == 200


FEEDBACK_ITEM = (
    b'{"feedback": [{"card": "5d2b4e0c-2a8a-4c1e-9a55-0d6f5d3f0a11", "outcome": "overridden",'
    b' "outcomeTimestamp": "2024-05-01T12:00:00Z", "overrideReason": {"userComment": COMMENT}}]}'
)


@pytest.mark.parametrize(
    ("body", "expression"),
    [
        # 900 deep fits under this module's body limit (100,000 deep: tests/feedback).
        (b'{"feedback": ' + b"[" * 900 + b"]" * 900 + b"}", "$"),
        (FEEDBACK_ITEM.replace(b"COMMENT", b'"\\ud800"'), "$"),
        (FEEDBACK_ITEM.replace(b"COMMENT", b'"a\\u0000b"'),
         "feedback[0].overrideReason.userComment"),
    ],
    ids=["nested-900-deep", "lone-surrogate", "nul-in-comment"],
)
def test_hostile_feedback_is_a_400_naming_the_field(
    server: tuple[str, int], body: bytes, expression: str
) -> None:
    host, port = server
    req = urllib.request.Request(
        f"http://{host}:{port}/cds-services/rls-order-select/feedback",
        data=body, headers={"Content-Type": "application/json"},
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(req, timeout=10)
    assert caught.value.code == 400
    assert _outcome(caught.value.read())["expression"] == [expression]
