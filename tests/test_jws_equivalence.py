"""``cds_service.auth.jws`` against PyJWT, the library it replaced in the service.

PyJWT stays a test dependency as the reference. Over many generated tokens (valid ones for
every supported algorithm, and mutations of them) the verifier gives the same outcome, claims
or ``AuthError`` reason, as a copy of its PyJWT-based code; the jws functions give the same
outcome as ``jwt.get_unverified_header`` + ``jwt.decode``; and ``parse_jwks`` returns the same
keys as a copy of its PyJWT-based version. Random choices use a fixed seed.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from cds_service.auth import (
    SUPPORTED_ALGORITHMS,
    AuthError,
    AuthUnavailable,
    ClientAuthenticator,
    TrustedIssuer,
    jws,
)
from cds_service.auth.jwks import MIN_RSA_BITS, VerificationKey, parse_jwks
from cds_service.auth.verifier import _COMPACT_JWS, _bearer_token

SEED = 20240611
ISS = "https://ehr.example.org"
AUD = "https://cds.example.org/cds-services/rls-treatment"
T0 = 1_700_000_000
ALGORITHMS = sorted(SUPPORTED_ALGORITHMS)
EC_KEY_OF = {"ES256": "p256", "ES384": "p384", "ES512": "p521"}
# The verifier's PyJWT decode options before the switch: signature only (PyJWT still ran
# verify_sub and verify_jti); time, audience and issuer are the verifier's own checks.
DECODE_OPTIONS: dict[str, Any] = {
    "verify_signature": True,
    "verify_exp": False,
    "verify_nbf": False,
    "verify_iat": False,
    "verify_aud": False,
    "verify_iss": False,
}


# --------------------------------------------------------------------------- references


class PyJWTAuthenticator(ClientAuthenticator):
    """The verifier as it was on PyJWT: ``_authenticate`` copied from before the switch."""

    def _authenticate(
        self, authorization_header: str | None, audience_url: str, issuer_out: list[str]
    ) -> dict[str, Any]:
        token = _bearer_token(authorization_header)
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise AuthError("malformed_header") from None
        alg = header.get("alg")
        if not isinstance(alg, str) or not alg:
            raise AuthError("missing_alg")
        if alg.lower() == "none" or alg.upper().startswith("HS"):
            raise AuthError("forbidden_alg")
        if alg not in self._algorithms:
            raise AuthError("alg_not_allowed")
        typ = header.get("typ")
        if not isinstance(typ, str) or typ.upper() != "JWT":
            raise AuthError("bad_typ")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise AuthError("missing_kid")
        if "crit" in header:
            raise AuthError("unsupported_crit")
        try:
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise AuthError("malformed_payload") from None
        iss = unverified.get("iss")
        if not isinstance(iss, str) or not iss:
            raise AuthError("missing_iss")
        keys = self._issuers.get(iss)
        if keys is None:
            raise AuthError("untrusted_iss")
        issuer_out.append(iss)
        keys = self._key_source(keys, header)
        key = keys.get(kid)
        if not key.allows(alg):
            raise AuthError("key_alg_mismatch")
        try:
            claims = jwt.decode(token, key.key, algorithms=[alg], options=DECODE_OPTIONS)
        except jwt.InvalidSignatureError:
            raise AuthError("bad_signature") from None
        except (jwt.PyJWTError, ValueError, TypeError):
            raise AuthError("invalid_token") from None
        exp = self._check_claims(claims, audience_url, keys.issuer)
        digest = hashlib.sha256(f"{iss}\x00{claims['jti']}".encode()).hexdigest()
        try:
            first_use = self._replay.check_and_store(digest, exp + self._leeway)
        except Exception:
            raise AuthUnavailable("replay_cache_unavailable") from None
        if not first_use:
            raise AuthError("replayed_jti")
        return claims


def pyjwt_parse_jwks(data: Any) -> dict[str, VerificationKey]:
    """``parse_jwks`` as it was on PyJWT, but for one deliberate difference (see below)."""
    if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
        raise ValueError('not a JWK Set (expected {"keys": [...]})')
    keys: dict[str, VerificationKey] = {}
    for jwk in data["keys"]:
        if not isinstance(jwk, dict):
            continue
        kid, alg = jwk.get("kid"), jwk.get("alg")
        if (
            jwk.get("kty") not in ("EC", "RSA")
            or not isinstance(kid, str)
            or not kid
            or jwk.get("use", "sig") != "sig"
            or (alg is not None and not isinstance(alg, str))
            or kid in keys
        ):
            continue
        try:
            key = jwt.PyJWK(jwk).key
        except (jwt.PyJWTError, ValueError, TypeError, KeyError):
            continue
        except NotImplementedError:
            continue  # alg "none": PyJWK raised it out of parse_jwks; now the key is skipped
        if isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
            key = key.public_key()
        if isinstance(key, rsa.RSAPublicKey) and key.key_size < MIN_RSA_BITS:
            continue
        if isinstance(key, ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
            keys[kid] = VerificationKey(kid=kid, key=key, alg=alg)
    return keys


def pyjwt_decode(token: str, key: Any) -> tuple:
    """The PyJWT calls of the old verifier, named by the reasons it gave their failures."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        return ("malformed_header",)
    try:
        jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return ("malformed_payload",)
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in SUPPORTED_ALGORITHMS:
        return ("header", canonical(header))  # the verifier stops before verification
    try:
        claims = jwt.decode(token, key, algorithms=[alg], options=DECODE_OPTIONS)
    except jwt.InvalidSignatureError:
        return ("bad_signature",)
    except (jwt.PyJWTError, ValueError, TypeError):
        return ("invalid_token",)
    return ("ok", canonical(header), canonical(claims))


