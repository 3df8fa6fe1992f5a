"""The JSON library a benchmarked app uses, chosen by the BENCH_JSON environment variable.

``stdlib`` (default) is :mod:`json`; ``orjson`` is orjson behind the two calls the service makes
(``json.loads(bytes)`` and ``json.dumps(obj, separators=...)``). :func:`use_in_service` swaps the
module the service's HTTP layer (``cds_service.api``) calls, without editing the service, so the
benchmark can show what a switch to orjson would buy.
"""

from __future__ import annotations

import json
import os
from types import SimpleNamespace
from typing import Any

NAMES = ("stdlib", "orjson")


def selected() -> str:
    name = os.environ.get("BENCH_JSON", "stdlib").strip().lower() or "stdlib"
    if name not in NAMES:
        raise SystemExit(f"BENCH_JSON must be one of {NAMES}, not {name!r}")
    return name


def module(name: str | None = None) -> Any:
    """An object with ``loads`` and ``dumps`` for library ``name`` (default: BENCH_JSON)."""
    name = name or selected()
    if name == "stdlib":
        return json
    import orjson

    def dumps(obj: Any, **_ignored: Any) -> bytes:
        return orjson.dumps(obj)

    # orjson.JSONDecodeError subclasses json.JSONDecodeError, so callers' except clauses hold.
    return SimpleNamespace(loads=orjson.loads, dumps=dumps, JSONDecodeError=orjson.JSONDecodeError)


def use_in_service(name: str | None = None) -> str:
    """Point the service's request parsing and response writing at library ``name``."""
    import cds_service.api

    name = name or selected()
    cds_service.api.json = module(name)  # type: ignore[attr-defined]
    return name
