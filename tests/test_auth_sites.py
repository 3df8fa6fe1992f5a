"""Per-site JWT details (issue 13 item 7, issue 15 item 2): accepted audiences, jku allowlist,
RS384, token lifetime bound, with real tokens signed in the shapes Epic and Oracle send."""

from __future__ import annotations

import json
import logging
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
import pytest
import responses
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from cds_service.auth import AuthError, ClientAuthenticator, TrustedIssuer, parse_trusted_issuers

CLIENTS = Path(__file__).resolve().parents[1] / "fhir_fixtures" / "clients"
EPIC = json.loads((CLIENTS / "epic" / "jwt-claims.json").read_text())
ORACLE = json.loads((CLIENTS / "oracle" / "jwt-claims.json").read_text())
BASE = "https://rls-cds.example.org/cds-services"
ORDER_SELECT = f"{BASE}/rls-order-select"
PATIENT_VIEW = f"{BASE}/rls-patient-view"
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_RSA = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP384R1())


def jwks(key: Any, kid: str) -> dict[str, Any]:
    algo = jwt.algorithms.RSAAlgorithm if isinstance(key, rsa.RSAPrivateKey) else (
        jwt.algorithms.ECAlgorithm)
    return {"keys": [{**algo.to_jwk(key.public_key(), as_dict=True), "kid": kid, "use": "sig"}]}


def signed(shape: dict[str, Any], key: Any = RSA_KEY, header: dict | None = None,
           **claims: Any) -> str:
    """A token of ``shape`` (header and payload as the vendor sends them), iat/exp/nbf moved
    to now with the same offsets, a fresh jti, signed with ``key``."""
    payload = dict(shape["payload"])
    now = int(time.time())
    shift = now - payload["iat"]
    for name in ("iat", "exp", "nbf"):
        if name in payload:
            payload[name] += shift
    payload["jti"] = str(uuid.uuid4())  # one-time: every token of a test is a new one
    payload.update(claims)
    payload = {k: v for k, v in payload.items() if v is not None}
    head = {**shape["header"], **(header or {})}
    alg = head.pop("alg")
    return "Bearer " + jwt.encode(payload, key, algorithm=alg, headers=head)


def rejected(auth: ClientAuthenticator, header: str, aud: str) -> str:
    with pytest.raises(AuthError) as info:
        auth.authenticate(header, aud)
    return info.value.reason


def epic_issuer(tmp_path: Path, **site: Any) -> dict[str, TrustedIssuer]:
    keys = tmp_path / "epic.jwks.json"
    keys.write_text(json.dumps(jwks(RSA_KEY, EPIC["header"]["kid"])))
    iss = EPIC["payload"]["iss"]
    entry = {"jwks_file": str(keys), "jwks_url": EPIC["header"]["jku"], **site}
    return parse_trusted_issuers(json.dumps({iss: entry}))


def test_epic_token_as_a_site_configures_it(tmp_path: Path) -> None:
    issuers = epic_issuer(tmp_path, audiences=[BASE], max_lifetime_s=900)
    auth = ClientAuthenticator(issuers)
    claims = auth.authenticate(signed(EPIC), ORDER_SELECT)
    assert claims["aud"] == BASE and claims["exp"] - claims["iat"] == 900
    # The same base audience serves every service and feedback of this deployment.
    auth.authenticate(signed(EPIC), PATIENT_VIEW + "/feedback")
    # Typed with a trailing slash, still the same audience.
    auth.authenticate(signed(EPIC, aud=BASE + "/"), ORDER_SELECT)


def test_epic_token_without_site_settings_names_each_reason(tmp_path: Path, caplog) -> None:
    strict = ClientAuthenticator(epic_issuer(tmp_path, max_lifetime_s=900))
    with caplog.at_level(logging.INFO, logger="cds_service.auth"):
        # By default aud must be the called URL: Epic's hand-typed base URL is refused.
        assert rejected(strict, signed(EPIC), ORDER_SELECT) == "wrong_aud"
    # The service log names the reason code; no token part and no claim value except the
    # (configured) issuer.
    assert "client JWT rejected: wrong_aud" in caplog.text
    token = signed(EPIC, jti="a-jti-value")
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="cds_service.auth"):
        assert rejected(strict, token, ORDER_SELECT) == "wrong_aud"
    assert caplog.messages == [f"client JWT rejected: wrong_aud (issuer {EPIC['payload']['iss']})"]
    for secret in ("a-jti-value", BASE, EPIC["payload"]["sub"], EPIC["header"]["kid"],
                   *token[7:].split(".")):
        assert secret not in caplog.text
    # Epic's 900 s tokens exceed the default 300 s bound unless the site raises it.
    default_lifetime = ClientAuthenticator(epic_issuer(tmp_path, audiences=[BASE]))
    assert rejected(default_lifetime, signed(EPIC), ORDER_SELECT) == "lifetime_too_long"
    # Another service's URL as aud is not ours.
    assert rejected(default_lifetime, signed(EPIC, exp=int(time.time()) + 60,
                                             aud="https://other.example/cds-services"),
                    ORDER_SELECT) == "wrong_aud"


