"""The service as the benchmark serves it: authentication off, clock fixed at bench.requests.NOW.

``gunicorn bench.app_fixed_clock:app`` or ``granian --interface wsgi bench.app_fixed_clock:app``.
BENCH_JSON=orjson swaps the JSON library of the HTTP layer (see bench/jsonlib.py).
"""

from __future__ import annotations

from bench.jsonlib import use_in_service
from bench.requests import NOW
from cds_service import create_app

app = create_app({"require_auth": False, "clock": lambda: NOW})
JSON = use_in_service()
