"""Flask blueprint: the CDS Hooks feedback endpoint and the feedback analytics pages."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from datetime import datetime

from flask import Blueprint, Response, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from cds_service.database import DatabaseError
from cds_service.errors import operation_outcome as outcome_body
from cds_service.feedback.body import parse_feedback_body
from cds_service.feedback.report import parse_window_bound, report_as_json
from cds_service.feedback.report_html import render_report_html
from cds_service.feedback.store import FeedbackStore
from cds_service.feedback.validation import FeedbackBatch, FeedbackError, read_feedback
from cds_service.observability import observe_feedback

log = logging.getLogger(__name__)

HTML_HEADERS = {
    # frame-ancestors: no other site may frame the report (clickjacking).
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
}


def operation_outcome(
    status: int, message: str, field: str | None = None, code: str = "invalid"
) -> tuple[Response, int]:
    """A FHIR OperationOutcome-shaped JSON error response."""
    return jsonify(outcome_body(message, code, field)), status


def _none_readable(batch: FeedbackBatch) -> tuple[Response, int]:
    """400 with one OperationOutcome issue per unreadable item (nothing was stored)."""
    issues = [
        outcome_body(r.reason, "invalid", r.field)["issue"][0]
        for r in batch.rejected
    ]
    return jsonify({"resourceType": "OperationOutcome", "issue": issues}), 400


def _window() -> tuple[datetime | None, datetime | None]:
    bounds: dict[str, datetime | None] = {}
    for name in ("since", "until"):
        raw = request.args.get(name)
        try:
            bounds[name] = parse_window_bound(raw) if raw else None
        except ValueError:
            raise FeedbackError(name, "must be an ISO 8601 date or date-time") from None
    since, until = bounds["since"], bounds["until"]
    if since is not None and until is not None and since >= until:
        raise FeedbackError("until", "must be later than since")
    return since, until


def feedback_blueprint(
    store: FeedbackStore,
    known_service_ids: Callable[[], set[str]],
    rule_ids: Callable[[], list[str]],
    extra_html: Callable[[datetime | None, datetime | None], str] | None = None,
) -> Blueprint:
    """Routes: POST /cds-services/<id>/feedback, GET /analytics/feedback[.html]."""
    bp = Blueprint("feedback", __name__)

    @bp.errorhandler(FeedbackError)
    def _invalid(error: FeedbackError) -> tuple[Response, int]:
        return operation_outcome(400, error.message, error.field)

    @bp.errorhandler(DatabaseError)
    def _storage_down(error: DatabaseError) -> tuple[Response, int]:
        log.error("feedback storage failed: %s", error)
        return operation_outcome(503, "feedback storage is unavailable", code="transient")

    @bp.errorhandler(HTTPException)
    def _http(error: HTTPException) -> tuple[Response, int]:
        message = error.description or error.name
        return operation_outcome(error.code or 500, message, code="processing")

    # Epic posts to "{the service's registered URL}/feedback" (".../feedback/" is answered too).
    @bp.post("/cds-services/<service_id>/feedback", strict_slashes=False)
    def receive(service_id: str) -> tuple[Response, int]:
        if service_id not in known_service_ids():
            return operation_outcome(404, f"unknown CDS service: {service_id}", code="not-found")
        body = parse_feedback_body(request.get_data(cache=False))
        batch = read_feedback(body)
        if not batch.items:
            return _none_readable(batch)
        stored = store.record(service_id, batch.items, rule_ids())
        for outcome, count in Counter(item.outcome for item in batch.items).items():
            observe_feedback(outcome, count)
        received = len(batch.items) + len(batch.rejected)
        receipt: dict[str, object] = {"received": received, "stored": stored}
        if batch.rejected:
            log.info("feedback: %d item(s) rejected", len(batch.rejected))
            receipt["rejected"] = [rejected.as_json() for rejected in batch.rejected]
        return jsonify(receipt), 200

    @bp.get("/analytics/feedback")
    def analytics() -> tuple[Response, int]:
        since, until = _window()
        return jsonify(report_as_json(store.report(since, until), since, until)), 200

    @bp.get("/analytics/feedback.html")
    def analytics_html() -> Response:
        since, until = _window()
        extra = extra_html(since, until) if extra_html else ""  # the override triage
        runtime = current_app.extensions.get("rls_cds")
        titles = (
            {rid: rule["title"] for rid, rule in runtime.knowledge.rules.items()} if runtime else {}
        )
        page = render_report_html(store.report(since, until), since, until, titles, extra)
        return Response(page, 200, HTML_HEADERS, mimetype="text/html")

    return bp