def test_epic_per_site_jku_path_is_the_only_one_allowed(tmp_path: Path) -> None:
    auth = ClientAuthenticator(epic_issuer(tmp_path, audiences=[BASE], max_lifetime_s=900))
    other = {"jku": EPIC["header"]["jku"].replace("530013/530013", "999/999")}
    assert rejected(auth, signed(EPIC, header=other), ORDER_SELECT) == "jku_not_allowed"


@responses.activate
def test_oracle_token_with_jku_allowlist_fetches_the_named_set() -> None:
    jku = ORACLE["header"]["jku"]
    second = "https://authorization.cerner.com/jwk/next"
    responses.add(responses.GET, jku, json=jwks(RSA_KEY, ORACLE["header"]["kid"]))
    responses.add(responses.GET, second, json=jwks(OTHER_RSA, "next-kid"))
    iss = ORACLE["payload"]["iss"]
    issuers = parse_trusted_issuers(json.dumps({iss: {"jku_allowlist": [jku, second]}}))
    auth = ClientAuthenticator(issuers)
    assert auth.authenticate(signed(ORACLE), PATIENT_VIEW)["iss"] == iss
    # Several URLs: each token's keys come from the jku it names.
    header = {"jku": second, "kid": "next-kid"}
    auth.authenticate(signed(ORACLE, OTHER_RSA, header=header), PATIENT_VIEW)
    # A key that is not in the named set does not verify.
    cross = {"jku": second, "kid": ORACLE["header"]["kid"]}
    assert rejected(auth, signed(ORACLE, RSA_KEY, header=cross), PATIENT_VIEW) == "unknown_kid"
    evil = {"jku": "https://authorization.cerner.com.evil.example/jwk"}
    assert rejected(auth, signed(ORACLE, header=evil), PATIENT_VIEW) == "jku_not_allowed"
    # With only an allowlist, a token that names no jku has no key source.
    no_jku = {k: v for k, v in ORACLE["header"].items() if k != "jku"}
    assert rejected(auth, signed({**ORACLE, "header": no_jku}), PATIENT_VIEW) == "missing_jku"
    # Oracle's aud is the exact service URL: another service's URL is refused.
    assert rejected(auth, signed(ORACLE), ORDER_SELECT) == "wrong_aud"
    assert sorted(call.request.url for call in responses.calls) == sorted([jku, second])


def test_es384_and_rs384_from_one_issuer(tmp_path: Path) -> None:
    keys = tmp_path / "both.json"
    keys.write_text(json.dumps({"keys": jwks(RSA_KEY, "r")["keys"] + jwks(EC_KEY, "e")["keys"]}))
    iss = ORACLE["payload"]["iss"]
    auth = ClientAuthenticator({iss: TrustedIssuer(iss, jwks_file=str(keys))})
    no_jku = {"typ": "JWT"}
    rs = {**ORACLE, "header": {**no_jku, "alg": "RS384", "kid": "r"}}
    es = {**ORACLE, "header": {**no_jku, "alg": "ES384", "kid": "e"}}
    assert jwt.get_unverified_header(signed(rs)[7:])["alg"] == "RS384"
    auth.authenticate(signed(rs), PATIENT_VIEW)
    auth.authenticate(signed(es, EC_KEY), PATIENT_VIEW)
    # An RS384 token naming the EC key is refused before any signature check.
    assert rejected(auth, signed(rs, header={"kid": "e"}), PATIENT_VIEW) == "key_alg_mismatch"


@pytest.mark.parametrize(
    ("lifetime", "issuer_max", "global_max", "reason"),
    [
        (300, None, 300, None),
        (301, None, 300, "lifetime_too_long"),
        (900, 900, 300, None),
        (901, 900, 300, "lifetime_too_long"),
        (900, None, 900, None),
        (10 * 365 * 86_400, 86_400, 300, "lifetime_too_long"),  # ten years: never
    ],
)
def test_token_lifetime_is_bounded(tmp_path: Path, lifetime: int, issuer_max: int | None,
                                   global_max: int, reason: str | None) -> None:
    site = {"audiences": [BASE]} | ({"max_lifetime_s": issuer_max} if issuer_max else {})
    auth = ClientAuthenticator(epic_issuer(tmp_path, **site), max_lifetime=global_max)
    now = int(time.time())
    token = signed(EPIC, iat=now, nbf=None, exp=now + lifetime)
    if reason is None:
        auth.authenticate(token, ORDER_SELECT)
    else:
        assert rejected(auth, token, ORDER_SELECT) == reason