def jws_decode(token: str, key: Any) -> tuple:
    """The same steps on ``cds_service.auth.jws``, as the verifier takes them."""
    try:
        parsed = jws.parse_compact(token)
    except jws.JWSError:
        return ("malformed_header",)
    try:
        claims = jws.json_object(parsed.payload)
    except jws.JWSError:
        return ("malformed_payload",)
    alg = parsed.header.get("alg")
    if not isinstance(alg, str) or alg not in SUPPORTED_ALGORITHMS:
        return ("header", canonical(parsed.header))
    try:
        valid = jws.verify_signature(alg, key, parsed.signing_input, parsed.signature)
    except (ValueError, TypeError):
        return ("invalid_token",)
    if not valid:
        return ("bad_signature",)
    if any(name in claims and not isinstance(claims[name], str) for name in ("sub", "jti")):
        return ("invalid_token",)
    return ("ok", canonical(parsed.header), canonical(claims))


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True)  # NaN != NaN: compare the text


# --------------------------------------------------------------------------- keys and tokens


@pytest.fixture(scope="module")
def keys() -> dict[str, Any]:
    """Private keys by name; ``*-x`` keys are strangers, absent from the JWK Set."""
    found: dict[str, Any] = {
        "rsa2048": rsa.generate_private_key(65537, 2048),
        "rsa3072": rsa.generate_private_key(65537, 3072),
        "rsa2048-x": rsa.generate_private_key(65537, 2048),
    }
    for name, curve in (("p256", ec.SECP256R1), ("p384", ec.SECP384R1), ("p521", ec.SECP521R1)):
        found[name] = ec.generate_private_key(curve())
        found[f"{name}-x"] = ec.generate_private_key(curve())
    return found


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def to_jwk(key: Any, **members: Any) -> dict[str, Any]:
    is_ec = isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey)
    algo = jwt.algorithms.ECAlgorithm if is_ec else jwt.algorithms.RSAAlgorithm
    return {**algo.to_jwk(key, as_dict=True), **members}


