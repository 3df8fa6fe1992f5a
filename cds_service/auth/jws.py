"""Compact JWS verification and JWK parsing on cryptography's hazmat layer alone.

Replaces PyJWT in the service: PyJWT's ``jwt.algorithms`` imports ``cryptography.x509``, which
a worker never needs. Each rule below mirrors what PyJWT 2.15 did for the verifier, so the
same tokens and JWK Sets are accepted and refused (``tests/test_jws_equivalence.py`` checks it).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

PublicKey = ec.EllipticCurvePublicKey | rsa.RSAPublicKey

_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "256": hashes.SHA256, "384": hashes.SHA384, "512": hashes.SHA512,
}
_ALG_CURVES: dict[str, type[ec.EllipticCurve]] = {
    "ES256": ec.SECP256R1, "ES384": ec.SECP384R1, "ES512": ec.SECP521R1,
}
# JWK crv -> (curve, coordinate length in bytes), as PyJWT's ECAlgorithm.from_jwk accepts them.
_JWK_CURVES: dict[str, tuple[type[ec.EllipticCurve], int]] = {
    "P-256": (ec.SECP256R1, 32),
    "P-384": (ec.SECP384R1, 48),
    "P-521": (ec.SECP521R1, 66),
    "secp256k1": (ec.SECP256K1, 32),
}
# A JWK's alg picks which key type PyJWK built from it: an RSA alg on an EC JWK failed, and so
# did an alg it did not know ("none" raised NotImplementedError out of parse_jwks; now skipped).
_JWK_ALG_KTY = {
    **dict.fromkeys(("ES256", "ES256K", "ES384", "ES521", "ES512"), "EC"),
    **dict.fromkeys(("RS256", "RS384", "RS512", "PS256", "PS384", "PS512"), "RSA"),
}
_RSA_CRT = ("p", "q", "dp", "dq", "qi")


class JWSError(ValueError):
    """A token segment or JWK that cannot be decoded (the message never echoes the input)."""


@dataclass(frozen=True)
class CompactJWS:
    """A decoded, not yet verified ``header.payload.signature``."""

    header: dict[str, Any]
    payload: bytes
    signing_input: bytes
    signature: bytes


def b64url_decode(data: str | bytes, *, canonical: bool = False) -> bytes:
    """Decode unpadded base64url.

    ``canonical`` (token segments): ``data`` must be the one unpadded encoding of the bytes,
    so alphabet characters only and no stray trailing bits, as PyJWT required (it also took
    ``=`` padding, which the verifier's token pattern never lets through). Otherwise (JWK
    members) PyJWT's lenient ``base64url_decode``: padding added, other characters ignored.
    """
    raw = data.encode() if isinstance(data, str) else data
    if not isinstance(raw, bytes):
        raise TypeError("base64url data must be str or bytes")
    try:
        decoded = base64.urlsafe_b64decode(raw + b"=" * (-len(raw) % 4))
    except binascii.Error:  # length % 4 == 1
        raise JWSError("invalid base64url") from None
    if canonical and base64.urlsafe_b64encode(decoded).rstrip(b"=") != raw:
        raise JWSError("invalid base64url")
    return decoded


def json_object(data: bytes) -> dict[str, Any]:
    """A JSON object from a decoded segment.

    The stdlib ``json.loads`` on bytes, as PyJWT used: the same UTF-8/16/32 detection, NaN,
    duplicate-key and big-integer handling.
    """
    try:
        value = json.loads(data)
    except (ValueError, RecursionError):
        raise JWSError("invalid JSON") from None
    if not isinstance(value, dict):
        raise JWSError("not a JSON object")
    return value


def parse_compact(token: str) -> CompactJWS:
    """Split and decode a compact JWS without verifying it (PyJWT's ``get_unverified_header``).

    Refused: not three canonical base64url segments, a header that is not a JSON object,
    ``b64: false`` (RFC 7797 payloads; PyJWT wanted them detached), a non-string ``kid``, a
    ``crit`` that PyJWT would not understand.
    """
    segments = token.split(".")
    if len(segments) != 3:
        raise JWSError("not a compact JWS")
    header = json_object(b64url_decode(segments[0], canonical=True))
    if header.get("b64", True) is False:
        raise JWSError("unencoded payload")
    payload = b64url_decode(segments[1], canonical=True)
    signature = b64url_decode(segments[2], canonical=True)
    if "kid" in header and not isinstance(header["kid"], str):
        raise JWSError("kid is not a string")
    if "crit" in header:
        crit = header["crit"]
        # PyJWT understood only b64, and only when the header carries it.
        if not isinstance(crit, list) or not crit or "b64" not in header or any(
            ext != "b64" for ext in crit
        ):
            raise JWSError("unsupported crit")
    return CompactJWS(header, payload, f"{segments[0]}.{segments[1]}".encode(), signature)


def verify_signature(alg: str, key: PublicKey, signing_input: bytes, signature: bytes) -> bool:
    """True when ``signature`` is a valid ``alg`` signature of ``signing_input`` by ``key``.

    A key that does not fit ``alg`` raises ``TypeError``/``JWSError`` (PyJWT's ``prepare_key``
    did) rather than returning False.
    """
    family, hash_alg = alg[:2], _HASHES.get(alg[2:])
    if family not in ("ES", "RS", "PS") or hash_alg is None:
        raise JWSError("unsupported algorithm")
    try:
        if family == "ES":
            if not isinstance(key, ec.EllipticCurvePublicKey):
                raise TypeError("not an EC key")
            if not isinstance(key.curve, _ALG_CURVES[alg]):
                raise JWSError("key curve does not fit the algorithm")
            # JWS carries raw r || s, each exactly as long as the curve order (RFC 7518 3.4).
            size = (key.curve.key_size + 7) // 8
            if len(signature) != 2 * size:
                return False
            r = int.from_bytes(signature[:size], "big")
            s = int.from_bytes(signature[size:], "big")
            key.verify(encode_dss_signature(r, s), signing_input, ec.ECDSA(hash_alg()))
        else:
            if not isinstance(key, rsa.RSAPublicKey):
                raise TypeError("not an RSA key")
            pad: padding.AsymmetricPadding = (
                padding.PKCS1v15()
                if family == "RS"
                # RFC 7518 3.5: the salt is as long as the digest.
                else padding.PSS(mgf=padding.MGF1(hash_alg()), salt_length=hash_alg.digest_size)
            )
            key.verify(signature, signing_input, pad, hash_alg())
    except InvalidSignature:
        return False
    return True


def public_key_from_jwk(jwk: dict[str, Any]) -> PublicKey:
    """The public key of an EC or RSA JWK, validated as PyJWT's ``PyJWK`` did.

    Private members are checked (an inconsistent private JWK is refused, as PyJWK refused it)
    and then dropped. Raises ``ValueError`` (often ``JWSError``) or ``TypeError``.
    """
    kty, alg = jwk.get("kty"), jwk.get("alg")
    if kty not in ("EC", "RSA") or (alg and _JWK_ALG_KTY.get(alg) != kty):
        raise JWSError("not a usable EC or RSA JWK")
    return _ec_from_jwk(jwk) if kty == "EC" else _rsa_from_jwk(jwk)


def _ec_from_jwk(jwk: dict[str, Any]) -> ec.EllipticCurvePublicKey:
    if "x" not in jwk or "y" not in jwk:
        raise JWSError("EC JWK without x and y")
    x, y = b64url_decode(jwk["x"]), b64url_decode(jwk["y"])
    crv = jwk.get("crv")
    curve, size = _JWK_CURVES.get(crv, (None, 0)) if isinstance(crv, str) else (None, 0)
    if curve is None or len(x) != size or len(y) != size:
        raise JWSError("EC JWK with an unsupported curve or coordinates of the wrong length")
    public = ec.EllipticCurvePublicNumbers(
        int.from_bytes(x, "big"), int.from_bytes(y, "big"), curve()
    )
    if "d" not in jwk:
        return public.public_key()  # refuses a point that is not on the curve
    d = b64url_decode(jwk["d"])
    if len(d) != len(x):
        raise JWSError("EC JWK with d of the wrong length")
    private = ec.EllipticCurvePrivateNumbers(int.from_bytes(d, "big"), public).private_key()
    return private.public_key()  # building it checked that d matches x and y, as PyJWK did


def _rsa_from_jwk(jwk: dict[str, Any]) -> rsa.RSAPublicKey:
    if "d" in jwk and "e" in jwk and "n" in jwk:
        if "oth" in jwk:
            raise JWSError("RSA JWK with more than two primes")
        crt = [name in jwk for name in _RSA_CRT]
        if any(crt) and not all(crt):
            raise JWSError("RSA JWK with some CRT members only")
        public = rsa.RSAPublicNumbers(_uint(jwk["e"]), _uint(jwk["n"]))
        d = _uint(jwk["d"])
        if all(crt):
            p, q, dp, dq, qi = (_uint(jwk[name]) for name in _RSA_CRT)
        else:
            p, q = rsa.rsa_recover_prime_factors(public.n, public.e, d)
            dp, dq, qi = rsa.rsa_crt_dmp1(d, p), rsa.rsa_crt_dmq1(d, q), rsa.rsa_crt_iqmp(p, q)
        # Building the private key validates it, as PyJWK did; only its public half is kept.
        private = rsa.RSAPrivateNumbers(p, q, d, dp, dq, qi, public).private_key()
        return private.public_key()
    if "n" in jwk and "e" in jwk:
        return rsa.RSAPublicNumbers(_uint(jwk["e"]), _uint(jwk["n"])).public_key()
    raise JWSError("RSA JWK without n and e")


def _uint(value: str | bytes) -> int:
    return int.from_bytes(b64url_decode(value), "big")
