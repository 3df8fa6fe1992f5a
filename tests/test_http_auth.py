"""Client JWT at the HTTP layer: 401 with WWW-Authenticate and no detail; CORS preflight free."""

from __future__ import annotations

import base64
import json
import time
import uuid
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from cds_service import create_app
from tests.fhir_builders import request

ISS = "https://ehr.example.org"
JKU = "https://ehr.example.org/jwks.json"
BASE = "http://localhost"
DISCOVERY = f"{BASE}/cds-services"
EC_KEY = ec.generate_private_key(ec.SECP384R1())
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
UNAUTHORIZED = {
    "resourceType": "OperationOutcome",
    "issue": [{"severity": "error", "code": "login", "diagnostics": "Unauthorized"}],
}


def _jwk(key: Any, kid: str) -> dict[str, Any]:
    algo = jwt.algorithms.ECAlgorithm if kid.startswith("ec") else jwt.algorithms.RSAAlgorithm
    return {**algo.to_jwk(key.public_key(), as_dict=True), "kid": kid, "use": "sig"}


@pytest.fixture
def client(tmp_path):
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [_jwk(EC_KEY, "ec-1"), _jwk(RSA_KEY, "rsa-1")]}))
    issuers = {ISS: {"jwks_file": str(jwks), "jwks_url": JKU, "tenants": ["hospital-a"]}}
    app = create_app({"trusted_issuers": json.dumps(issuers), "cors_origins": ("*",)})
    return app.test_client()


def token(
    aud: str = DISCOVERY, key: Any = EC_KEY, alg: str = "ES384", headers=None, **claims: Any
) -> str:
    now = int(time.time())
    body = {
        "iss": ISS,
        "aud": aud,
        "iat": now,
        "exp": now + 300,
        "jti": str(uuid.uuid4()),
        "tenant": "hospital-a",
        **claims,
    }
    body = {k: v for k, v in body.items() if v is not None}
    return jwt.encode(body, key, algorithm=alg, headers={"kid": "ec-1", **(headers or {})})


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _handmade(header: dict, signature: bytes, secret: bytes | None = None) -> str:
    now = int(time.time())
    payload = {
        "iss": ISS,
        "aud": DISCOVERY,
        "iat": now,
        "exp": now + 300,
        "jti": str(uuid.uuid4()),
        "tenant": "hospital-a",
    }
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(payload).encode())}"
    if secret is not None:
        import hashlib
        import hmac

        signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def _tampered() -> str:
    head, payload, sig = token().split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["tenant"] = "hospital-b"
    return f"{head}.{_b64(json.dumps(claims).encode())}.{sig}"


def _hs256_with_public_key() -> str:
    pem = RSA_KEY.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return _handmade({"alg": "HS256", "typ": "JWT", "kid": "rsa-1"}, b"", secret=pem)


NEGATIVE = {
    "expired": lambda: token(exp=int(time.time()) - 120, iat=int(time.time()) - 600),
    "issued-in-the-future": lambda: token(iat=int(time.time()) + 600),
    "wrong-aud": lambda: token(aud=f"{BASE}/cds-services/other"),
    "unknown-iss": lambda: token(iss="https://evil.example.org"),
    "unknown-kid": lambda: token(headers={"kid": "nope"}),
    "tampered-signature": _tampered,
    "alg-none": lambda: _handmade({"alg": "none", "typ": "JWT", "kid": "ec-1"}, b""),
    "hs256-with-public-key": _hs256_with_public_key,
    "missing-kid": lambda: jwt.encode(
        {
            "iss": ISS,
            "aud": DISCOVERY,
            "iat": int(time.time()),
            "exp": int(time.time()) + 60,
            "jti": str(uuid.uuid4()),
        },
        EC_KEY,
        algorithm="ES384",
    ),
    "jku-not-configured-url": lambda: token(headers={"jku": "https://evil.example.org/k.json"}),
    "tenant-not-allowed": lambda: token(tenant="hospital-b"),
    "garbage": lambda: "not.a.jwt",
}