def compact(header: dict | bytes, payload: dict | bytes, key: Any, alg: str) -> str:
    """A token over arbitrary header and payload bytes, signed by PyJWT's algorithm."""
    h = header if isinstance(header, bytes) else json.dumps(header).encode()
    p = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    signing_input = f"{b64(h)}.{b64(p)}"
    signature = jwt.get_algorithm_by_name(alg).sign(signing_input.encode(), key)
    return f"{signing_input}.{b64(signature)}"


def header_variants(alg: str, kid: str, other_kid: str) -> Iterator[dict | bytes]:
    base = {"alg": alg, "typ": "JWT", "kid": kid}
    # Another allowed alg: the RSA key fits (a bad signature), the EC key's curve does not.
    other_alg = {"RS": "PS", "PS": "RS", "ES": "ES"}[alg[:2]] + ("256" if "384" in alg else "384")

    def h(**changes: Any) -> dict:
        return {k: v for k, v in {**base, **changes}.items() if v is not ...}

    yield base
    for value in (..., None, 256, "", "none", "NONE", "HS256", "ES256K", "EdDSA", other_alg, [alg]):
        yield h(alg=value)
    for value in (..., "jwt", "JOSE", 1, None):
        yield h(typ=value)
    for value in (..., "", 1, None, True, [kid], {"k": kid}, "unknown-kid", other_kid):
        yield h(kid=value)
    for crit in (["b64"], "b64", [], [1], ["exp"], ["b64", "b64"], ["b64", "x"], None, {}):
        yield h(crit=crit)
        yield h(crit=crit, b64=True)
    for b64_value in (False, 0, "false", None, True):
        yield h(b64=b64_value)
        yield h(b64=b64_value, crit=["b64"])
    yield h(jku="https://elsewhere.example.org/jwks.json")
    yield h(jku=5)
    yield h(zip="DEF", x5c=["MIIB"], cty="JWT")
    text = json.dumps(base)
    yield text.encode("utf-16")  # json.loads on bytes detects UTF-16/32, as PyJWT relied on
    yield text.encode("utf-16-le")
    yield text.encode("utf-32")
    yield b"\xef\xbb\xbf" + text.encode()
    yield f"  {text}\n".encode()
    yield f'{{"kid": 7, {text[1:]}'.encode()  # duplicate keys: the last one counts
    yield f'{text[:-1]}, "kid": 7}}'.encode()
    yield f'{text[:-1]}, "alg": "none"}}'.encode()
    yield f'{{"alg": "none", {text[1:]}'.encode()
    yield f'{text[:-1]}, "n": NaN, "i": -Infinity, "big": {10**400}}}'.encode()
    yield from (b"[]", b'["alg"]', b'"JWT"', b"1", b"null", b"true", b"{", b"{'alg': 1}")
    yield f'{text[:-1]}, "x": "\xff"}}'.encode("latin-1")  # not UTF-8
    yield f'{text[:-1]}, "x": "\\ud800"}}'.encode()  # lone surrogate escape
    yield f'{text[:-1]}, "d": {"[" * 1500}{"]" * 1500}}}'.encode()  # RecursionError


