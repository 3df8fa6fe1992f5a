"""Routes of the governance area (under /analytics, so behind client authentication)."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from flask import Blueprint, Response, request

from cds_service.api import json_response
from cds_service.database import DatabaseError, report_errors
from cds_service.errors import BadRequest, ServiceUnavailable
from cds_service.feedback.report import parse_window_bound
from cds_service.governance.runtime import Governance

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from cds_service.governance.monitoring import FiringReport

log = logging.getLogger(__name__)
FHIR_JSON = "application/fhir+json"
HTML_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
    "X-Content-Type-Options": "nosniff",
}


def window() -> tuple[datetime | None, datetime | None]:
    """``since`` and ``until`` query parameters (ISO dates or date-times, UTC when bare)."""
    bounds = []
    for name in ("since", "until"):
        raw = request.args.get(name)
        try:
            bounds.append(parse_window_bound(raw) if raw else None)
        except ValueError:
            raise BadRequest(f"{name} must be an ISO 8601 date or date-time", name) from None
    return bounds[0], bounds[1]


def governance_blueprint(governance: Governance) -> Blueprint:
    """GET /analytics/audit-events (evaluation records as a FHIR R4 Bundle of AuditEvents),
    /analytics/firing[.html] (firing rates, ``?until=`` ends the monitored period),
    /analytics/triage (rules ranked by likely malfunction from override comments).

    The reports read with SQLAlchemy, imported by the first report a worker is asked for:
    serving hooks never loads it."""
    bp = Blueprint("governance", __name__)

    def engine() -> Engine:
        assert governance.database is not None
        return governance.database.sqlalchemy_engine()

    @bp.errorhandler(DatabaseError)
    def _storage_down(error: DatabaseError) -> Response:
        log.error("analytics storage failed: %s", error)
        unavailable = ServiceUnavailable("analytics storage is unavailable")
        return json_response(unavailable.body(), unavailable.status)

    @bp.get("/analytics/audit-events")
    def audit_events() -> Response:
        from cds_service.governance.audit import audit_bundle

        since, until = window()
        with report_errors():
            bundle = audit_bundle(engine(), since, until, request.args.get("site"))
        response = json_response(bundle)
        response.mimetype = FHIR_JSON
        return response

    def report() -> FiringReport:
        from cds_service.governance.monitoring import firing_report

        _, until = window()
        try:
            with report_errors():
                return firing_report(engine(), until, **governance.config.monitoring)
        except OverflowError:  # a period reaching before year 1
            raise BadRequest("until is out of range", "until") from None

    @bp.get("/analytics/triage")
    def override_triage() -> Response:
        from cds_service.governance.triage import triage

        since, until = window()
        with report_errors():
            ranked = triage(engine(), since, until)
        return json_response([r.as_json() for r in ranked])

    @bp.get("/analytics/firing")
    def firing() -> Response:
        return json_response(report().as_json())

    @bp.get("/analytics/firing.html")
    def firing_html() -> Response:
        from cds_service.governance.monitoring_html import render_firing_html

        return Response(render_firing_html(report()), 200, HTML_HEADERS, mimetype="text/html")

    return bp
