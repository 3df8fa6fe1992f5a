"""``GET /``: where to go from here, as JSON or as a small HTML page (by ``Accept``).

It names addresses only, no data, so it needs no authentication. The console and review pages
are listed only when they are switched on (``CDS_ENABLE_CONSOLE``).
"""

from __future__ import annotations

from html import escape

from flask import Blueprint, Response, current_app, request

from cds_service.api import json_response

index = Blueprint("index", __name__)

PAGES = (  # (key, path, what it is, needs the console)
    ("console", "/console", "Try a fixture scenario or your own request", True),
    ("review", "/review", "Every rule with its recommendation, for a CDS committee", True),
    ("analytics", "/analytics/feedback.html", "Acceptance and override rates per rule", False),
    ("discovery", "/cds-services", "The CDS Hooks discovery document for an EHR", False),
)


def _links() -> list[dict[str, str]]:
    console_on = current_app.extensions["rls_cds"].settings.enable_console
    return [
        {"rel": key, "href": path, "title": title}
        for key, path, title, console in PAGES
        if console_on or not console
    ]


@index.get("/")
def home() -> Response:
    links = _links()
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    if best != "text/html":
        return json_response({"service": "rls-cds", "links": links})
    items = "".join(
        f'<li><a href="{escape(link["href"])}">{escape(link["title"])}</a> '
        f"<code>{escape(link['href'])}</code></li>"
        for link in links
    )
    page = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        "<title>RLS CDS service</title></head><body><h1>RLS CDS service</h1>"
        f"<ul>{items}</ul></body></html>"
    )
    response = Response(page, mimetype="text/html")
    response.headers["Content-Security-Policy"] = "default-src 'none'"
    return response