def payload_variants(jti: Iterator[str]) -> Iterator[dict | bytes]:
    def c(**changes: Any) -> dict:
        base = {"iss": ISS, "aud": AUD, "iat": T0, "exp": T0 + 300, "jti": next(jti), "sub": "c"}
        return {k: v for k, v in {**base, **changes}.items() if v is not ...}

    yield c()
    for value in (..., 1, None, True, [], {"id": "c"}, ""):
        yield c(sub=value)
    for value in (..., 1, None, "", [], "x" * 513, 1.5):
        yield c(jti=value)
    for value in (..., 1, "", "https://other.example.org", None):
        yield c(iss=value)
    nan, inf = float("nan"), float("inf")
    for claim in ("exp", "iat", "nbf"):
        for value in (..., nan, inf, -inf, 10**400, "1700000300", True, None, T0 + 300.5):
            yield c(**{claim: value})
    yield c(exp=T0 - 1000)
    yield c(iat=T0 + 1000, exp=T0 + 1100)
    yield c(exp=T0 + 100_000)
    yield c(nbf=T0 + 1000)
    for value in (..., [AUD], [], [1], AUD + "/", "https://elsewhere.example.org", 5):
        yield c(aud=value)
    yield c(tenant="t1", extra={"nested": [1, 2.5, None, True]})
    yield c(x=nan, y=-inf, z=10**400)
    text = json.dumps(c())
    yield text.encode("utf-16")
    yield b"\xef\xbb\xbf" + text.encode()
    yield f'{text[:-1]}, "jti": 5}}'.encode()  # duplicate keys: the last one counts
    yield f'{{"jti": 5, {text[1:]}'.encode()
    yield f'{{"iss": "https://other.example.org", {text[1:]}'.encode()
    yield f'{text[:-1]}, "big": {"9" * 4400}}}'.encode()  # over int's digit limit
    yield f'{text[:-1]}, "d": {"[" * 1500}{"]" * 1500}}}'.encode()
    yield from (b"[]", b'["iss"]', b'"claims"', b"42", b"null", b"{", b"{}", b'{"iss": 1')
    yield f'{text[:-1]}, "x": "\xff"}}'.encode("latin-1")


def loose_b64decode(segment: str) -> bytes:
    """A segment's bytes; nothing when an earlier mutation left it undecodable."""
    try:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except ValueError:
        return b""


def mutate(token: str, rng: random.Random, keys: dict[str, Any]) -> str:
    """One random unsigned change of a token: in its bytes, its text or its signature."""
    segments = token.split(".")
    which = rng.randrange(3)
    data = bytearray(loose_b64decode(segments[which]))
    op = rng.randrange(9)
    if op == 0 and data:  # flip a bit
        data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        segments[which] = b64(bytes(data))
    elif op in (1, 2):  # replace, insert or delete a character (some outside the alphabet)
        text = segments[which]
        at = rng.randrange(len(text) + 1)
        char = rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=!+/")
        change = rng.choice(("replace", "insert", "delete"))
        tail = text[at:] if change == "insert" else text[at + 1 :]
        segments[which] = text[:at] + ("" if change == "delete" else char) + tail
    elif op == 3:  # truncate or extend the signature
        sig = loose_b64decode(segments[2])
        sig = sig[: rng.randrange(len(sig) + 1)] if rng.random() < 0.5 else sig + b"\x00"
        segments[2] = b64(sig)
    elif op == 4:  # a signature of another length (another curve's or RSA key's)
        size = rng.choice((1, 64, 96, 132, 256, 384, 512))
        segments[2] = b64(rng.randbytes(size))
    elif op == 5:  # a DER ECDSA signature (what cryptography makes) instead of raw r || s
        signing_input = f"{segments[0]}.{segments[1]}".encode()
        der = keys["p256"].sign(signing_input, ec.ECDSA(hashes.SHA256()))
        segments[2] = b64(der)
    elif op == 6:  # r || s with s negated mod n (still a valid ECDSA signature)
        sig = loose_b64decode(segments[2])
        orders = {64: P256_N, 96: P384_N, 132: P521_N}
        if len(sig) in orders:
            size = len(sig) // 2
            s = -int.from_bytes(sig[size:], "big") % orders[len(sig)]
            segments[2] = b64(sig[:size] + s.to_bytes(size, "big"))
    elif op == 7:  # all zero bytes of the right length
        segments[2] = "A" * len(segments[2])
    else:  # swapped segments
        segments[0], segments[1] = segments[1], segments[0]
    return ".".join(segments)


# Curve orders (SEC 2), for the high-s twin of an ECDSA signature.
P256_N = int("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551", 16)
P384_N = int("F" * 48 + "C7634D81F4372DDF581A0DB248B0A77AECEC196ACCC52973", 16)
P521_N = int("1" + "F" * 65 + "A51868783BF2F966B7FCC0148F709A5D03BB5C9B8899C47AEBB6FB71E913864"
             "09", 16)


