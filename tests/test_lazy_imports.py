"""What a worker imports: only what its requests need (issue 17, memory per worker).

A fresh interpreter builds the app with authentication off and answers the realistic
order-select (valid resources only): fhir.resources and pydantic (the explaining validator),
PyJWT, cryptography and requests (authentication, FHIR fallback) stay unloaded. A broken
resource still gets its explanation, which loads the models then.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFERRED = ("fhir.resources", "pydantic", "jwt", "cryptography", "requests")

SCRIPT = """
import json, sys
from bench.requests import NOW, request_body
from cds_service import create_app

app = create_app({"require_auth": False, "clock": lambda: NOW, "data_dir": sys.argv[1]})
client = app.test_client()
body = request_body("order-select", 50)
first = client.post("/cds-services/rls-order-select", json=body)
loaded = {name: name in sys.modules for name in sys.argv[2].split(",")}
body["prefetch"]["patient"]["birthDate"] = "1970-02-30"  # not a calendar date
second = client.post("/cds-services/rls-order-select", json=body)
print(json.dumps({"status": [first.status_code, second.status_code], "loaded": loaded,
                  "explained": "fhir.resources" in sys.modules}))
"""


def test_valid_requests_leave_validation_models_and_auth_unloaded(tmp_path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path), ",".join(DEFERRED)],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=True,
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["status"] == [200, 200]
    assert result["loaded"] == dict.fromkeys(DEFERRED, False)
    assert result["explained"]  # the invalid Patient was explained by the R4B models


AUTH_SCRIPT = """
import json, sys
from cds_service.auth import ClientAuthenticator, TrustedIssuer

iss, aud, jwks_file, token = sys.argv[1:5]
auth = ClientAuthenticator({iss: TrustedIssuer(iss, jwks_file=jwks_file)}, clock=lambda: 1e9)
claims = auth.authenticate("Bearer " + token, aud)
print(json.dumps({"jti": claims["jti"],
                  "loaded": {name: name in sys.modules for name in ("jwt", "cryptography.x509")}}))
"""


def test_verifying_a_token_loads_neither_pyjwt_nor_x509(tmp_path) -> None:
    """The verifier is built on cryptography's hazmat layer: PyJWT (and the cryptography.x509
    it imports) is only the tests' reference."""
    import jwt
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP384R1())
    jwk = {**jwt.algorithms.ECAlgorithm.to_jwk(key.public_key(), as_dict=True), "kid": "k1"}
    jwks_file = tmp_path / "jwks.json"
    jwks_file.write_text(json.dumps({"keys": [jwk]}))
    iss, aud = "https://ehr.example.org", "https://cds.example.org/cds-services/x"
    claims = {"iss": iss, "aud": aud, "iat": 10**9, "exp": 10**9 + 60, "jti": "j1"}
    token = jwt.encode(claims, key, algorithm="ES384", headers={"kid": "k1"})
    done = subprocess.run(
        [sys.executable, "-c", AUTH_SCRIPT, iss, aud, str(jwks_file), token],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=True,
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {"jti": "j1", "loaded": {"jwt": False, "cryptography.x509": False}}
