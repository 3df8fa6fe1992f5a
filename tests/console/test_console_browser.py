"""The console and review pages in headless Chromium (Debian's), driven by Playwright."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cds_service.knowledge import load_knowledge
from tests.console.browser import CHROMIUM, CHROMIUM_ARGS, PageLog, require_browser, serve, watch
from tests.console.support import XSS_TEXT, build_app, cds_request, make_fixtures

WARNING_BORDER = "rgb(163, 90, 0)"  # --warning in common.css


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    fixtures = make_fixtures(tmp_path_factory.mktemp("console") / "fixtures")
    with serve(build_app(True, fixtures)) as url:
        yield url


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1500, "height": 1000})
    yield context.new_page()
    context.close()


def _open_console(page: Any, base_url: str) -> PageLog:
    log = watch(page)
    page.goto(f"{base_url}/console")
    page.wait_for_selector("body[data-ready]")
    return log


def _send(page: Any, count: int) -> Any:
    from playwright.sync_api import expect

    page.click("#send")
    cards = page.locator("#cards article.card")
    expect(cards).to_have_count(count)
    return cards


def _service_answer(base_url: str, service: str, body: Any) -> list[dict[str, Any]]:
    client = build_app(True).test_client()
    return client.post(f"/cds-services/{service}", json=body).get_json()["cards"]


def test_console_sends_a_fixture_and_renders_the_cards(
    page: Any, base_url: str, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    log = _open_console(page, base_url)
    assert page.locator("body").get_attribute("data-ready") == "true", page.inner_text("#status")
    services = page.locator("#service option").evaluate_all("os => os.map(o => o.value)")
    assert services == ["rls-order-select", "rls-order-sign", "rls-patient-view"]

    page.select_option("#scenario", "sign-pramipexole")
    expect(page.locator("#request")).to_have_value(re.compile("pramipexole 0.125 mg"))
    expect(page.locator("#service")).to_have_value("rls-order-sign")
    expect(page.locator("#expected")).to_contain_text("dopamine-agonist-against (warning)")
    cards = _send(page, 3)

    body = json.loads(page.input_value("#request"))
    wanted = _service_answer(base_url, "rls-order-sign", body)
    assert cards.locator(".card__summary").all_inner_texts() == [c["summary"] for c in wanted]
    shown = [cards.nth(i).get_attribute("data-indicator") for i in range(3)]
    assert shown == [c["indicator"] for c in wanted]
    assert sorted(shown) == ["info", "info", "warning"]

    warning = page.locator("#cards article.card--warning")
    expect(warning.locator(".badge")).to_have_text("Warning")
    expect(warning.locator(".card__summary")).to_contain_text("Pramipexole")
    border = warning.evaluate("e => getComputedStyle(e).borderLeftColor")
    assert border == WARNING_BORDER
    expect(warning.locator(".card__detail strong").first).to_be_visible()
    expect(warning.locator(".card__source a")).to_have_attribute("href", re.compile("^https://"))
    expect(warning.locator(".action--delete").first).to_be_visible()
    expect(warning.locator(".actions").first).to_contain_text("MedicationRequest/draft-1")
    expect(warning.locator(".chip").first).to_be_visible()
    button = warning.locator("button.suggestion__button").first
    button.click()
    expect(warning.locator("pre.suggestion__resources").first).to_contain_text("MedicationRequest")

    expect(page.locator("#status")).to_have_text("HTTP 200: 3 cards")
    expect(page.locator("#raw-request")).to_contain_text("POST /cds-services/rls-order-sign")
    expect(page.locator("#raw-response")).to_contain_text("dopamine-agonist-against")
    page.screenshot(path=str(tmp_path / "console.png"), full_page=True)
    assert (tmp_path / "console.png").stat().st_size > 10_000
    assert log.errors == [] and log.dialogs == [] and log.csp_violations() == []


def test_pasted_request_with_script_in_card_text_executes_nothing(
    page: Any, base_url: str, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    log = _open_console(page, base_url)
    page.select_option("#scenario", "sign-hostile-text")  # hostile description, too
    expect(page.locator("#scenario-info")).to_contain_text('<img src=x onerror="window.__xss=5">')

    page.fill("#request", json.dumps(cds_request("order-sign", XSS_TEXT), indent=2))
    page.select_option("#service", "rls-order-sign")
    cards = _send(page, 3)
    page.wait_for_timeout(300)  # time for any injected handler to run

    assert page.evaluate("typeof window.__xss") == "undefined"
    assert log.dialogs == [] and log.errors == []
    assert page.locator("#cards script, #cards img, #cards iframe").count() == 0
    assert page.locator('#cards a[href^="javascript" i]').count() == 0
    warning = page.locator("#cards article.card--warning")
    expect(warning.locator(".card__detail")).to_contain_text("<script>window.__xss=1</script>")
    hrefs = cards.locator("a").evaluate_all("links => links.map(a => a.href)")
    assert hrefs and all(h.startswith("https://") for h in hrefs), hrefs
    page.screenshot(path=str(tmp_path / "console-xss.png"), full_page=True)
    assert log.csp_violations() == []


def test_review_shows_every_rule_with_its_citations(
    page: Any, base_url: str, tmp_path: Path
) -> None:
    knowledge = load_knowledge()
    log = watch(page)
    page.goto(f"{base_url}/review")
    assert page.inner_text("#knowledge-version") == knowledge.version
    for rule_id, rule in knowledge.rules.items():
        section = page.locator(f'section.rule[data-rule-id="{rule_id}"]')
        text = section.inner_text()
        assert rule_id in text
        for cid in rule["citations"]:
            assert knowledge.citations[cid]["text"] in text, (rule_id, cid)
    triggered = page.locator('section[data-rule-id="iv-iron-indicated"] article.card--info')
    assert triggered.count() == 1
    assert page.evaluate("typeof window.__xss") == "undefined"
    page.screenshot(path=str(tmp_path / "review.png"), full_page=False)

    page.emulate_media(media="print")
    assert not page.locator("nav.toc").is_visible()
    page.pdf(path=str(tmp_path / "review.pdf"), format="A4")
    assert (tmp_path / "review.pdf").stat().st_size > 10_000
    assert log.errors == [] and log.dialogs == [] and log.csp_violations() == []


def test_console_says_clearly_when_the_service_wants_authentication(
    page: Any, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    app = build_app(
        True, make_fixtures(tmp_path / "fixtures"), require_auth=True, trust_sandbox=True
    )
    with serve(app) as url:
        log = _open_console(page, url)
        expect(page.locator("#status")).to_contain_text("401 Unauthorized")
        page.fill("#request", json.dumps(cds_request("order-sign", "pramipexole")))
        page.select_option("#service", "rls-order-sign")
        page.click("#send")
        status = page.locator("#status.status--unauthorized")
        expect(status).to_contain_text("401 Unauthorized")
        expect(status).to_contain_text("CDS_REQUIRE_AUTH=false")
        expect(page.locator("#raw-response")).to_contain_text("HTTP 401")
        assert page.locator("#cards article").count() == 0
        page.screenshot(path=str(tmp_path / "console-401.png"))
    assert log.errors == [] and log.dialogs == []