def key_names(alg: str) -> list[str]:
    """The listed keys that fit ``alg``: both RSA sizes, or the one key on its curve."""
    return [EC_KEY_OF[alg]] if alg.startswith("ES") else ["rsa2048", "rsa3072"]


def foreign_rsa_signatures(header: dict, payload: dict, key: rsa.RSAPrivateKey) -> list[str]:
    """Tokens signed with the header's hash but another RSA padding or PSS salt length."""
    hash_alg = {"256": hashes.SHA256, "384": hashes.SHA384, "512": hashes.SHA512}[header["alg"][2:]]
    paddings = [padding.PKCS1v15()] + [
        padding.PSS(mgf=padding.MGF1(hash_alg()), salt_length=salt)
        for salt in (0, hash_alg.digest_size, hash_alg.digest_size + 1, padding.PSS.MAX_LENGTH)
    ]
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}"
    return [
        f"{signing_input}.{b64(key.sign(signing_input.encode(), pad, hash_alg()))}"
        for pad in paddings
    ]


@pytest.fixture(scope="module")
def tokens(keys) -> list[tuple[str, str]]:
    """(token, kid of the key that should verify it) for every algorithm and key size."""
    rng = random.Random(SEED)
    jti = (f"jti-{n}" for n in itertools.count())
    found = []
    for alg in ALGORITHMS:
        stranger = keys["rsa2048-x" if alg[:2] in ("RS", "PS") else f"{EC_KEY_OF[alg]}-x"]
        for name in key_names(alg):
            key, header = keys[name], {"alg": alg, "typ": "JWT", "kid": name}
            made = [
                compact(header, next(payload_variants(jti)), key, alg),
                compact(header, next(payload_variants(jti)), stranger, alg),  # wrong key
            ]
            if name != "rsa3072":  # header and payload handling does not depend on key size
                other_kid = "rsa2048" if alg.startswith("ES") else "p384"
                for variant in header_variants(alg, name, other_kid):
                    made.append(compact(variant, next(payload_variants(jti)), key, alg))
                for payload in payload_variants(jti):
                    made.append(compact(header, payload, key, alg))
            if alg[:2] in ("RS", "PS"):
                made.extend(foreign_rsa_signatures(header, next(payload_variants(jti)), key))
            for _ in range(40):
                token = compact(header, next(payload_variants(jti)), key, alg)
                for _ in range(rng.choice((1, 1, 2, 3))):
                    token = mutate(token, rng, keys)
                made.append(token)
            found.extend((token, name) for token in made)
    return found


# --------------------------------------------------------------------------- tests


@pytest.fixture(scope="module")
def jwks_path(keys, tmp_path_factory) -> Path:
    path = Path(tmp_path_factory.mktemp("jwks")) / "jwks.json"
    jwks = [to_jwk(keys[name].public_key(), kid=name, use="sig")
            for name in ("rsa2048", "rsa3072", "p256", "p384", "p521")]
    jwks.append(to_jwk(keys["p384"].public_key(), kid="p384-es384", alg="ES384"))
    path.write_text(json.dumps({"keys": jwks}))
    return path


@pytest.fixture
def authenticators(jwks_path) -> tuple[ClientAuthenticator, ClientAuthenticator]:
    """Ours and the PyJWT-based one, on the same keys, clock and (separate) replay caches."""
    issuers = {ISS: TrustedIssuer(ISS, jwks_file=str(jwks_path))}
    options: dict[str, Any] = {"algorithms": ALGORITHMS, "clock": lambda: float(T0)}
    return ClientAuthenticator(issuers, **options), PyJWTAuthenticator(issuers, **options)


