"""The application factory: settings, knowledge, services, the blueprint and JSON errors."""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import Flask, Response, request
from flask.sessions import NullSession, SessionInterface
from werkzeug.exceptions import HTTPException

from cds_service.api import api, json_response
from cds_service.cards.issued import IssuedCounter
from cds_service.cards.profiles import Profiles, check_profile
from cds_service.config import Settings, load_settings
from cds_service.errors import CdsError, ConfigurationError, operation_outcome
from cds_service.feedback import FeedbackStore, default_database_url, feedback_blueprint
from cds_service.fhir_access import fetcher
from cds_service.governance.blueprint import governance_blueprint
from cds_service.governance.runtime import Governance, build_governance
from cds_service.governance.site_config import SiteConfigError, load_site_config
from cds_service.hook_call import FetchMissing
from cds_service.index import index
from cds_service.knowledge import Knowledge, load_knowledge
from cds_service.observability import init_observability, observe_cards
from cds_service.registry import Service, load_services
from cds_service.security import init_auth, init_cors

log = logging.getLogger("cds_service")

HTTP_CODES = {404: "not-found", 405: "not-supported", 413: "too-costly", 415: "not-supported"}


@dataclass
class Runtime:
    """What every request needs, built once: the app's single extension object."""

    settings: Settings
    knowledge: Knowledge
    services: dict[str, Service]
    profiles: Profiles
    store: FeedbackStore | None = None
    issued: IssuedCounter | None = None
    fetch_missing: FetchMissing | None = None
    after_cards: Callable[[Iterable[str]], None] = field(default=lambda rule_ids: None)
    governance: Governance | None = None


class NoSessions(SessionInterface):
    """This service keeps no browser sessions: every request shares one NullSession, which
    refuses every write, instead of Flask's cookie check and a new NullSession per request."""

    null = NullSession()

    def open_session(self, app: Flask, request: Any) -> NullSession:
        return self.null

    def save_session(self, app: Flask, session: Any, response: Any) -> None:
        return None


class CdsFlask(Flask):
    """Flask without the per-call coroutine check (every view and hook here is synchronous)
    and without sessions (see NoSessions)."""

    session_interface = NoSessions()

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        return func


def _outcome(status: int, code: str, message: str) -> Response:
    return json_response(operation_outcome(message, code), status)


def _register_errors(app: Flask) -> None:
    @app.errorhandler(CdsError)
    def cds_error(exc: CdsError) -> Response:
        return json_response(exc.body(), exc.status)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        status = exc.code or 500
        if status == 413:
            limit = app.config["MAX_CONTENT_LENGTH"]
            message = f"The request body is larger than the limit of {limit} bytes"
        elif status == 405:
            message = f"Method {request.method} is not allowed on {request.path}"
        elif status == 404:
            message = f"No such endpoint: {request.path}; CDS services are listed at /cds-services"
        else:
            message = exc.description or exc.name
        response = _outcome(status, HTTP_CODES.get(status, "processing"), message)
        if status == 405 and getattr(exc, "valid_methods", None):
            response.headers["Allow"] = ", ".join(exc.valid_methods)  # type: ignore[attr-defined]
        return response

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Response:
        # Never a stack trace to the client; the log gets the type only (no patient data).
        log.error("unexpected error %s while handling %s", type(exc).__name__, request.path)
        return _outcome(500, "exception", "Internal error; the request was not processed")


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the WSGI app. ``config`` overrides settings (Settings field names), e.g. for tests."""
    settings = load_settings(overrides=config)
    knowledge = load_knowledge()
    runtime = Runtime(
        settings, knowledge, load_services(settings.hooks_dir), _profiles(settings, knowledge)
    )
    runtime.fetch_missing = fetcher(settings)
    app = CdsFlask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["rls_cds"] = runtime
    init_cors(app, settings)
    init_auth(app, settings)
    app.register_blueprint(api)
    app.register_blueprint(index)
    if settings.enable_console:
        from cds_service.console import console_blueprint

        app.register_blueprint(console_blueprint())
    _init_feedback(app, runtime)
    _init_governance(app, runtime)
    init_observability(
        app,
        readiness_checks=_readiness_checks(runtime),
        known_services=list(runtime.services),
        metrics_token=settings.metrics_token,
    )
    _register_errors(app)
    return app


def _profiles(settings: Settings, knowledge: Knowledge) -> Profiles:
    """The output profiles with the site's codes; ConfigurationError on a bad setting."""
    try:
        check_profile(settings.ehr_profile, "CDS_EHR_PROFILE")
        return Profiles.build(knowledge, settings.ehr_site_codes)
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from exc


def _readiness_checks(runtime: Runtime) -> dict[str, Callable[[], bool]]:
    checks: dict[str, Callable[[], bool]] = {
        "knowledge": lambda: bool(runtime.knowledge.rules) and bool(runtime.services),
    }
    if runtime.store is not None:
        checks["store"] = runtime.store.ping
    if runtime.settings.redis_url:
        from redis import Redis

        client = Redis.from_url(runtime.settings.redis_url, socket_timeout=0.5)
        checks["replay_cache"] = lambda: bool(client.ping())
    return checks


def _init_feedback(app: Flask, runtime: Runtime) -> None:
    """The durable feedback store (SQLite by default), its routes and issued-card counts."""
    settings = runtime.settings
    if settings.database_url is None:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    store = FeedbackStore(
        settings.database_url or default_database_url(settings.data_dir),
        store_comments=settings.store_feedback_comments,
    )
    store.migrate()
    runtime.store = store
    issued = IssuedCounter(store)

    def after_cards(rule_ids: Iterable[str]) -> None:
        rule_ids = list(rule_ids)
        observe_cards(rule_ids)
        issued(rule_ids)

    runtime.issued = issued
    runtime.after_cards = after_cards

    def triage_html(since: datetime | None, until: datetime | None) -> str:
        from cds_service.governance.triage import triage_section  # SQLAlchemy: reports only

        return triage_section(runtime.governance, since, until)

    app.register_blueprint(feedback_blueprint(
        store, lambda: set(runtime.services), lambda: list(runtime.knowledge.rules), triage_html))


def _init_governance(app: Flask, runtime: Runtime) -> None:
    """The site file (checked here, once), evaluation records and the monitoring routes."""
    settings = runtime.settings
    try:
        config = load_site_config(settings.site_config, runtime.knowledge.rules)
        assert runtime.store is not None  # _init_feedback comes first
        runtime.governance = build_governance(
            config, runtime.knowledge, database=runtime.store.database,
            key=settings.patient_hash_key, site_id=settings.site_id,
        )
    except SiteConfigError as exc:
        raise ConfigurationError(str(exc)) from exc
    app.register_blueprint(governance_blueprint(runtime.governance))


def tune_gc() -> None:
    """For server processes: keep start-up objects (knowledge, schemas, fhir.resources models)
    out of every collection, and collect young objects less often, since a large request body
    makes tens of thousands of short-lived containers (measured: json.loads of 1,000
    Observations costs half as much)."""
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