@pytest.mark.parametrize("case", sorted(NEGATIVE))
def test_negative_matrix_answers_401(client, case: str) -> None:
    response = client.get("/cds-services", headers={"Authorization": f"Bearer {NEGATIVE[case]()}"})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.get_json() == UNAUTHORIZED


def test_replayed_jti_is_401(client) -> None:
    headers = {"Authorization": f"Bearer {token()}"}
    assert client.get("/cds-services", headers=headers).status_code == 200
    assert client.get("/cds-services", headers=headers).status_code == 401


def test_no_token_is_401_on_every_protected_endpoint(client) -> None:
    assert client.get("/cds-services").status_code == 401
    assert client.post("/cds-services/rls-patient-view", json=request()).status_code == 401


def test_valid_es384_and_rs384(client) -> None:
    assert (
        client.get("/cds-services", headers={"Authorization": f"Bearer {token()}"}).status_code
        == 200
    )
    rs = token(key=RSA_KEY, alg="RS384", headers={"kid": "rsa-1"})
    assert client.get("/cds-services", headers={"Authorization": f"Bearer {rs}"}).status_code == 200


def test_service_call_aud_is_the_service_url(client) -> None:
    url = f"{BASE}/cds-services/rls-patient-view"
    response = client.post(
        "/cds-services/rls-patient-view",
        json=request(),
        headers={"Authorization": f"Bearer {token(aud=[url, 'x'])}"},
    )
    assert response.status_code == 200


def test_public_base_url_behind_a_proxy(tmp_path) -> None:
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [_jwk(EC_KEY, "ec-1")]}))
    app = create_app(
        {
            "trusted_issuers": json.dumps({ISS: {"jwks_file": str(jwks)}}),
            "public_base_url": "https://cds.example.org/rls",
        }
    )
    ok = token(aud="https://cds.example.org/rls/cds-services")
    client = app.test_client()
    assert client.get("/cds-services", headers={"Authorization": f"Bearer {ok}"}).status_code == 200
    internal = token(aud=DISCOVERY)
    assert (
        client.get("/cds-services", headers={"Authorization": f"Bearer {internal}"}).status_code
        == 401
    )


def test_preflight_needs_no_jwt(client) -> None:
    response = client.options(
        "/cds-services/rls-order-select",
        headers={
            "Origin": "https://sandbox.cds-hooks.org",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.headers["Access-Control-Allow-Methods"] == "GET, POST, OPTIONS"
    assert response.headers["Access-Control-Allow-Headers"] == "Authorization, Content-Type"
    assert "Access-Control-Allow-Credentials" not in response.headers


def test_cors_origin_allowlist() -> None:
    app = create_app({"require_auth": False, "cors_origins": ("https://ehr.example.org",)})
    client = app.test_client()
    allowed = client.get("/cds-services", headers={"Origin": "https://ehr.example.org"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://ehr.example.org"
    denied = client.get("/cds-services", headers={"Origin": "https://evil.example.org"})
    assert "Access-Control-Allow-Origin" not in denied.headers


def test_auth_on_without_issuers_refuses_to_start() -> None:
    from cds_service.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="no trusted issuer"):
        create_app({})


def test_token_never_reaches_the_log(client, caplog) -> None:
    caplog.set_level("DEBUG")
    bad = token(aud="https://wrong.example.org")
    client.get("/cds-services", headers={"Authorization": f"Bearer {bad}"})
    assert bad not in caplog.text and bad.split(".")[1] not in caplog.text
    assert "wrong_aud" in caplog.text or "aud" in caplog.text


def test_feedback_and_analytics_need_the_same_jwt(client) -> None:
    assert client.get("/analytics/feedback").status_code == 401
    assert client.get("/analytics/feedback.html").status_code == 401
    assert client.post("/cds-services/rls-patient-view/feedback",
                       json={"feedback": []}).status_code == 401
    ok = token(aud=f"{BASE}/analytics/feedback")
    response = client.get("/analytics/feedback", headers={"Authorization": f"Bearer {ok}"})
    assert response.status_code == 200


def test_health_and_metrics_need_no_jwt(client) -> None:
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200
    assert client.get("/metrics").status_code == 200