def outcome(auth: ClientAuthenticator, token: str) -> tuple[str, str]:
    try:
        claims = auth.authenticate(f"Bearer {token}", AUD)
    except AuthError as exc:
        return (type(exc).__name__, exc.reason)
    except OverflowError:  # exp/iat/nbf beyond float range: _is_time raises, then as now
        return ("raised", "OverflowError")
    return ("ok", canonical(claims))


def test_valid_tokens_verify_for_every_algorithm(keys, authenticators) -> None:
    ours, reference = authenticators
    for alg in ALGORITHMS:
        for name in key_names(alg) + (["p384-es384"] if alg == "ES384" else []):
            claims = {"iss": ISS, "aud": AUD, "iat": T0, "exp": T0 + 300, "jti": f"{alg}/{name}"}
            header = {"alg": alg, "typ": "JWT", "kid": name}
            token = compact(header, claims, keys[name.split("-")[0]], alg)
            assert outcome(ours, token) == outcome(reference, token) == ("ok", canonical(claims))


def test_verifier_matches_its_pyjwt_version(tokens, authenticators) -> None:
    ours, reference = authenticators
    seen, mismatches = set(), []
    for token, _kid in tokens:  # one order for both: replays count alike
        got, want = outcome(ours, token), outcome(reference, token)
        seen.add(want[1] if want[0] != "ok" else "ok")
        if got != want:
            mismatches.append((token[:80], got, want))
    assert not mismatches, f"{len(mismatches)} of {len(tokens)} differ, e.g. {mismatches[:3]}"
    assert len(tokens) > 2000
    # The mutations reach every stage of the verifier, not only the first checks.
    assert {
        "ok", "malformed_token", "malformed_header", "missing_alg", "forbidden_alg",
        "alg_not_allowed", "bad_typ", "missing_kid", "unsupported_crit", "malformed_payload",
        "missing_iss", "untrusted_iss", "unknown_kid", "key_alg_mismatch", "jku_not_allowed",
        "bad_signature", "invalid_token", "bad_exp", "expired", "missing_jti", "missing_aud",
        "wrong_aud", "replayed_jti",
    } <= set(seen)


def test_jws_functions_match_pyjwt_for_any_key(keys, tokens) -> None:
    """Below the verifier: the intended key, a stranger, a key of the other type or curve."""
    rng = random.Random(SEED + 1)
    public = {name: key.public_key() for name, key in keys.items()}
    mismatches = []
    count = 0
    for token, kid in tokens:
        if not _COMPACT_JWS.fullmatch(token):
            continue  # the verifier refuses these first (malformed_token)
        for key in (public[kid], public[rng.choice(sorted(public))]):
            count += 1
            got, want = jws_decode(token, key), pyjwt_decode(token, key)
            if got != want:
                mismatches.append((token[:80], got, want))
    assert not mismatches, f"{len(mismatches)} of {count} differ, e.g. {mismatches[:3]}"


def key_summary(keys: dict[str, VerificationKey]) -> dict[str, tuple]:
    out: dict[str, tuple] = {}
    for kid, vk in keys.items():
        assert vk.kid == kid
        if isinstance(vk.key, rsa.RSAPublicKey):
            numbers = vk.key.public_numbers()
            out[kid] = (vk.alg, "RSA", numbers.n, numbers.e)
        else:
            assert isinstance(vk.key, ec.EllipticCurvePublicKey)
            numbers = vk.key.public_numbers()
            out[kid] = (vk.alg, vk.key.curve.name, numbers.x, numbers.y)
    return out


