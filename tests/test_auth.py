"""Client JWT authentication (conformance A1-A5)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jwt
import pytest
import requests
import responses
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from cds_service.auth import (
    AuthError,
    AuthUnavailable,
    ClientAuthenticator,
    MemoryReplayCache,
    RedisReplayCache,
    TrustedIssuer,
    build_authenticator,
    parse_algorithms,
    parse_trusted_issuers,
    sandbox_preset,
)

ISS = "https://ehr.example.org"
OTHER_ISS = "https://other-ehr.example.org"
AUD = "https://cds.example.org/cds-services/rls-treatment"
JWKS_URL = "https://ehr.example.org/.well-known/jwks.json"
EC_KID, RSA_KID, EC2_KID = "ec-1", "rsa-1", "ec-2"
T0 = 1_700_000_000.0


# --------------------------------------------------------------------------- helpers


class FakeClock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def public_jwk(key: Any, kid: str, alg: str | None) -> dict[str, Any]:
    algo = (
        jwt.algorithms.ECAlgorithm
        if isinstance(key, ec.EllipticCurvePrivateKey)
        else (jwt.algorithms.RSAAlgorithm)
    )
    jwk = algo.to_jwk(key.public_key(), as_dict=True)
    jwk.update(kid=kid, use="sig")
    if alg:
        jwk["alg"] = alg
    return jwk


def claims(now: float = T0, **overrides: Any) -> dict[str, Any]:
    base = {
        "iss": ISS,
        "aud": AUD,
        "iat": int(now),
        "exp": int(now) + 300,
        "jti": str(uuid.uuid4()),
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def sign(key: Any, alg: str = "ES384", kid: str | None = EC_KID, **claim_overrides: Any) -> str:
    headers = {"kid": kid} if kid is not None else {}
    headers.update(claim_overrides.pop("_headers", {}))
    return jwt.encode(claims(**claim_overrides), key, algorithm=alg, headers=headers)


def handmade(header: dict[str, Any], payload: dict[str, Any], signature: bytes) -> str:
    h = b64url(json.dumps(header).encode())
    p = b64url(json.dumps(payload).encode())
    return f"{h}.{p}.{b64url(signature)}"


def bearer(token: str) -> str:
    return f"Bearer {token}"


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP384R1())


@pytest.fixture(scope="session")
def ec2_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP384R1())


@pytest.fixture(scope="session")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def jwks_file(tmp_path: Path, ec_key, rsa_key) -> str:
    path = tmp_path / "ehr.jwks.json"
    keys = [public_jwk(ec_key, EC_KID, "ES384"), public_jwk(rsa_key, RSA_KID, None)]
    path.write_text(json.dumps({"keys": keys}))
    return str(path)


@pytest.fixture
def make_auth(jwks_file: str, clock: FakeClock) -> Callable[..., ClientAuthenticator]:
    def make(*, tenants=None, jwks_url=None, **kwargs: Any) -> ClientAuthenticator:
        issuers = {
            ISS: TrustedIssuer(ISS, jwks_url=jwks_url, jwks_file=jwks_file, tenants=tenants),
            OTHER_ISS: TrustedIssuer(OTHER_ISS, jwks_file=jwks_file),
        }
        kwargs.setdefault("clock", clock)
        return ClientAuthenticator(issuers, **kwargs)

    return make


@pytest.fixture
def auth(make_auth) -> ClientAuthenticator:
    return make_auth()


def reject(auth: ClientAuthenticator, header: str | None, reason: str, aud: str = AUD) -> None:
    with pytest.raises(AuthError) as info:
        auth.authenticate(header, aud)
    assert info.value.reason == reason


# --------------------------------------------------------------------------- positive


def test_es384_accepted_with_extra_claims(auth, ec_key):
    token = sign(ec_key, sub="client-123", nbf=int(T0), tenant="t1")
    got = auth.authenticate(bearer(token), AUD)
    assert got["iss"] == ISS and got["sub"] == "client-123" and got["tenant"] == "t1"


def test_rs384_accepted(auth, rsa_key):
    assert auth.authenticate(bearer(sign(rsa_key, "RS384", RSA_KID)), AUD)["aud"] == AUD


def test_aud_as_array(auth, ec_key):
    token = sign(ec_key, aud=["https://elsewhere.example.org", AUD])
    assert AUD in auth.authenticate(bearer(token), AUD)["aud"]


def test_lowercase_bearer_scheme_accepted(auth, ec_key):
    auth.authenticate(f"bearer {sign(ec_key)}", AUD)


def test_expiry_within_leeway_accepted(auth, ec_key, clock):
    token = sign(ec_key)
    clock.now = T0 + 300 + 29
    auth.authenticate(bearer(token), AUD)


def test_iat_slightly_ahead_within_leeway_accepted(auth, ec_key):
    auth.authenticate(bearer(sign(ec_key, iat=int(T0) + 20)), AUD)


def test_ps256_and_es256_by_configuration(make_auth, tmp_path, rsa_key, clock):
    p256 = ec.generate_private_key(ec.SECP256R1())
    path = tmp_path / "p256.json"
    path.write_text(
        json.dumps({"keys": [public_jwk(p256, "p256", None), public_jwk(rsa_key, RSA_KID, None)]})
    )
    auth = ClientAuthenticator(
        {ISS: TrustedIssuer(ISS, jwks_file=str(path))}, algorithms=["ES256", "PS256"], clock=clock
    )
    auth.authenticate(bearer(sign(p256, "ES256", "p256")), AUD)
    auth.authenticate(bearer(sign(rsa_key, "PS256", RSA_KID)), AUD)
    reject(auth, bearer(sign(rsa_key, "RS384", RSA_KID)), "alg_not_allowed")


def test_tenant_allowed(make_auth, ec_key):
    auth = make_auth(tenants=("clinic-a", "clinic-b"))
    assert auth.authenticate(bearer(sign(ec_key, tenant="clinic-b")), AUD)["tenant"] == "clinic-b"


def test_same_jti_from_two_issuers_is_not_a_replay(auth, ec_key):
    auth.authenticate(bearer(sign(ec_key, jti="same")), AUD)
    auth.authenticate(bearer(sign(ec_key, jti="same", iss=OTHER_ISS)), AUD)


# --------------------------------------------------------------------------- negative matrix


def _tamper_signature(token: str) -> str:
    head, payload, sig = token.split(".")
    raw = bytearray(base64.urlsafe_b64decode(sig + "=" * (-len(sig) % 4)))
    raw[10] ^= 0x01
    return f"{head}.{payload}.{b64url(bytes(raw))}"


def _tamper_payload(token: str) -> str:
    head, _, sig = token.split(".")
    return f"{head}.{b64url(json.dumps(claims(sub='admin')).encode())}.{sig}"


def _hs256_with_rsa_pem(k: dict[str, Any]) -> str:
    secret = (
        k["rsa"]
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    header = {"alg": "HS256", "typ": "JWT", "kid": RSA_KID}
    signing_input = ".".join(b64url(json.dumps(x).encode()) for x in (header, claims())).encode()
    sig = hmac.new(secret, signing_input, hashlib.sha256).digest()
    return handmade(header, claims(), sig)


NEGATIVE: list[tuple[str, Callable[[dict[str, Any]], str | None], str]] = [
    ("expired", lambda k: bearer(sign(k["ec"], exp=int(T0) - 31)), "expired"),
    ("issued_in_future", lambda k: bearer(sign(k["ec"], iat=int(T0) + 120)), "iat_in_future"),
    ("nbf_in_future", lambda k: bearer(sign(k["ec"], nbf=int(T0) + 120)), "not_yet_valid"),
    ("wrong_aud", lambda k: bearer(sign(k["ec"], aud=AUD + "/feedback")), "wrong_aud"),
    ("wrong_aud_array", lambda k: bearer(sign(k["ec"], aud=["https://x.example"])), "wrong_aud"),
    (
        "aud_prefix_only",
        lambda k: bearer(sign(k["ec"], aud="https://cds.example.org")),
        "wrong_aud",
    ),
    ("missing_aud", lambda k: bearer(sign(k["ec"], aud=None)), "missing_aud"),
    ("unknown_iss", lambda k: bearer(sign(k["ec"], iss="https://evil.example")), "untrusted_iss"),
    ("missing_iss", lambda k: bearer(sign(k["ec"], iss=None)), "missing_iss"),
    ("unknown_kid", lambda k: bearer(sign(k["ec"], kid="nope")), "unknown_kid"),
    ("missing_kid", lambda k: bearer(sign(k["ec"], kid=None)), "missing_kid"),
    ("tampered_signature", lambda k: bearer(_tamper_signature(sign(k["ec"]))), "bad_signature"),
    ("tampered_payload", lambda k: bearer(_tamper_payload(sign(k["ec"]))), "bad_signature"),
    ("signed_by_other_key", lambda k: bearer(sign(k["ec2"])), "bad_signature"),
    (
        "alg_none_unsigned",
        lambda k: bearer(handmade({"alg": "none", "typ": "JWT", "kid": EC_KID}, claims(), b"")),
        "malformed_token",
    ),
    (
        "alg_none_with_signature",
        lambda k: bearer(handmade({"alg": "none", "typ": "JWT", "kid": EC_KID}, claims(), b"x")),
        "forbidden_alg",
    ),
    (
        "alg_None_mixed_case",
        lambda k: bearer(handmade({"alg": "None", "typ": "JWT", "kid": EC_KID}, claims(), b"x")),
        "forbidden_alg",
    ),
    ("hs256_with_rsa_public_pem", lambda k: bearer(_hs256_with_rsa_pem(k)), "forbidden_alg"),
    ("alg_not_configured", lambda k: bearer(sign(k["rsa"], "RS256", RSA_KID)), "alg_not_allowed"),
    ("key_alg_mismatch", lambda k: bearer(sign(k["rsa"], "RS384", EC_KID)), "key_alg_mismatch"),
    ("missing_typ", lambda k: bearer(sign(k["ec"], _headers={"typ": None})), "bad_typ"),
    ("wrong_typ", lambda k: bearer(sign(k["ec"], _headers={"typ": "at+jwt"})), "bad_typ"),
    (
        "crit_unknown_extension",
        lambda k: bearer(sign(k["ec"], _headers={"crit": ["x-ext"], "x-ext": 1})),
        "malformed_header",
    ),
    (
        "jku_not_configured",
        lambda k: bearer(sign(k["ec"], _headers={"jku": "https://evil.example/jwks.json"})),
        "jku_not_allowed",
    ),
    ("missing_exp", lambda k: bearer(sign(k["ec"], exp=None)), "missing_exp"),
    ("exp_not_a_number", lambda k: bearer(sign(k["ec"], exp="tomorrow")), "bad_exp"),
    ("missing_iat", lambda k: bearer(sign(k["ec"], iat=None)), "missing_iat"),
    ("iat_not_a_number", lambda k: bearer(sign(k["ec"], iat=True)), "bad_iat"),
    ("exp_infinite", lambda k: bearer(sign(k["ec"], exp=1e400)), "bad_exp"),
    # an integer too large for a float (math.isfinite raised OverflowError: a 500)
    ("exp_huge_integer", lambda k: bearer(sign(k["ec"], exp=10**400)), "bad_exp"),
    ("iat_huge_integer", lambda k: bearer(sign(k["ec"], iat=-(10**400))), "bad_iat"),
    ("nbf_huge_integer", lambda k: bearer(sign(k["ec"], nbf=10**400)), "not_yet_valid"),
    ("missing_jti", lambda k: bearer(sign(k["ec"], jti=None)), "missing_jti"),
    ("missing_header", lambda k: None, "missing_authorization"),
    ("empty_header", lambda k: "", "missing_authorization"),
    ("basic_scheme", lambda k: "Basic dXNlcjpwYXNz", "not_bearer"),
    ("raw_token_without_scheme", lambda k: sign(k["ec"]), "not_bearer"),
    ("bearer_without_token", lambda k: "Bearer ", "malformed_token"),
    ("garbage_token", lambda k: "Bearer not.a.jwt!", "malformed_token"),
    ("undecodable_header", lambda k: "Bearer aaaa.bbbb.cccc", "malformed_header"),
    ("huge_token", lambda k: "Bearer " + "a" * 9000, "token_too_large"),
]


@pytest.mark.parametrize(("case", "make_header", "reason"), NEGATIVE, ids=[c[0] for c in NEGATIVE])
def test_rejected(auth, ec_key, ec2_key, rsa_key, case, make_header, reason):
    header = make_header({"ec": ec_key, "ec2": ec2_key, "rsa": rsa_key})
    reject(auth, header, reason)


def test_pyjwt_itself_refuses_hs256_with_pem(rsa_key):
    pem = rsa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with pytest.raises(jwt.InvalidKeyError):
        jwt.encode(claims(), pem, algorithm="HS256")


@pytest.mark.parametrize("alg", ["HS256", "HS384", "HS512", "none", "EdDSA", "RS1"])
def test_symmetric_none_and_unknown_algorithms_cannot_be_configured(make_auth, alg):
    with pytest.raises(ValueError, match=alg):
        make_auth(algorithms=["ES384", alg])


def test_replayed_jti(auth, ec_key):
    token = sign(ec_key)
    auth.authenticate(bearer(token), AUD)
    reject(auth, bearer(token), "replayed_jti")
    reject(
        auth,
        bearer(sign(ec_key, jti=jwt.decode(token, options={"verify_signature": False})["jti"])),
        "replayed_jti",
    )


def test_failed_token_does_not_burn_its_jti(auth, ec_key):
    reject(auth, bearer(sign(ec_key, jti="j1", aud="https://x.example")), "wrong_aud")
    auth.authenticate(bearer(sign(ec_key, jti="j1")), AUD)


def test_tenant_not_allowed(make_auth, ec_key):
    auth = make_auth(tenants=("clinic-a",))
    reject(auth, bearer(sign(ec_key, tenant="clinic-z")), "tenant_not_allowed")
    reject(auth, bearer(sign(ec_key)), "tenant_not_allowed")  # tenant required when configured


@responses.activate
def test_jku_must_equal_configured_url_and_is_never_fetched(make_auth, ec_key):
    responses.add(responses.GET, "https://evil.example/jwks.json", json={"keys": []})
    auth = make_auth(jwks_url=JWKS_URL)  # jwks_file set too: keys from the file
    evil = {"jku": "https://evil.example/jwks.json"}
    reject(auth, bearer(sign(ec_key, _headers=evil)), "jku_not_allowed")
    auth.authenticate(bearer(sign(ec_key, _headers={"jku": JWKS_URL})), AUD)
    auth.authenticate(bearer(sign(ec_key)), AUD)  # jku is optional
    assert len(responses.calls) == 0


def test_rejection_logged_at_info_without_token(auth, ec_key, caplog):
    token = sign(ec_key, aud="https://x.example")
    with caplog.at_level(logging.INFO, logger="cds_service.auth"):
        reject(auth, bearer(token), "wrong_aud")
    assert [r.levelno for r in caplog.records] == [logging.INFO]
    assert "wrong_aud" in caplog.text and ISS in caplog.text
    for part in token.split("."):
        assert part not in caplog.text


# --------------------------------------------------------------------------- remote JWKS


@pytest.fixture
def url_auth(clock) -> Callable[..., ClientAuthenticator]:
    def make(**kwargs: Any) -> ClientAuthenticator:
        kwargs.setdefault("clock", clock)
        kwargs.setdefault("jwks_min_refetch_interval", 30)
        return ClientAuthenticator(
            {ISS: TrustedIssuer(ISS, jwks_url=JWKS_URL)}, session=requests.Session(), **kwargs
        )

    return make


@responses.activate
def test_jwks_url_fetched_once_then_cached(url_auth, ec_key):
    responses.add(responses.GET, JWKS_URL, json={"keys": [public_jwk(ec_key, EC_KID, "ES384")]})
    auth = url_auth(jwks_timeout=1.5)
    auth.authenticate(bearer(sign(ec_key, _headers={"jku": JWKS_URL})), AUD)
    auth.authenticate(bearer(sign(ec_key)), AUD)
    assert len(responses.calls) == 1
    assert responses.calls[0].request.req_kwargs["timeout"] == 1.5


@responses.activate
def test_key_rotation_unknown_kid_triggers_one_refetch(url_auth, ec_key, ec2_key, clock):
    old = public_jwk(ec_key, EC_KID, "ES384")
    new = public_jwk(ec2_key, EC2_KID, "ES384")
    responses.add(responses.GET, JWKS_URL, json={"keys": [old]})
    responses.add(responses.GET, JWKS_URL, json={"keys": [old, new]})
    responses.add(responses.GET, JWKS_URL, json={"keys": [new]})
    auth = url_auth()
    auth.authenticate(bearer(sign(ec_key)), AUD)
    assert len(responses.calls) == 1

    clock.now += 31
    auth.authenticate(bearer(sign(ec2_key, kid=EC2_KID, now=clock.now)), AUD)
    assert len(responses.calls) == 2  # exactly one refetch for the new kid
    auth.authenticate(bearer(sign(ec2_key, kid=EC2_KID, now=clock.now)), AUD)
    assert len(responses.calls) == 2

    # unknown kid soon after a fetch: no hammering
    reject(auth, bearer(sign(ec2_key, kid="ghost", now=clock.now)), "unknown_kid")
    assert len(responses.calls) == 2
    # after the minimum interval: one refetch, still unknown
    clock.now += 31
    reject(auth, bearer(sign(ec2_key, kid="ghost", now=clock.now)), "unknown_kid")
    assert len(responses.calls) == 3


@responses.activate
def test_jwks_fetch_timeout_is_auth_error(url_auth, ec_key, clock):
    responses.add(responses.GET, JWKS_URL, body=requests.exceptions.ConnectTimeout())
    auth = url_auth()
    with pytest.raises(AuthError) as info:
        auth.authenticate(bearer(sign(ec_key)), AUD)
    assert isinstance(info.value, AuthUnavailable) and info.value.reason == "jwks_fetch_failed"
    reject(auth, bearer(sign(ec_key)), "jwks_unavailable")  # no retry within the interval
    assert len(responses.calls) == 1


@responses.activate
@pytest.mark.parametrize(
    "reply",
    [
        {"status": 500, "json": {}},
        {"body": "<html>"},
        {"json": {"keys": "x"}},
        {"json": {"keys": [{"kty": "oct", "kid": EC_KID, "k": "c2VjcmV0"}]}},
        {"body": b"{" + b" " * 300_000 + b"}"},
    ],
    ids=["http500", "not_json", "not_jwks", "oct_key_ignored", "too_large"],
)
def test_bad_jwks_responses_fail_closed(url_auth, ec_key, reply):
    responses.add(responses.GET, JWKS_URL, **reply)
    with pytest.raises(AuthUnavailable):
        url_auth().authenticate(bearer(sign(ec_key)), AUD)


@responses.activate
def test_stale_keys_refreshed_after_ttl_and_kept_if_refresh_fails(url_auth, ec_key, clock):
    responses.add(responses.GET, JWKS_URL, json={"keys": [public_jwk(ec_key, EC_KID, "ES384")]})
    responses.add(responses.GET, JWKS_URL, status=503)
    auth = url_auth(jwks_cache_ttl=600)
    auth.authenticate(bearer(sign(ec_key)), AUD)
    clock.now += 601
    auth.authenticate(bearer(sign(ec_key, now=clock.now)), AUD)
    assert len(responses.calls) == 2


# --------------------------------------------------------------------------- replay caches


def test_memory_replay_cache_purges_and_is_thread_safe(clock):
    cache = MemoryReplayCache(clock=clock)
    assert cache.check_and_store("a", T0 + 10)
    assert not cache.check_and_store("a", T0 + 10)
    clock.now = T0 + 11
    assert len(cache) == 0
    assert cache.check_and_store("a", T0 + 20)

    results: list[bool] = []
    threads = [
        threading.Thread(target=lambda: results.append(cache.check_and_store("b", T0 + 99)))
        for _ in range(16)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(True) == 1


def test_replay_after_expiry_is_rejected_as_expired(auth, ec_key, clock):
    token = sign(ec_key)
    auth.authenticate(bearer(token), AUD)
    clock.now = T0 + 300 + 31
    reject(auth, bearer(token), "expired")


def test_replay_cache_failure_fails_closed(make_auth, ec_key):
    import redis

    dead = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2, socket_timeout=0.2)
    auth = make_auth(replay_cache=RedisReplayCache(dead))
    with pytest.raises(AuthUnavailable) as info:
        auth.authenticate(bearer(sign(ec_key)), AUD)
    assert info.value.reason == "replay_cache_unavailable"


@pytest.fixture
def redis_client():
    redis = pytest.importorskip("redis")
    client = redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=0.5)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis not reachable on 127.0.0.1:6379 ({type(exc).__name__})")
    prefix = f"test-cds-auth:{uuid.uuid4()}:"
    yield client, prefix
    for key in client.scan_iter(match=prefix + "*"):
        client.delete(key)
    client.close()


def test_redis_replay_cache(redis_client):
    client, prefix = redis_client
    cache = RedisReplayCache(client, prefix=prefix)
    exp = time.time() + 120
    assert cache.check_and_store("k1", exp)
    assert not cache.check_and_store("k1", exp)
    assert cache.check_and_store("k2", exp)
    assert 0 < client.ttl(prefix + "k1") <= 121
    assert cache.check_and_store("past", time.time() - 5)  # stored briefly, never an error


def test_redis_replay_cache_shared_by_replicas(redis_client, make_auth, ec_key):
    client, prefix = redis_client
    now = time.time()
    replica_a = make_auth(replay_cache=RedisReplayCache(client, prefix=prefix), clock=time.time)
    replica_b = make_auth(
        replay_cache=RedisReplayCache("redis://127.0.0.1:6379/0", prefix=prefix),
        clock=time.time,
    )
    token = sign(ec_key, now=now)
    replica_a.authenticate(bearer(token), AUD)
    reject(replica_b, bearer(token), "replayed_jti")


# --------------------------------------------------------------------------- configuration


def test_parse_trusted_issuers(tmp_path):
    text = json.dumps(
        {
            ISS: {"jwks_url": JWKS_URL, "tenants": ["a", "b"], "comment": "prod EHR"},
            OTHER_ISS: {"jwks_file": "keys/other.json"},
            "http://localhost:8080": {"jwks_url": "http://localhost:8080/jwks"},
        }
    )
    got = parse_trusted_issuers(text, base_dir=tmp_path)
    assert got[ISS] == TrustedIssuer(ISS, jwks_url=JWKS_URL, tenants=("a", "b"))
    assert got[OTHER_ISS].jwks_file == str(tmp_path / "keys/other.json")
    assert parse_trusted_issuers("") == {} and parse_trusted_issuers("  {} ") == {}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[]", "expected a JSON object"),
        (json.dumps({ISS: "https://x"}), "expected an object"),
        (json.dumps({ISS: {}}), "set 'jwks_url', 'jwks_file' or 'jku_allowlist'"),
        (json.dumps({ISS: {"jwks_url": "http://ehr.example.org/jwks"}}), "https"),
        (json.dumps({ISS: {"jwks_url": "/jwks.json"}}), "https"),
        (json.dumps({ISS: {"jwks_url": 42}}), "must be a string"),
        (json.dumps({ISS: {"jwks_url": JWKS_URL, "jku": JWKS_URL}}), "unknown field"),
        (json.dumps({ISS: {"jwks_url": JWKS_URL, "tenants": "a"}}), "'tenants' must be a list"),
        (json.dumps({ISS: {"jwks_url": JWKS_URL, "tenants": []}}), "non-empty list"),
        (json.dumps({ISS: {"jwks_url": JWKS_URL, "tenants": [1]}}), "non-empty list"),
        (json.dumps({ISS: {"jwks_file": ""}}), "path string"),
        (json.dumps({" ": {"jwks_url": JWKS_URL}}), "non-empty"),
    ],
)
def test_parse_trusted_issuers_errors(text, message):
    with pytest.raises(ValueError, match=message):
        parse_trusted_issuers(text)


def test_bad_jwks_file_is_a_config_error(tmp_path):
    missing = TrustedIssuer(ISS, jwks_file=str(tmp_path / "nope.json"))
    with pytest.raises(ValueError, match="nope.json"):
        ClientAuthenticator({ISS: missing})
    only_secret = tmp_path / "oct.json"
    only_secret.write_text(json.dumps({"keys": [{"kty": "oct", "kid": "s", "k": "c2VjcmV0"}]}))
    with pytest.raises(ValueError, match="no usable"):
        ClientAuthenticator({ISS: TrustedIssuer(ISS, jwks_file=str(only_secret))})


def test_parse_algorithms():
    assert parse_algorithms(None) == ("ES384", "RS384")
    assert parse_algorithms(" ES256, PS384 ES256") == ("ES256", "PS384")
    with pytest.raises(ValueError, match="never accepted"):
        parse_algorithms("ES384,HS256")


def test_sandbox_preset_is_the_published_key():
    preset = sandbox_preset()
    issuer = preset["https://sandbox.cds-hooks.org"]
    assert issuer.jwks_url == "https://sandbox.cds-hooks.org/.well-known/jwks.json"
    jwks = json.loads(Path(issuer.jwks_file).read_text())
    (key,) = jwks["keys"]
    assert "d" not in key and key["crv"] == "P-384"
    assert key["kid"] == "44823f3d-0b01-4a6c-a80e-b9d3e8a7226f"


def test_sandbox_style_token_reaches_signature_check(ec_key):
    # Same header as the sandbox sends; signed with our key, so only the signature fails.
    auth = ClientAuthenticator(sandbox_preset(), clock=FakeClock())
    token = sign(
        ec_key,
        kid="44823f3d-0b01-4a6c-a80e-b9d3e8a7226f",
        iss="https://sandbox.cds-hooks.org",
        _headers={"jku": "https://sandbox.cds-hooks.org/.well-known/jwks.json"},
    )
    reject(auth, bearer(token), "bad_signature")


def test_build_authenticator(jwks_file):
    settings = dict(algorithms=("ES384",), leeway=10, redis_url=None, jwks_timeout=2.0)
    issuers = json.dumps({ISS: {"jwks_file": jwks_file}})
    auth = build_authenticator(issuers_json=issuers, trust_sandbox=True, **settings)
    assert isinstance(auth, ClientAuthenticator)
    with pytest.raises(ValueError, match="no trusted issuer"):
        build_authenticator(**settings)
    with pytest.raises(ValueError, match="leeway"):
        build_authenticator(issuers_json=issuers, **{**settings, "leeway": 3600})
