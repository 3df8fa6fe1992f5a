"""``GET /``: the addresses to open, as JSON or HTML by Accept, without authentication."""

from __future__ import annotations

from cds_service import create_app

LINKS = [
    {"rel": "console", "href": "/console", "title": "Try a fixture scenario or your own request"},
    {"rel": "review", "href": "/review",
     "title": "Every rule with its recommendation, for a CDS committee"},
    {"rel": "analytics", "href": "/analytics/feedback.html",
     "title": "Acceptance and override rates per rule"},
    {"rel": "discovery", "href": "/cds-services",
     "title": "The CDS Hooks discovery document for an EHR"},
]


def test_index_is_json_by_default(tmp_path) -> None:
    app = create_app({"require_auth": False, "enable_console": True, "data_dir": tmp_path})
    response = app.test_client().get("/")
    assert response.status_code == 200
    assert response.get_json() == {"service": "rls-cds", "links": LINKS}


def test_index_is_html_for_a_browser(tmp_path) -> None:
    app = create_app({"require_auth": False, "enable_console": True, "data_dir": tmp_path})
    response = app.test_client().get("/", headers={"Accept": "text/html,*/*;q=0.8"})
    assert response.status_code == 200 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    for link in LINKS:
        assert f'<a href="{link["href"]}">{link["title"]}</a>' in page


def test_index_without_the_console_lists_only_what_is_served(tmp_path) -> None:
    app = create_app({"require_auth": False, "data_dir": tmp_path})
    links = app.test_client().get("/").get_json()["links"]
    assert [link["rel"] for link in links] == ["analytics", "discovery"]