def jwk_corpus(keys: dict[str, Any]) -> Iterator[dict[str, Any]]:
    rsa1024 = rsa.generate_private_key(65537, 1024)
    rsa_e3 = rsa.generate_private_key(3, 2048)
    k1 = ec.generate_private_key(ec.SECP256K1())
    bases = [
        to_jwk(keys["rsa2048"].public_key()), to_jwk(keys["rsa3072"].public_key()),
        to_jwk(keys["p256"].public_key()), to_jwk(keys["p384"].public_key()),
        to_jwk(keys["p521"].public_key()), to_jwk(k1.public_key()),
        to_jwk(keys["p256"]), to_jwk(keys["p521"]), to_jwk(keys["rsa2048"]),
        to_jwk(rsa1024.public_key()), to_jwk(rsa_e3.public_key()),
    ]
    for base in bases:
        yield base
        for alg in (..., "ES256", "ES384", "ES512", "ES521", "ES256K", "RS256", "PS512",
                    "HS256", "EdDSA", "none", "", "RS1", 5, None):
            yield {**base, "alg": alg} if alg is not ... else dict(base)
        for use in ("enc", "sig", None, ["sig"]):
            yield {**base, "use": use}
    p256, p384 = to_jwk(keys["p256"].public_key()), to_jwk(keys["p384"].public_key())
    x, y = (base64.urlsafe_b64decode(p256[m] + "==") for m in ("x", "y"))
    y_off = (int.from_bytes(y, "big") + 1).to_bytes(32, "big")
    for crv in ("P-384", "P-521", "secp256k1", "P-192", "p-256", "", None, ["P-256"], 256):
        yield {**p256, "crv": crv}
    yield {k: v for k, v in p256.items() if k != "crv"}
    yield {**p384, "crv": "P-256"}
    for bad in (b64(x[1:]), b64(b"\x00" + x), b64(x) + "=", b64(x)[:10] + "!" + b64(x)[10:],
                b64(x).replace("-", "+").replace("_", "/"), b64(x) + "A", b64(x) + "\u00e9",
                b64(x) + "\ud800", 7, None, [b64(x)]):  # lenient: junk ignored, but not all
        yield {**p256, "x": bad}
        yield {**p256, "y": bad}
    yield {**p256, "y": b64(y_off)}  # not on the curve
    yield {k: v for k, v in p256.items() if k != "x"}
    yield {k: v for k, v in p256.items() if k != "y"}
    ec_private = to_jwk(keys["p256"])
    other_d = to_jwk(keys["p256-x"])["d"]
    yield {**ec_private, "d": other_d}  # d of another key
    yield {**ec_private, "d": ec_private["d"][:-2]}
    yield {**ec_private, "d": None}
    d = base64.urlsafe_b64decode(ec_private["d"] + "==")
    yield {**ec_private, "d": b64(b"\x00" + d)}  # the same d, one byte too long
    yield {**ec_private, "d": b64(b"\x00" * 32)}
    rsa_private = to_jwk(keys["rsa2048"])
    rsa_public = to_jwk(keys["rsa2048"].public_key())
    yield {k: v for k, v in rsa_private.items() if k not in ("p", "q", "dp", "dq", "qi")}
    yield {k: v for k, v in rsa_private.items() if k not in ("dq",)}
    yield {**rsa_private, "oth": []}
    yield {**rsa_private, "d": to_jwk(keys["rsa2048-x"])["d"]}
    yield {**rsa_private, "p": to_jwk(keys["rsa2048-x"])["p"]}
    yield {**rsa_public, "d": to_jwk(keys["rsa2048-x"])["d"]}
    for e in (b64(b"\x01"), b64(b"\x02"), b64(b"\x03"), b64(b"\x01\x00\x00"), "", 65537, None):
        yield {**rsa_public, "e": e}
    n = base64.urlsafe_b64decode(rsa_public["n"] + "==")
    for bad_n in (b64(n[:-1] + bytes([n[-1] & 0xFE])), b64(b"\x00" + n), b64(n[1:]), "", 5):
        yield {**rsa_public, "n": bad_n}
    yield {k: v for k, v in rsa_public.items() if k != "n"}
    yield {k: v for k, v in rsa_public.items() if k != "e"}
    yield {"kty": "oct", "k": b64(b"secret" * 8)}
    yield {"kty": "OKP", "crv": "Ed25519", "x": b64(b"\x01" * 32)}
    for kty in (None, "ec", "rsa", 1, ["EC"]):
        yield {**p256, "kty": kty}
    # Random single-member changes of the valid keys above, from a fixed seed.
    rng = random.Random(SEED + 2)
    pool = [None, 1, 0, "", [], {}, True, "AQAB", "A", "AA", "AAA=", "A" * 43, "_-_-"]
    members = ["kty", "crv", "x", "y", "d", "n", "e", "p", "q", "dp", "dq", "qi", "alg", "oth"]
    for _ in range(250):
        jwk = dict(rng.choice(bases[:8]))
        member = rng.choice(members)
        change = rng.randrange(4)
        if change == 0:
            jwk.pop(member, None)
        elif change == 1:
            jwk[member] = rng.choice(pool)
        elif change == 2 and isinstance(jwk.get(member), str) and jwk[member]:
            text = jwk[member]
            at = rng.randrange(len(text))
            jwk[member] = text[:at] + rng.choice("AB_-=!") + text[at + 1 :]
        else:
            donor = rng.choice(bases)
            if member in donor:
                jwk[member] = donor[member]
        yield jwk


