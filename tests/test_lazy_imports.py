"""What a worker imports: only what its requests need (issue 17, memory per worker).

A fresh interpreter builds the app with authentication off and answers the realistic
order-select (valid resources only): fhir.resources and pydantic (the explaining validator),
PyJWT, cryptography and requests (authentication, FHIR fallback) stay unloaded. A broken
resource still gets its explanation, which loads the models then. SQLAlchemy and Alembic (14 MB)
stay unloaded, on a new database as on a migrated one, while a worker serves hooks, verifies
tokens once each, takes feedback and writes its records; the first analytics report loads them.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFERRED = ("fhir.resources", "pydantic", "jwt", "cryptography", "requests", "sqlalchemy",
            "alembic")

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


def _migrated(data_dir: Path) -> str:
    """The service database made and migrated, as ``rls-cds serve`` does before its workers."""
    from cds_service.feedback import FeedbackStore, default_database_url

    with FeedbackStore(default_database_url(data_dir)) as store:
        store.migrate()
    return str(data_dir)


def test_valid_requests_leave_validation_models_and_auth_unloaded(tmp_path) -> None:
    """On a new data directory: the database is made from the newest revision's script."""
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


WORKER_SCRIPT = """
import json, sys, time
from bench.requests import NOW, request_body
from cds_service import create_app

app = create_app({"data_dir": sys.argv[1], "trusted_issuers": sys.argv[2]})
runtime = app.extensions["rls_cds"]
client = app.test_client()
tokens = json.loads(sys.argv[3])
def post(path, body, token):
    return client.post(path, json=body, headers={"Authorization": "Bearer " + token}).status_code
statuses = [post("/cds-services/rls-order-select", request_body("order-select", 50), tokens[0]),
            post("/cds-services/rls-order-select", request_body("order-select", 50), tokens[0])]
card = client.post("/cds-services/rls-order-select", json=request_body("order-select", 50),
                   headers={"Authorization": "Bearer " + tokens[1]}).get_json()["cards"][0]["uuid"]
feedback = {"feedback": [{"card": card, "outcome": "overridden",
                          "outcomeTimestamp": "2026-12-01T10:00:00Z"}]}
statuses.append(post("/cds-services/rls-order-select/feedback", feedback, tokens[2]))
flushed = [runtime.issued.flush(), runtime.governance.recorder.flush()]
serving = "sqlalchemy" in sys.modules or "alembic" in sys.modules
report = client.get("/analytics/feedback", headers={"Authorization": "Bearer " + tokens[3]})
overridden = sum(rule["overridden"] for rule in report.get_json()["rules"])
print(json.dumps({"statuses": statuses + [report.status_code], "flushed": flushed,
                  "loaded_while_serving": serving, "loaded_by_report": "sqlalchemy" in sys.modules,
                  "overridden": overridden}))
"""


def test_a_worker_serves_and_records_without_sqlalchemy(tmp_path) -> None:
    """Authentication on (its one-time ids in the database), a replayed token refused, feedback
    stored, issued counts and evaluation records written: all on the DB-API; the report then
    reads what they wrote with SQLAlchemy."""
    import jwt
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP384R1())
    jwk = {**jwt.algorithms.ECAlgorithm.to_jwk(key.public_key(), as_dict=True), "kid": "k1"}
    jwks_file = tmp_path / "jwks.json"
    jwks_file.write_text(json.dumps({"keys": [jwk]}))
    iss, base = "https://ehr.example.org", "http://localhost"
    paths = ["/cds-services/rls-order-select"] * 2 + [
        "/cds-services/rls-order-select/feedback", "/analytics/feedback"]
    now = int(time.time())
    tokens = [jwt.encode({"iss": iss, "aud": base + path, "iat": now, "exp": now + 300,
                          "jti": f"j{n}"}, key, algorithm="ES384", headers={"kid": "k1"})
              for n, path in enumerate(paths)]
    issuers = json.dumps({iss: {"jwks_file": str(jwks_file)}})
    done = subprocess.run(
        [sys.executable, "-c", WORKER_SCRIPT,
         _migrated(tmp_path / "data"), issuers, json.dumps(tokens)],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=True,
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {"statuses": [200, 401, 200, 200], "flushed": [True, True],
                      "loaded_while_serving": False, "loaded_by_report": True, "overridden": 1}
