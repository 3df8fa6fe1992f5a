"""Helpers for the governance tests: two JWT issuers, fixture requests, a served app."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec

from cds_service import create_app

FIXTURES = Path(__file__).resolve().parents[2] / "fhir_fixtures"
ISS_A = "https://ehr.hospital-a.example"
ISS_B = "https://ehr.hospital-b.example"
KEYS = {iss: ec.generate_private_key(ec.SECP384R1()) for iss in (ISS_A, ISS_B)}
BASE = "http://localhost"


def fixture(name: str) -> tuple[dict[str, Any], datetime, str]:
    """(request body, the fixture's now, its service id)."""
    folder = FIXTURES / name
    expected = json.loads((folder / "expected.json").read_text())
    now = datetime.fromisoformat(expected["now"].replace("Z", "+00:00")).astimezone(UTC)
    return json.loads((folder / "request.json").read_text()), now, expected["service"]


def issuers_file(tmp_path: Path) -> str:
    issuers = {}
    for iss, key in KEYS.items():
        jwk = {**jwt.algorithms.ECAlgorithm.to_jwk(key.public_key(), as_dict=True),
               "kid": "k1", "use": "sig"}
        path = tmp_path / f"jwks-{len(issuers)}.json"
        path.write_text(json.dumps({"keys": [jwk]}))
        issuers[iss] = {"jwks_file": str(path), "jwks_url": iss + "/jwks.json"}
    return json.dumps(issuers)


def token(iss: str, aud: str) -> str:
    now = int(time.time())
    claims = {"iss": iss, "aud": aud, "iat": now, "exp": now + 300, "jti": str(uuid.uuid4())}
    return jwt.encode(claims, KEYS[iss], algorithm="ES384", headers={"kid": "k1"})


def served(tmp_path: Path, site_file: Path | None, now: datetime, **extra: Any) -> Any:
    """An app with both issuers trusted, the site file, a database under ``tmp_path``."""
    config = {
        "trusted_issuers": issuers_file(tmp_path), "data_dir": tmp_path / "var",
        "clock": lambda: now, "site_config": str(site_file) if site_file else None, **extra,
    }
    return create_app(config)


def call(client: Any, iss: str, path: str, body: Any = None) -> Any:
    headers = {"Authorization": f"Bearer {token(iss, BASE + path.split('?')[0])}"}
    if body is None:
        return client.get(path, headers=headers)
    return client.post(path, json=body, headers=headers)
