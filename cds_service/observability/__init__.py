"""Health, readiness, Prometheus metrics and JSON access logs, as one Flask extension.

The app factory calls :func:`init_observability` once; views call the ``observe_*`` helpers and
put what the access log should say about a CDS call into ``flask.g.cds_log``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping

import flask

from .access_log import ACCESS_LOGGER_NAME, init_access_log
from .health import PUBLIC_ENDPOINTS, health_blueprint
from .metrics import (
    metrics_blueprint,
    observe_cards,
    observe_feedback,
    observe_fhir_fallback,
    set_known_services,
)

__all__ = [
    "ACCESS_LOGGER_NAME",
    "PUBLIC_ENDPOINTS",
    "init_observability",
    "observe_cards",
    "observe_feedback",
    "observe_fhir_fallback",
]


def init_observability(
    app: flask.Flask,
    *,
    readiness_checks: Mapping[str, Callable[[], bool]],
    known_services: Collection[str] | None = None,
    metrics_token: str | None = None,
) -> None:
    """Add /healthz, /readyz, /metrics and the per-request JSON access log and metrics to ``app``.

    ``readiness_checks`` maps a check name ("knowledge", "store", ...) to a cheap callable that
    returns True when that part is ready; an exception counts as not ready. ``known_services``,
    when given, are the only service ids used as metric labels (others count as "other").
    """
    if "observability" in app.extensions:
        raise RuntimeError("init_observability was already called on this app")
    app.extensions["observability"] = {"readiness_checks": dict(readiness_checks)}
    if known_services is not None:
        set_known_services(known_services)
    app.register_blueprint(health_blueprint())
    app.register_blueprint(metrics_blueprint(metrics_token))
    init_access_log(app)
