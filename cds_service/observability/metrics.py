"""Prometheus metrics: their definitions, the helpers views call, and GET /metrics.

Under gunicorn every worker writes its samples to files in ``PROMETHEUS_MULTIPROC_DIR`` (set up
by ``cds_service.gunicorn_conf`` before any worker imports prometheus_client) and /metrics sums
them across workers. Without that variable the in-process default registry is served.

Every label value comes from a bounded set: ids are checked against a pattern, and each label
keeps at most a fixed number of distinct values, past which it reports "other".
"""

from __future__ import annotations

import hmac
import math
import os
import re
import threading
from bisect import bisect_left
from collections.abc import Callable, Collection, Iterable
from typing import Any

import flask
import orjson
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, multiprocess
from prometheus_client.exposition import choose_encoder

from cds_service.errors import operation_outcome

OTHER = "other"
NONE = "-"
_LABEL_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")

REQUESTS = Counter(
    "cds_http_requests",
    "HTTP requests answered, by CDS service id and status code.",
    ["service", "status"],
)
REQUEST_LATENCY = Histogram(
    "cds_http_request_duration_seconds",
    "Time to answer an HTTP request, by CDS service id.",
    ["service"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
CARDS = Counter("cds_cards", "Cards returned, by rule id.", ["rule_id"])
FHIR_FALLBACK_LATENCY = Histogram(
    "cds_fhir_fallback_duration_seconds",
    "Time spent fetching missing prefetch from the FHIR server, by outcome (ok, failed).",
    ["outcome"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0),
)
FHIR_FALLBACK_FAILURES = Counter(
    "cds_fhir_fallback_failures",
    "FHIR fallback fetches that failed, by reason.",
    ["reason"],
)
FEEDBACK = Counter("cds_feedback", "Feedback items received, by outcome.", ["outcome"])


class BoundedLabel:
    """Maps raw values to label values from a set of at most ``limit`` distinct values."""

    def __init__(self, limit: int, allowed: Collection[str] | None = None) -> None:
        self.limit = limit
        self.allowed = frozenset(allowed) if allowed is not None else None
        self._seen: set[str] = set()
        self._lock = threading.Lock()
        # Values already known to be their own label: one set lookup instead of the pattern.
        self._own: frozenset[str] | set[str] = (
            self._seen if allowed is None
            else frozenset(v for v in self.allowed or () if _LABEL_RE.match(v))
        )

    def __call__(self, value: object) -> str:
        """The label value for ``value``: itself when acceptable, else "other" (or "-" if None)."""
        if type(value) is str and value in self._own:
            return value
        if value is None or value == "":
            return NONE
        if not isinstance(value, str) or not _LABEL_RE.match(value):
            return OTHER
        if self.allowed is not None:
            return value if value in self.allowed else OTHER
        with self._lock:
            if value in self._seen:
                return value
            if len(self._seen) >= self.limit:
                return OTHER
            self._seen.add(value)
            return value


_service_label = BoundedLabel(limit=32)
_rule_label = BoundedLabel(limit=200)
_reason_label = BoundedLabel(limit=20)
_outcome_label = BoundedLabel(limit=10)


def set_known_services(service_ids: Collection[str]) -> None:
    """Only these service ids become ``service`` label values; any other counts as "other"."""
    global _service_label
    _service_label = BoundedLabel(limit=len(service_ids), allowed=service_ids)


def incrementer(child: Any) -> Callable[[float], None]:
    """``child.inc`` of a labelled counter without the checks it repeats on every call (label
    values given, amount not negative): its value's own ``inc``, the one that writes the sample
    (in multiprocess mode, to the worker's file). Call it with the amount."""
    value = getattr(child, "_value", None)
    inc = getattr(value, "inc", None)
    return inc if callable(inc) else child.inc


def observer(child: Any) -> Callable[[float], None]:
    """``child.observe`` of a labelled histogram (no exemplar), as two value increments: the sum,
    and the first bucket whose upper bound is at least the amount (found by bisection)."""
    bounds = getattr(child, "_upper_bounds", None)
    buckets = getattr(child, "_buckets", None)
    total = getattr(getattr(child, "_sum", None), "inc", None)
    if not (isinstance(bounds, list) and isinstance(buckets, list) and callable(total)
            and len(bounds) == len(buckets) and bounds and bounds[-1] == math.inf):
        return child.observe  # type: ignore[no-any-return]
    incs = [incrementer(bucket) for bucket in buckets]

    def observe(amount: float) -> None:
        total(amount)
        if amount == amount:  # a NaN falls in no bucket, as in Histogram.observe
            incs[bisect_left(bounds, amount)](1)

    return observe


# Labelled children's writers, made once per label value (label values are bounded, see above).
_request_children: dict[tuple[str, int], tuple[Any, Any]] = {}
_card_children: dict[str, Any] = {}


def observe_request(service: object, status: int, duration_s: float) -> None:
    """Count one answered HTTP request and its latency."""
    label = _service_label(service)
    children = _request_children.get((label, status))
    if children is None:
        children = (
            incrementer(REQUESTS.labels(service=label, status=str(int(status)))),
            observer(REQUEST_LATENCY.labels(service=label)),
        )
        _request_children[(label, status)] = children
    children[0](1)
    children[1](max(duration_s, 0.0))


def observe_cards(rule_ids: Iterable[str]) -> None:
    """Count the cards of one response, one per rule id occurrence."""
    children = _card_children
    for rule_id in rule_ids:
        label = _rule_label(rule_id)
        inc = children.get(label)
        if inc is None:
            inc = children[label] = incrementer(CARDS.labels(rule_id=label))
        inc(1)


def observe_fhir_fallback(duration_s: float, ok: bool, reason: str | None = None) -> None:
    """Record one FHIR fallback fetch; ``reason`` is a short fixed word (timeout, http_5xx...)."""
    FHIR_FALLBACK_LATENCY.labels(outcome="ok" if ok else "failed").observe(max(duration_s, 0.0))
    if not ok:
        FHIR_FALLBACK_FAILURES.labels(reason=_reason_label(reason or "unknown")).inc()


def observe_feedback(outcome: str, n: int = 1) -> None:
    """Count ``n`` feedback items with ``outcome`` (accepted, overridden)."""
    if n > 0:
        FEEDBACK.labels(outcome=_outcome_label(outcome)).inc(n)


def render_metrics(accept: str | None) -> tuple[bytes, str]:
    """The exposition body and its content type, summed over workers in multiprocess mode."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    encoder, content_type = choose_encoder(accept or "")
    return encoder(registry), content_type


def _refused() -> flask.Response:
    body = orjson.dumps(operation_outcome("GET /metrics needs the metrics bearer token", "login"))
    return flask.Response(
        body, 401, content_type="application/json", headers={"WWW-Authenticate": "Bearer"}
    )


def metrics_blueprint(token: str | None = None) -> flask.Blueprint:
    """The blueprint that serves GET /metrics; with ``token`` (CDS_METRICS_TOKEN) only to a
    scraper that sends it as a bearer token (rule ids and request counts stay off the network)."""
    bp = flask.Blueprint("observability_metrics", __name__)
    expected = f"Bearer {token}".encode() if token else None

    @bp.get("/metrics")
    def metrics() -> flask.Response:
        """Prometheus text exposition (OpenMetrics when the scraper asks for it)."""
        if expected is not None:
            sent = (flask.request.headers.get("Authorization") or "").encode("utf-8", "replace")
            if not hmac.compare_digest(sent, expected):
                return _refused()
        body, content_type = render_metrics(flask.request.headers.get("Accept"))
        return flask.Response(
            body, status=200, content_type=content_type, headers={"Cache-Control": "no-store"}
        )

    return bp