def test_no_iat_is_refused_and_small_skew_allowed(tmp_path: Path) -> None:
    auth = ClientAuthenticator(epic_issuer(tmp_path, audiences=[BASE]), leeway=30)
    now = int(time.time())
    assert rejected(auth, signed(EPIC, iat=None, exp=now + 60), ORDER_SELECT) == "missing_iat"
    # The EHR's clock 20 s ahead: accepted within the 30 s skew; 60 s ahead is not.
    auth.authenticate(signed(EPIC, iat=now + 20, nbf=None, exp=now + 200), ORDER_SELECT)
    late = signed(EPIC, iat=now + 60, nbf=None, exp=now + 200)
    assert rejected(auth, late, ORDER_SELECT) == "iat_in_future"


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"jwks_url": "https://e.example/k", "audiences": []}, "non-empty list"),
        ({"jwks_url": "https://e.example/k", "audiences": [""]}, "'audiences' must be a list"),
        ({"jku_allowlist": ["http://e.example/k"]}, "'jku_allowlist' must be an absolute https"),
        ({"jwks_url": "https://e.example/k", "max_lifetime_s": 0}, "'max_lifetime_s'"),
        ({"jwks_url": "https://e.example/k", "max_lifetime_s": 86_401}, "'max_lifetime_s'"),
        ({"jwks_url": "https://e.example/k", "max_lifetime_s": "900"}, "'max_lifetime_s'"),
    ],
)
def test_site_details_are_checked_at_start(entry: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_trusted_issuers(json.dumps({"https://e.example": entry}))


def test_one_audience_string_is_a_list_of_one() -> None:
    issuers = parse_trusted_issuers(json.dumps(
        {"https://e.example": {"jwks_url": "https://e.example/k", "audiences": "rls-cds"}}))
    assert issuers["https://e.example"].audiences == ("rls-cds",)


def test_epic_token_over_http_with_the_base_audience(tmp_path: Path) -> None:
    """The whole app behind a proxy: Epic's RS384 token, aud = the typed base URL, 900 s."""
    from cds_service import create_app
    from tests.fhir_builders import request

    keys = tmp_path / "epic.jwks.json"
    keys.write_text(json.dumps(jwks(RSA_KEY, EPIC["header"]["kid"])))
    iss = EPIC["payload"]["iss"]
    site = {"jwks_file": str(keys), "jwks_url": EPIC["header"]["jku"], "audiences": [BASE],
            "max_lifetime_s": 900}
    app = create_app({"trusted_issuers": json.dumps({iss: site}), "data_dir": tmp_path,
                      "public_base_url": "https://rls-cds.example.org"})
    client = app.test_client()
    body = request("patient-view")
    ok = client.post("/cds-services/rls-patient-view", json=body,
                     headers={"Authorization": signed(EPIC)})
    assert ok.status_code == 200 and "cards" in ok.get_json()
    token = signed(EPIC)
    assert client.get("/cds-services", headers={"Authorization": token}).status_code == 200
    replay = client.get("/cds-services", headers={"Authorization": token})
    assert (replay.status_code, replay.headers["WWW-Authenticate"]) == (401, "Bearer")
    other = signed(EPIC, aud="https://other.example.org/cds-services")
    assert client.get("/cds-services", headers={"Authorization": other}).status_code == 401


def test_unreachable_key_set_is_503_json_and_logged(tmp_path: Path, caplog) -> None:
    import socket

    from cds_service import create_app

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    iss = ORACLE["payload"]["iss"]
    site = {"jwks_url": f"http://127.0.0.1:{port}/jwk"}
    app = create_app({"trusted_issuers": json.dumps({iss: site}), "data_dir": tmp_path,
                      "public_base_url": "https://rls-cds.example.org"})
    no_jku = {**ORACLE, "header": {k: v for k, v in ORACLE["header"].items() if k != "jku"}}
    with caplog.at_level(logging.INFO, logger="cds_service.auth"):
        response = app.test_client().get("/cds-services", headers={
            "Authorization": signed(no_jku, aud=BASE)})
    assert response.status_code == 503 and response.headers["Retry-After"] == "1"
    assert response.get_json()["issue"][0]["code"] == "transient"
    assert f"client JWT rejected: jwks_fetch_failed (issuer {iss})" in caplog.messages
