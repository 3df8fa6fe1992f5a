"""Routes of the governance area (under /analytics, so behind client authentication)."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, Response, request

from cds_service.api import json_response
from cds_service.errors import BadRequest
from cds_service.feedback.report import parse_window_bound
from cds_service.governance.audit import audit_bundle
from cds_service.governance.runtime import Governance

FHIR_JSON = "application/fhir+json"


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
    """GET /analytics/audit-events: evaluation records as a FHIR R4 Bundle of AuditEvents."""
    bp = Blueprint("governance", __name__)

    @bp.get("/analytics/audit-events")
    def audit_events() -> Response:
        since, until = window()
        assert governance.engine is not None
        bundle = audit_bundle(governance.engine, since, until, request.args.get("site"))
        response = json_response(bundle)
        response.mimetype = FHIR_JSON
        return response

    return bp
