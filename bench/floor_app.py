"""The framework floor: a bare Flask app that parses the request body and returns one fixed card.

Served exactly like the service (same server, workers and JSON library), it shows what Flask, the
WSGI server and JSON cost before any CDS logic runs. BENCH_JSON selects stdlib json or orjson.
"""

from __future__ import annotations

from flask import Flask, Response, request

from bench.jsonlib import module, selected
from cds_service.buffered_asgi import build as build_front

JSON = selected()
_json = module(JSON)

CARD = {
    "uuid": "0b6c1f8e-3f0a-5a55-9a51-4f7e8c2d9b10",
    "summary": "RLS with low iron stores: IV ferric carboxymaltose is the preferred iron treatment",
    "detail": "Ferritin 38 ng/mL and TSAT 14% are at or below the guideline thresholds.",
    "indicator": "warning",
    "source": {"label": "AASM 2024 RLS guideline", "url": "https://aasm.org/"},
    "links": [],
}

app = Flask(__name__)


@app.post("/cds-services/<service_id>")
def service_call(service_id: str) -> Response:
    body = _json.loads(request.get_data(cache=False))
    cards = [CARD] if isinstance(body, dict) else []
    return Response(_json.dumps({"cards": cards}), 200, mimetype="application/json")

front = build_front(app)  # served like the service's default (bench.servers "granian-front")