def test_parse_jwks_matches_its_pyjwt_version(keys) -> None:
    count = 0
    for jwk in jwk_corpus(keys):
        count += 1
        data = {"keys": [{**jwk, "kid": "k"}]}
        assert key_summary(parse_jwks(data)) == key_summary(pyjwt_parse_jwks(data)), jwk
    assert count > 400


def test_parse_jwks_sets_match_their_pyjwt_version(keys) -> None:
    good = to_jwk(keys["p256"].public_key(), kid="a")
    other = to_jwk(keys["p384"].public_key(), kid="a")
    broken = {**good, "x": "AA"}
    sets: list[Any] = [
        {"keys": [good, other]}, {"keys": [broken, other]}, {"keys": [other, broken]},
        {"keys": ["x", None, [good], good]}, {"keys": []},
        {"keys": [{**good, "kid": ""}, {**good, "kid": 1}, {k: v for k, v in good.items()
                                                            if k != "kid"}]},
    ]
    for data in sets:
        assert key_summary(parse_jwks(data)) == key_summary(pyjwt_parse_jwks(data)), data
    for not_a_set in ([good], {"keys": {}}, {"keys": None}, {}, None, "keys"):
        with pytest.raises(ValueError) as ours:
            parse_jwks(not_a_set)
        with pytest.raises(ValueError) as theirs:
            pyjwt_parse_jwks(not_a_set)
        assert str(ours.value) == str(theirs.value)


def test_alg_none_jwk_is_skipped_where_pyjwk_raised(keys) -> None:
    """The one deliberate difference: PyJWK raised NotImplementedError for an "alg": "none"
    JWK, which escaped parse_jwks (a failed key-set load); now the key is skipped."""
    jwk = to_jwk(keys["p256"].public_key(), kid="n", alg="none")
    with pytest.raises(NotImplementedError):
        jwt.PyJWK(jwk)
    good = to_jwk(keys["p384"].public_key(), kid="g")
    assert list(parse_jwks({"keys": [jwk, good]})) == ["g"]


def test_ec_signature_length_is_exact(keys) -> None:
    """r || s is exactly twice the curve size: the same r and s zero-padded never verify."""
    key = keys["p521"]
    token = compact({"alg": "ES512", "typ": "JWT", "kid": "p521"}, {"a": 1}, key, "ES512")
    parsed = jws.parse_compact(token)
    sig, public = parsed.signature, key.public_key()
    r, s = sig[:66], sig[66:]
    pyjwt_es512 = jwt.get_algorithm_by_name("ES512")
    for candidate, valid in ((sig, True), (b"\0" + r + b"\0" + s, False), (sig[:-1], False),
                             (sig + b"\0", False), (sig[1:], False)):
        assert jws.verify_signature("ES512", public, parsed.signing_input, candidate) is valid
        assert pyjwt_es512.verify(parsed.signing_input, public, candidate) is valid
