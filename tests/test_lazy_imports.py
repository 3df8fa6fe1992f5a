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
