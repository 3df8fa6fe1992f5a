"""Every client's requests replayed against ``rls-cds serve`` as users run it: real gunicorn
workers, client JWT verification on, each token signed in the shape that client signs it, the
output profile chosen by the verified issuer, and every answer linted against that client's
documented constraints.

The captured requests are dated; here every date in them is moved by the same number of days so
that "10 days before today" stays true on any day the suite runs.
"""

from __future__ import annotations

import json
import re
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from cds_service.cards.profiles.lint import lint
from tests.deploy.support import free_port, python_path_env, running, venv_executable, wait_for_http

from .fake_fhir import serve_captured
from .support import CLIENTS, rule_pairs

CAPTURED_ON = date(2026, 12, 2)
DATE = re.compile(r'"(\d{4}-\d{2}-\d{2})')
EC_KEY = ec.generate_private_key(ec.SECP384R1())
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EPIC_CLAIMS = json.loads((CLIENTS / "epic/jwt-claims.json").read_text(encoding="utf-8"))
ORACLE_CLAIMS = json.loads((CLIENTS / "oracle/jwt-claims.json").read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Client:
    """How one EHR signs its calls (header and claims as documented), and its profile."""

    iss: str
    alg: str
    kid: str
    key: Any
    profile: str
    jku: str | None = None
    lifetime: int = 300
    base_audience: bool = False  # Epic: the aud a site typed, the base URL
    extra: tuple[tuple[str, str], ...] = ()

    def token(self, url: str, base: str) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.iss,
            "aud": f"{base}/cds-services" if self.base_audience else url,
            "iat": now,
            "exp": now + self.lifetime,
            "jti": str(uuid.uuid4()),
            **dict(self.extra),
        }
        if self.base_audience:
            claims["nbf"] = now - 300
        headers = {"kid": self.kid, "typ": "JWT", **({"jku": self.jku} if self.jku else {})}
        return jwt.encode(claims, self.key, algorithm=self.alg, headers=headers)


SANDBOX = Client("https://sandbox.example.test", "ES384", "sandbox-ec", EC_KEY, "sandbox",
                 jku="https://sandbox.example.test/.well-known/jwks.json")
EPIC = Client(EPIC_CLAIMS["payload"]["iss"], "RS384", EPIC_CLAIMS["header"]["kid"], RSA_KEY,
              "epic", jku=EPIC_CLAIMS["header"]["jku"], lifetime=900, base_audience=True,
              extra=(("sub", EPIC_CLAIMS["payload"]["sub"]),))
ORACLE = Client(ORACLE_CLAIMS["payload"]["iss"], "RS384", ORACLE_CLAIMS["header"]["kid"],
                RSA_KEY, "oracle", jku=ORACLE_CLAIMS["header"]["jku"])


def _shifted(name: str) -> dict[str, Any]:
    """The request with every date moved so that its capture day is today."""
    days = (datetime.now(UTC).date() - CAPTURED_ON).days
    text = (CLIENTS / name).read_text(encoding="utf-8")

    def move(match: re.Match[str]) -> str:
        return '"' + (date.fromisoformat(match.group(1)) + timedelta(days=days)).isoformat()

    return json.loads(DATE.sub(move, text))


def _jwk(client: Client) -> dict[str, Any]:
    rsa_or_ec = client.alg.startswith("RS")
    algo = jwt.algorithms.RSAAlgorithm if rsa_or_ec else jwt.algorithms.ECAlgorithm
    return {**algo.to_jwk(client.key.public_key(), as_dict=True), "kid": client.kid, "use": "sig"}


