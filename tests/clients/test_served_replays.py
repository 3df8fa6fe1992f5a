"""The Sandbox's and Epic's requests replayed against ``rls-cds serve`` as users run it: real
gunicorn workers, client JWT verification on, tokens shaped as each client signs them.

The captured requests are dated; here every date in them is moved by the same number of days so
that "10 days before today" stays true on any day the suite runs.
"""

from __future__ import annotations

import json
import re
import time
import urllib.request
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from tests.deploy.support import free_port, python_path_env, running, venv_executable, wait_for_http

CLIENTS = Path(__file__).resolve().parents[2] / "fhir_fixtures" / "clients"
CAPTURED_ON = date(2026, 12, 2)
DATE = re.compile(r'"(\d{4}-\d{2}-\d{2})')
SANDBOX_ISS = "https://sandbox.example.test"  # our own key, with the Sandbox's token shape
EPIC_ISS = "https://ehr.example.org/interconnect-prd-oauth/api/FHIR/R4"
EC_KEY = ec.generate_private_key(ec.SECP384R1())
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _shifted(name: str) -> dict[str, Any]:
    """The request with every date moved so that its capture day is today."""
    days = (datetime.now(UTC).date() - CAPTURED_ON).days
    text = (CLIENTS / name).read_text(encoding="utf-8")

    def move(match: re.Match[str]) -> str:
        return '"' + (date.fromisoformat(match.group(1)) + timedelta(days=days)).isoformat()

    return json.loads(DATE.sub(move, text))


def _jwk(key: Any, kid: str, algo: Any) -> dict[str, Any]:
    return {**algo.to_jwk(key.public_key(), as_dict=True), "kid": kid, "use": "sig"}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Any:
    exe = venv_executable("rls-cds")
    if exe is None:
        pytest.skip("rls-cds is not installed in this environment")
    tmp = tmp_path_factory.mktemp("served")
    jwks = tmp / "jwks.json"
    jwks.write_text(json.dumps({"keys": [
        _jwk(EC_KEY, "sandbox-ec", jwt.algorithms.ECAlgorithm),
        _jwk(RSA_KEY, "epic-rsa", jwt.algorithms.RSAAlgorithm),
    ]}))
    issuers = {SANDBOX_ISS: {"jwks_file": str(jwks)}, EPIC_ISS: {"jwks_file": str(jwks)}}
    port = free_port()
    env = python_path_env({
        "CDS_TRUSTED_ISSUERS": json.dumps(issuers),
        "CDS_WORKERS": "2",
        "CDS_DATA_DIR": str(tmp / "var"),
        "PROMETHEUS_MULTIPROC_DIR": str(tmp / "prometheus"),
    })
    env.pop("CDS_REDIS_URL", None)
    env.pop("CDS_DATABASE_URL", None)
    with running([str(exe), "serve", "--port", str(port)], env, tmp) as proc:
        base = f"http://127.0.0.1:{port}"
        wait_for_http(f"{base}/healthz", proc)
        yield base


def _token(iss: str, aud: str, key: Any, alg: str, kid: str) -> str:
    now = int(time.time())
    claims = {"iss": iss, "aud": aud, "iat": now, "exp": now + 300, "jti": str(uuid.uuid4())}
    return jwt.encode(claims, key, algorithm=alg, headers={"kid": kid, "typ": "JWT"})


def _post(url: str, body: dict[str, Any], token: str) -> tuple[int, dict[str, Any]]:
    req = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "Accept": "application/json",
                 "Authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(req, timeout=10) as response:
        return response.status, json.loads(response.read())


def _pairs(body: dict[str, Any]) -> list[list[str]]:
    return [[c["source"]["topic"]["code"], c["indicator"]] for c in body["cards"]]


THREE = [["iv-iron-indicated", "info"], ["dopamine-agonist-against", "warning"],
         ["alpha2delta-first-line", "info"]]


@pytest.mark.parametrize(
    ("name", "service", "expected"),
    [
        ("sandbox/order-select-pramipexole.json", "rls-order-select", THREE),
        ("sandbox/order-select-pramipexole-with-reason.json", "rls-order-select", THREE),
        ("sandbox/order-sign-pramipexole.json", "rls-order-sign", THREE),
        ("sandbox/patient-view.json", "rls-patient-view",
         [["iv-iron-indicated", "info"], ["augmentation-risk-active-da", "warning"]]),
    ],
)
def test_sandbox_requests_served(served: str, name: str, service: str, expected: list) -> None:
    url = f"{served}/cds-services/{service}"
    token = _token(SANDBOX_ISS, url, EC_KEY, "ES384", "sandbox-ec")
    status, body = _post(url, _shifted(name), token)
    assert status == 200
    assert _pairs(body) == expected


@pytest.mark.parametrize(
    ("name", "service", "expected"),
    [
        ("epic/patient-view.json", "rls-patient-view", [["iv-iron-indicated", "info"]]),
        ("epic/order-select.json", "rls-order-select", THREE),
        ("epic/order-sign.json", "rls-order-sign", THREE),
    ],
)
def test_epic_requests_served(served: str, name: str, service: str, expected: list) -> None:
    url = f"{served}/cds-services/{service}"
    status, body = _post(url, _shifted(name), _token(EPIC_ISS, url, RSA_KEY, "RS384", "epic-rsa"))
    assert status == 200
    assert [[code.replace("-", ""), ind] for code, ind in _pairs(body)] == [
        [code.replace("-", ""), ind] for code, ind in expected
    ]
