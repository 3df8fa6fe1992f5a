"""The clinical review page and the Markdown sanitiser, through the Flask test client."""

from __future__ import annotations

import copy
import dataclasses
import re
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from markupsafe import escape

from cds_service.console.markdown import render_markdown, safe_url
from cds_service.console.rule_uses import declared, unknown_ids
from cds_service.knowledge import load_knowledge
from tests.console.support import REVIEW_DATE, assert_no_active_content, build_app


def _rule_section(html: str, rule_id: str) -> str:
    match = re.search(
        rf'<section class="rule" id="rule-{re.escape(rule_id)}".*?</section>', html, re.S
    )
    assert match, f"no section for {rule_id}"
    return match.group(0)


def test_review_lists_every_rule_with_its_recommendation_and_citations(
    console_client: FlaskClient,
) -> None:
    html = console_client.get("/review").get_data(as_text=True)
    knowledge = load_knowledge()
    assert f'<dd id="knowledge-version">{knowledge.version}</dd>' in html
    assert REVIEW_DATE.strftime("%Y-%m-%d") in html
    for rule_id, rule in knowledge.rules.items():
        section = _rule_section(html, rule_id)
        rec = rule["recommendation"]
        for value in (rec["statement"], rec["direction"], rec["strength"], rec["certainty"]):
            assert str(escape(value)) in section, (rule_id, value)
        for cid in rule["citations"]:
            assert str(escape(knowledge.citations[cid]["text"])) in section, (rule_id, cid)


def test_review_codes_and_thresholds_come_from_the_knowledge(console_client: FlaskClient) -> None:
    html = console_client.get("/review").get_data(as_text=True)
    knowledge = load_knowledge()
    section = _rule_section(html, "iv-iron-indicated")
    limit = knowledge.raw["parameters"]["parameters"]["ferritin_iron_max"]
    assert f"<strong>{limit['value']}</strong> {limit['unit']}" in section
    assert "2276-4" in section  # ferritin LOINC
    assert "32914008" in section  # RLS SNOMED
    cabergoline = _rule_section(html, "cabergoline-strong-against")
    assert "E22.1" in cabergoline  # a competing condition, taken from the class's entry


def test_review_follows_a_changed_knowledge_file(console_app, fixtures_dir: Path) -> None:
    runtime = console_app.extensions["rls_cds"]
    raw = copy.deepcopy(runtime.knowledge.raw)
    raw["parameters"]["parameters"]["ferritin_iron_max"]["value"] = 81.5
    raw["citations"]["citations"]["aasm-2024"]["text"] = "A renamed citation for this test."
    citations = raw["citations"]["citations"]
    runtime.knowledge = dataclasses.replace(runtime.knowledge, raw=raw, citations=citations)
    html = console_app.test_client().get("/review").get_data(as_text=True)
    assert "<strong>81.5</strong> ng/mL" in _rule_section(html, "iv-iron-indicated")
    assert "A renamed citation for this test." in _rule_section(html, "levodopa-against")


def test_every_rule_declares_what_it_reads_and_it_exists() -> None:
    knowledge = load_knowledge()
    for rule_id in knowledge.rules:
        uses = declared(knowledge, rule_id)
        assert uses["conditions"], f"{rule_id}: no 'uses' in recommendations.json"
        assert unknown_ids(knowledge, rule_id) == [], rule_id


def test_review_runs_each_scenario_at_its_own_now(console_client: FlaskClient) -> None:
    html = console_client.get("/review").get_data(as_text=True)
    # The labs are 204 days old by the review date but 31 days old at the scenario's "now".
    section = _rule_section(html, "iv-iron-indicated")
    assert 'data-scenario="view-low-iron"' in section
    assert 'class="card card--info" data-indicator="info"' in section
    warning = _rule_section(html, "dopamine-agonist-against")
    assert 'data-scenario="sign-pramipexole"' in warning
    assert 'class="card card--warning" data-indicator="warning"' in warning
    assert "Pramipexole for RLS: guideline suggests against standard use" in warning
    assert "No fixture scenario triggers this rule." in _rule_section(html, "levodopa-against")
    assert "3 give exactly the expected cards" in html


def test_review_escapes_hostile_card_and_fixture_text(console_client: FlaskClient) -> None:
    html = console_client.get("/review").get_data(as_text=True)
    assert "<script>window.__xss" not in html
    assert "&lt;script&gt;window.__xss=1&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=&#34;window.__xss=5&#34;&gt;" in html  # the description
    assert_no_active_content(html)


def test_markdown_is_sanitised() -> None:
    html = str(
        render_markdown(
            "**Bold** <script>alert(1)</script>\n\n- <https://example.org/a>\n"
            "- [bad](javascript:alert(1)) <javascript:alert(2)>\n\n<img src=x onerror=alert(3)>"
        )
    )
    assert "<strong>Bold</strong>" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert '<a href="https://example.org/a" rel="noopener noreferrer">' in html
    assert "<script" not in html and "<img" not in html and 'javascript:alert(1)"' not in html
    assert 'href="javascript' not in html


@pytest.mark.parametrize(
    ("url", "safe"),
    [
        ("https://doi.org/10.5664/jcsm.11390", True),
        ("http://x.org", True),
        ("javascript:alert(1)", False),
        (" JAVASCRIPT:alert(1)", False),
        ("data:text/html,x", False),
        (None, False),
    ],
)
def test_safe_url(url: object, safe: bool) -> None:
    assert (safe_url(url) is not None) is safe


def test_review_of_the_repository_fixtures_renders() -> None:
    """Every scenario in fhir_fixtures/ (whatever is there now) runs on the review page."""
    from cds_service.console import DEFAULT_FIXTURES_DIR

    client = build_app(True, DEFAULT_FIXTURES_DIR).test_client()
    response = client.get("/review")
    assert response.status_code == 200
    rows = re.findall(r'<tr data-scenario="([^"]+)">', response.get_data(as_text=True))
    folders = DEFAULT_FIXTURES_DIR.glob("*/request.json")
    assert sorted(rows) == sorted(str(escape(p.parent.name)) for p in folders)
