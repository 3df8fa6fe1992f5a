"""GET /healthz (the process answers) and GET /readyz (every readiness check passes)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

import flask

log = logging.getLogger("cds_service.observability")

#: Endpoints that must stay reachable without authentication (health, readiness, metrics).
PUBLIC_ENDPOINTS = frozenset(
    {"observability_health.healthz", "observability_health.readyz", "observability_metrics.metrics"}
)

_NO_STORE = {"Cache-Control": "no-store"}


def run_checks(checks: Mapping[str, Callable[[], bool]]) -> dict[str, bool]:
    """Run each readiness check once; an exception or a falsy result means not ready."""
    results: dict[str, bool] = {}
    for name, check in checks.items():
        try:
            results[name] = bool(check())
        except Exception as exc:  # a failing check must never fail the probe itself
            log.warning("readiness check %r raised %s", name, type(exc).__name__)
            results[name] = False
    return results


def health_blueprint() -> flask.Blueprint:
    """The blueprint that serves /healthz and /readyz."""
    bp = flask.Blueprint("observability_health", __name__)

    @bp.get("/healthz")
    def healthz() -> flask.Response:
        """Liveness: the worker can answer. Checks nothing else, so it never flaps."""
        return flask.make_response(flask.jsonify(status="ok"), 200, _NO_STORE)

    @bp.get("/readyz")
    def readyz() -> flask.Response:
        """Readiness: 200 when every check passes, else 503 naming the failing checks."""
        checks = flask.current_app.extensions["observability"]["readiness_checks"]
        results = run_checks(checks)
        failing = sorted(name for name, ok in results.items() if not ok)
        if failing:
            body = {"status": "not ready", "checks": results, "failing": failing}
            return flask.make_response(flask.jsonify(body), 503, _NO_STORE)
        body = {"status": "ready", "checks": results}
        return flask.make_response(flask.jsonify(body), 200, _NO_STORE)

    return bp
