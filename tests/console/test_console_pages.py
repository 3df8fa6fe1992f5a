"""The console and review pages through the Flask test client: switch, headers, content."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from cds_service.console import CSP
from cds_service.knowledge import load_knowledge
from tests.console.support import assert_no_active_content, build_app

PAGES = [
    "/console",
    "/review",
    "/console/scenarios",
    "/console/static/console.js",
    "/console/static/common.css",
    "/console/scenarios/sign-pramipexole",
]


@pytest.mark.parametrize("path", PAGES)
def test_pages_are_404_when_the_console_is_off(fixtures_dir: Path, path: str) -> None:
    client = build_app(False, fixtures_dir).test_client()
    with client.get(path) as response:
        assert response.status_code == 404


def test_console_is_off_by_default() -> None:
    from cds_service.config import load_settings

    assert load_settings(environ={}).enable_console is False
    assert load_settings(environ={"CDS_ENABLE_CONSOLE": "true"}).enable_console is True


@pytest.mark.parametrize("path", PAGES)
def test_every_page_response_has_the_strict_csp(console_client: FlaskClient, path: str) -> None:
    with console_client.get(path) as response:  # closes the static file, too
        assert response.status_code == 200
        assert response.headers["Content-Security-Policy"] == CSP
        assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("path", ["/console/scenarios/nope", "/console/nothing-here"])
def test_errors_under_the_console_have_the_csp_too(console_client: FlaskClient, path: str) -> None:
    response = console_client.get(path)
    assert response.status_code == 404
    assert response.headers["Content-Security-Policy"] == CSP


def test_the_api_itself_is_left_alone(console_client: FlaskClient) -> None:
    assert "Content-Security-Policy" not in console_client.get("/cds-services").headers


@pytest.mark.parametrize("path", ["/console", "/review"])
def test_pages_have_no_inline_script_or_style(console_client: FlaskClient, path: str) -> None:
    assert_no_active_content(console_client.get(path).get_data(as_text=True))


def test_scenario_list_and_request(console_client: FlaskClient, fixtures_dir: Path) -> None:
    listed = console_client.get("/console/scenarios").get_json()
    assert [s["name"] for s in listed] == ["sign-hostile-text", "sign-pramipexole", "view-low-iron"]
    pramipexole = listed[1]
    assert pramipexole["service"] == "rls-order-sign"
    assert pramipexole["now"] == "2026-06-01T12:00:00Z"
    assert {"rule": "dopamine-agonist-against", "indicator": "warning"} in pramipexole["cards"]
    body = console_client.get("/console/scenarios/sign-pramipexole").get_json()
    on_disk = json.loads((fixtures_dir / "sign-pramipexole" / "request.json").read_text())
    assert body == on_disk


@pytest.mark.parametrize("name", ["not-a-scenario", "..", ".hidden", "a b", "%2e%2e%2fetc"])
def test_unknown_or_unsafe_scenario_names_are_404(console_client: FlaskClient, name: str) -> None:
    assert console_client.get(f"/console/scenarios/{name}").status_code == 404


def test_missing_fixtures_folder_lists_nothing(tmp_path: Path) -> None:
    client = build_app(True, tmp_path / "absent").test_client()
    assert client.get("/console/scenarios").get_json() == []
    assert client.get("/review").status_code == 200


def test_console_page_links_its_assets(console_client: FlaskClient) -> None:
    html = console_client.get("/console").get_data(as_text=True)
    assert '<script type="module" src="/console/static/console.js"></script>' in html
    assert 'id="request"' in html and 'id="cards"' in html and 'id="raw-response"' in html
    assert load_knowledge().version in html


def test_browser_tests_fail_under_ci_and_skip_locally_without_chromium(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from tests.console import browser

    monkeypatch.setattr(browser, "CHROMIUM", tmp_path / "no-chromium")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="cannot run under CI"):
        browser.require_browser()
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="apt-get install chromium"):
        browser.require_browser()
