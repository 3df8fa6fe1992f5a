"""The human-facing pages: the console (``/console``) and the clinical review (``/review``).

Register only when ``CDS_ENABLE_CONSOLE=true``. Every response under these paths carries a
strict Content-Security-Policy: the pages use no inline script or style, so none is allowed.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, abort, current_app, render_template, request

from cds_service.api import json_response, read_json_body
from cds_service.cards.profiles import PROFILES
from cds_service.config import REPO_ROOT
from cds_service.console.markdown import render_markdown, safe_url
from cds_service.console.review import build_review
from cds_service.console.scenarios import list_scenarios, read_scenario
from cds_service.errors import BadRequest
from cds_service.fhir.dates import parse_fhir_datetime
from cds_service.governance.review_modes import site_modes_view
from cds_service.hook_call import call_service

DEFAULT_FIXTURES_DIR = REPO_ROOT / "fhir_fixtures"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
PAGE_PREFIXES = ("/console", "/review")
INDICATOR_LABELS = {"info": "Info", "warning": "Warning", "critical": "Critical"}


def _runtime() -> Any:
    return current_app.extensions["rls_cds"]


def _is_page_path(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in PAGE_PREFIXES)


def _json_file(path: Path) -> Response:
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        abort(404)
    return json_response(payload)


def console_blueprint(fixtures_dir: Path = DEFAULT_FIXTURES_DIR) -> Blueprint:
    """The console and review pages, reading fixture scenarios from ``fixtures_dir``.

    ``app.config["CONSOLE_FIXTURES_DIR"]``, when set, takes the place of ``fixtures_dir``.
    """
    default_dir = Path(fixtures_dir)

    def fixtures() -> Path:
        return Path(current_app.config.get("CONSOLE_FIXTURES_DIR") or default_dir)

    bp = Blueprint(
        "console",
        __name__,
        template_folder="templates",
        static_folder="static",
        static_url_path="/console/static",
    )

    @bp.after_app_request
    def security_headers(response: Response) -> Response:
        # App-wide hook, so that 404s and errors under the page paths get the policy too.
        if _is_page_path(request.path):
            for name, value in SECURITY_HEADERS.items():
                response.headers.setdefault(name, value)
            if response.mimetype == "text/html":
                response.headers["Cache-Control"] = "no-store"
        return response

    @bp.get("/console")
    def console() -> str:
        runtime = _runtime()
        return render_template(
            "console/console.html",
            version=runtime.knowledge.version,
            services=list(runtime.services.values()),  # replaced by discovery in the browser
            profiles=list(PROFILES),
        )

    @bp.get("/console/scenarios")
    def scenarios() -> Response:
        rank = _runtime().knowledge.card_rank
        severity = {"critical": 0, "warning": 1, "info": 2}
        listed = [s.summary() for s in list_scenarios(fixtures())]
        for scenario in listed:  # expected cards in the order the service sends them
            scenario["cards"].sort(
                key=lambda c: (severity.get(c["indicator"], 3), rank.get(c["rule"], len(rank)))
            )
        return json_response(listed)

    @bp.get("/console/scenarios/<name>")
    def scenario_request(name: str) -> Response:
        scenario = read_scenario(fixtures(), name)
        if scenario is None:
            abort(404)
        return _json_file(scenario.path / "request.json")

    @bp.post("/console/lint")
    def lint_response() -> Response:
        """What the client of ``profile`` would reject or ignore in ``response``."""
        body = read_json_body()
        profile = body.get("profile") if isinstance(body, dict) else None
        if profile not in PROFILES:
            raise BadRequest(f"profile must be one of {sorted(PROFILES)}", "profile")
        if not isinstance(body.get("response"), dict):
            raise BadRequest("response must be a CDS Hooks response object", "response")
        findings = _runtime().profiles.lint(body["response"], profile)
        return json_response({"profile": profile, "findings": [f.as_json() for f in findings]})

    @bp.post("/console/send")
    def send_as_of() -> Response:
        """Answer ``request`` as service ``service`` would on date-time ``now``.

        The same code path as the endpoint, with the service clock set: a fixture written for
        one date gives its documented cards on any day (``expected.json`` ``now``).
        """
        body = read_json_body()
        if not isinstance(body, dict):
            raise BadRequest("The console request must be a JSON object")
        runtime = _runtime()
        service = runtime.services.get(body.get("service"))
        if service is None:
            raise BadRequest("service must be the id of one of this server's services", "service")
        now = parse_fhir_datetime(body.get("now"))
        if now is None:
            raise BadRequest("now must be a date or date-time, e.g. 2026-06-15T09:00:00Z", "now")
        settings = dataclasses.replace(runtime.settings, clock=lambda: now)
        outcome = call_service(
            runtime.knowledge, settings, service, body.get("request"), runtime.fetch_missing
        )
        runtime.after_cards(outcome.rule_ids)  # issued, as by the endpoint: feedback may follow
        return json_response(outcome.response)

    @bp.get("/review")
    def review() -> str:
        return render_template(
            "console/review.html",
            review=build_review(_runtime(), fixtures()),
            indicator_labels=INDICATOR_LABELS,
            markdown=render_markdown,
            safe_url=safe_url,
            site_modes=site_modes_view(_runtime().governance),
        )

    return bp