@dataclass(frozen=True)
class Served:
    base: str
    oracle_fhir: str


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    exe = venv_executable("rls-cds")
    if exe is None:
        pytest.skip("rls-cds is not installed in this environment")
    tmp = tmp_path_factory.mktemp("served")
    jwks = tmp / "jwks.json"
    jwks.write_text(json.dumps({"keys": [_jwk(c) for c in (SANDBOX, EPIC, ORACLE)]}))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    issuers = {
        c.iss: {"jwks_file": str(jwks), "jku_allowlist": [c.jku], "profile": c.profile}
        for c in (SANDBOX, EPIC, ORACLE)
    }
    issuers[EPIC.iss] |= {"audiences": [f"{base}/cds-services"], "max_lifetime_s": 900}
    with serve_captured(CLIENTS / "oracle/fhir-server-data.json") as (fhir_base, _):
        env = python_path_env({
            "CDS_TRUSTED_ISSUERS": json.dumps(issuers),
            "CDS_WORKERS": "2",
            "CDS_DATA_DIR": str(tmp / "var"),
            "CDS_FHIR_SERVER_ALLOWLIST": fhir_base,
            "CDS_FHIR_ALLOW_HTTP": "true",
        })
        env.pop("CDS_REDIS_URL", None)
        env.pop("CDS_DATABASE_URL", None)
        with running([str(exe), "serve", "--port", str(port)], env, tmp) as proc:
            wait_for_http(f"{base}/healthz", proc)
            yield Served(base, fhir_base)


def _call(served: Served, client: Client, service: str, body: dict[str, Any]) -> dict[str, Any]:
    url = f"{served.base}/cds-services/{service}"
    req = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "Accept": "application/json",
                 "Authorization": f"Bearer {client.token(url, served.base)}"},
    )
    with urllib.request.urlopen(req, timeout=10) as response:
        assert response.status == 200
        return json.loads(response.read())


THREE = [["dopamine-agonist-against", "warning"], ["iv-iron-indicated", "info"],
         ["alpha2delta-first-line", "info"]]
CASES = [
    (SANDBOX, "sandbox/order-select-pramipexole.json", "rls-order-select", THREE),
    (SANDBOX, "sandbox/order-select-pramipexole-with-reason.json", "rls-order-select", THREE),
    (SANDBOX, "sandbox/order-sign-pramipexole.json", "rls-order-sign", THREE),
    (SANDBOX, "sandbox/patient-view.json", "rls-patient-view",
     [["augmentation-risk-active-da", "warning"], ["iv-iron-indicated", "info"]]),
    (EPIC, "epic/patient-view.json", "rls-patient-view", [["iv-iron-indicated", "info"]]),
    (EPIC, "epic/order-select.json", "rls-order-select", THREE),
    (EPIC, "epic/order-sign.json", "rls-order-sign", THREE),
    (ORACLE, "oracle/patient-view.json", "rls-patient-view", [["iv-iron-indicated", "info"]]),
]


@pytest.mark.parametrize(("client", "name", "service", "expected"), CASES,
                         ids=[case[1] for case in CASES])
def test_client_request_served(
    served: Served, client: Client, name: str, service: str, expected: list
) -> None:
    body = _shifted(name)
    if client is ORACLE:
        body["fhirServer"] = served.oracle_fhir  # the tenant's FHIR base, on loopback
    answer = _call(served, client, service, body)
    assert rule_pairs(answer) == expected
    assert lint(answer, client.profile) == []


def test_each_client_gets_its_profile(served: Served) -> None:
    """The same request, by issuer: Epic's topic codes are letters and digits only, the
    Sandbox's replace suggestions create before they delete."""
    body = _shifted("sandbox/order-select-pramipexole.json")
    sandbox = _call(served, SANDBOX, "rls-order-select", body)
    epic = _call(served, EPIC, "rls-order-select", body)
    assert [c["source"]["topic"]["code"] for c in epic["cards"]] == [
        "dopamineagonistagainst", "ivironindicated", "alpha2deltafirstline"
    ]
    assert {c.get("selectionBehavior") for c in epic["cards"] if "suggestions" in c} == {"any"}
    agonist = next(c for c in sandbox["cards"]
                   if c["source"]["topic"]["code"] == "dopamine-agonist-against")
    replace = [s for s in agonist["suggestions"] if len(s["actions"]) == 2]
    assert replace and all([a["type"] for a in s["actions"]] == ["create", "delete"]
                           for s in replace)


def test_oracle_discovery_lists_only_patient_view(served: Served) -> None:
    url = f"{served.base}/cds-services"
    req = urllib.request.Request(
        url, headers={"Authorization": f"Bearer {ORACLE.token(url, served.base)}"}
    )
    with urllib.request.urlopen(req, timeout=10) as response:
        services = json.loads(response.read())["services"]
    assert [s["hook"] for s in services] == ["patient-view"]
