"""The first hour, in headless Chromium: what a new user opens after ``rls-cds quickstart``.

Against the quickstart's app (console on, authentication off, the repository's fixtures, the
real clock): the index at ``/``, a fixture fired from the console with its expected cards in
order (on any day: the console evaluates it as of the fixture's ``now``), invalid JSON showing
only the error, ``/review`` printed to an A4 PDF under 25 pages, and the analytics page after
feedback. Screenshots and the PDF are saved under the test's tmp dir.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from cds_service import create_app
from cds_service.config import REPO_ROOT
from cds_service.knowledge import load_knowledge
from tests.console.browser import CHROMIUM, CHROMIUM_ARGS, require_browser, serve, watch

FIXTURE = "rls-low-ferritin-orders-pramipexole"
MAX_REVIEW_PAGES = 25  # a committee signs it: a few pages, not every scenario (209 before)
SEVERITY = {"critical": 0, "warning": 1, "info": 2}


@pytest.fixture(scope="module")
def quickstart_app(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    data = tmp_path_factory.mktemp("quickstart")
    settings = {"require_auth": False, "enable_console": True, "data_dir": data,
                "store_feedback_comments": True}  # as rls-cds quickstart sets them
    return create_app(settings)


@pytest.fixture(scope="module")
def quickstart_url(quickstart_app: Flask) -> Iterator[str]:
    with serve(quickstart_app) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _expected_in_order() -> list[str]:
    """The fixture's documented cards, most important first (critical, warning, info, then
    card_order): the order the service must send them in."""
    expected = json.loads((REPO_ROOT / "fhir_fixtures" / FIXTURE / "expected.json").read_text())
    rank = load_knowledge().card_rank
    cards = sorted(expected["cards"], key=lambda c: (SEVERITY[c["indicator"]], rank[c["rule"]]))
    return [c["rule"] for c in cards]


def _pdf_pages(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page(?![a-z])", pdf))


def test_the_quickstart_walk(
    browser: Any, quickstart_app: Flask, quickstart_url: str, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    log = watch(page)

    # 1. The index names the pages to open.
    page.goto(f"{quickstart_url}/")
    links = page.locator("a").evaluate_all("as => as.map(a => a.getAttribute('href'))")
    assert links == ["/console", "/review", "/analytics/feedback.html", "/cds-services"]
    page.screenshot(path=str(tmp_path / "1-index.png"))

    # 2. A fixture fired from the console: its documented cards, most important first.
    page.click("a[href='/console']")
    page.wait_for_selector("body[data-ready='true']")
    page.select_option("#scenario", FIXTURE)
    expect(page.locator("#as-of")).to_have_value("2026-06-15T09:00:00Z")
    expect(page.locator("#request")).to_have_value(re.compile("pramipexole"))
    page.click("#send")
    cards = page.locator("#cards article.card")
    expect(cards).to_have_count(3)
    response = json.loads(page.inner_text("#raw-response").split("\n\n", 1)[1])
    rules = [c["source"]["topic"]["code"] for c in response["cards"]]
    assert rules == _expected_in_order() == [
        "dopamine-agonist-against", "iv-iron-indicated", "alpha2delta-first-line"]
    expect(page.locator("#comparison")).to_have_attribute("data-match", "true")
    expect(page.locator("#comparison")).to_contain_text("match the scenario's expected cards")
    summaries = cards.locator(".card__summary").all_inner_texts()
    assert summaries == [c["summary"] for c in response["cards"]]  # shown in the order sent
    assert cards.evaluate_all("cs => cs.map(c => c.dataset.indicator)") == [
        "warning", "info", "info"]
    words = page.locator(".suggestion__words").first.inner_text()
    assert words.startswith("Creates a medication order: gabapentin enacarbil")
    assert "then removes the draft order MedicationRequest/" in words
    page.screenshot(path=str(tmp_path / "2-console-fixture.png"), full_page=True)

    # 2b. The same request judged years later: its labs are stale, the difference is flagged
    # and the card says how old the results are.
    page.fill("#as-of", "2030-01-01")
    page.click("#send")
    expect(page.locator("#comparison")).to_have_attribute("data-match", "false")
    expect(page.locator("#comparison")).to_contain_text("Difference")
    expect(page.locator("#comparison td.missing")).to_have_text(["iv-iron-indicated (info)"])
    expect(page.locator("#comparison td.unexpected")).to_have_text(["iron-studies-needed (info)"])
    expect(cards.nth(1).locator(".card__summary")).to_contain_text("iron status unknown (ferritin")
    expect(cards.nth(1).locator(".card__detail")).to_contain_text(
        "results older than 180 days are not used")
    page.screenshot(path=str(tmp_path / "2b-console-stale.png"), full_page=True)

    # 3. Invalid JSON: only the error, none of the previous answer.
    page.fill("#request", "{not json")
    page.click("#send")
    expect(page.locator("#status")).to_have_text(
        "The request is not valid JSON (line 1, column 2): check the brackets, quotes and "
        "commas there.")
    expect(cards).to_have_count(0)
    assert page.inner_text("#raw-response") == "" and page.inner_text("#raw-request") == ""
    assert page.inner_text("#comparison") == ""
    page.screenshot(path=str(tmp_path / "3-console-invalid-json.png"), full_page=True)

    # 4. The committee's review prints in a few A4 pages; today, every fixture still gives its
    # expected cards (each is judged at its own `now`).
    page.goto(f"{quickstart_url}/review")
    total, matched = re.search(r"(\d+), of which (\d+) give exactly",
                               page.inner_text("header")).groups()
    assert int(total) > 100 and matched == total
    page.emulate_media(media="print")
    pdf = page.pdf(format="A4", print_background=True)
    (tmp_path / "4-review.pdf").write_bytes(pdf)
    pages = _pdf_pages(pdf)
    print(f"/review printed to {pages} A4 pages")
    assert 1 <= pages < MAX_REVIEW_PAGES
    page.emulate_media(media="screen")
    page.screenshot(path=str(tmp_path / "4-review.png"))

    # 5. Analytics after feedback on the card the console showed.
    agonist = response["cards"][0]
    feedback = {"feedback": [{
        "card": agonist["uuid"], "outcome": "overridden",
        "outcomeTimestamp": "2026-06-15T09:02:00Z",
        "overrideReason": {"reason": agonist["overrideReasons"][0]}}]}
    posted = page.request.post(f"{quickstart_url}/cds-services/rls-order-select/feedback",
                               data=json.dumps(feedback),
                               headers={"Content-Type": "application/json"})
    assert posted.status == 200 and posted.json()["stored"] == 1
    quickstart_app.extensions["rls_cds"].issued.flush()  # written every few seconds otherwise
    page.goto(f"{quickstart_url}/analytics/feedback.html")
    row = page.locator("table").first.locator("tr", has_text="dopamine-agonist-against")
    expect(row).to_have_count(1)
    expect(row.locator("td").first).to_contain_text("Dopamine agonist for RLS")
    # sent twice from the console (2026 and 2030), one override: 0 % of the 1 with feedback
    assert row.locator("td.n").all_inner_texts() == ["2", "1", "0", "1", "0.0%"]
    expect(row).to_contain_text(agonist["overrideReasons"][0]["display"])
    expect(page.locator("svg")).to_contain_text("0 accepted, 1 overridden")
    page.screenshot(path=str(tmp_path / "5-analytics.png"), full_page=True)
    assert log.errors == [] and log.csp_violations() == []
    context.close()
