"""The service as the benchmark serves it: authentication off, clock fixed at bench.requests.NOW.

``gunicorn bench.app_fixed_clock:app`` or ``granian --interface wsgi bench.app_fixed_clock:app``.
BENCH_JSON=orjson swaps the JSON library of the HTTP layer (see bench/jsonlib.py).
"""

from __future__ import annotations

from bench.jsonlib import use_in_service
from bench.requests import NOW
from cds_service.app import create_app, tune_gc
from cds_service.buffered_asgi import build as build_front

app = create_app({"require_auth": False, "clock": lambda: NOW})
tune_gc()  # as cds_service.wsgi does for the production server
JSON = use_in_service()

front = build_front(app)  # the shipped default server's front (bench.servers "granian-front")
