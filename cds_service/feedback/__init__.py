"""CDS Hooks feedback: validation, durable idempotent storage, per-rule analytics and routes."""

from cds_service.database import default_database_url
from cds_service.feedback.blueprint import feedback_blueprint
from cds_service.feedback.report import (
    ReasonCount,
    RuleReport,
    parse_window_bound,
    render_report_text,
    report_as_json,
)
from cds_service.feedback.report_html import render_report_html
from cds_service.feedback.store import FeedbackStore
from cds_service.feedback.validation import (
    FeedbackError,
    FeedbackItem,
    OverrideReason,
    validate_feedback,
)

__all__ = [
    "FeedbackError",
    "FeedbackItem",
    "FeedbackStore",
    "OverrideReason",
    "ReasonCount",
    "RuleReport",
    "default_database_url",
    "feedback_blueprint",
    "parse_window_bound",
    "render_report_html",
    "render_report_text",
    "report_as_json",
    "validate_feedback",
]
