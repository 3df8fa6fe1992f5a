"""/review per rule: the populations it excludes, its suggestions and for whom, each code's source.

Everything is read from the knowledge files: a test edits the loaded knowledge and the page
follows (suggestion gates, per-agent grades, plausible ranges).
"""

from __future__ import annotations

import copy
import dataclasses

from flask.testing import FlaskClient
from markupsafe import escape

from cds_service.knowledge import load_knowledge
from tests.console.test_console_review import _rule_section

K = load_knowledge()


def _page(client: FlaskClient) -> str:
    response = client.get("/review")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_every_rule_shows_whom_it_applies_to_and_excludes(console_client: FlaskClient) -> None:
    html = _page(console_client)
    for rule_id, rule in K.rules.items():
        section = _rule_section(html, rule_id)
        assert str(escape(rule["applies_to"])) in section, rule_id
        for excluded in rule["excludes"]:
            assert f'data-excludes="{excluded["who"]}"' in section, (rule_id, excluded)
            assert str(escape(excluded["why"])) in section, (rule_id, excluded)
    recent = _rule_section(html, "iv-iron-recent-infusion")
    assert "no population beyond the RLS gate" in recent


def test_iv_iron_indicated_names_children_dialysis_pregnancy(console_client) -> None:
    section = _rule_section(_page(console_client), "iv-iron-indicated")
    for who in ("child", "esrd", "pregnant", "recent-iv-iron", "tsat-at-or-above-cap"):
        assert f'<li data-excludes="{who}"><code>{who}</code>:' in section


def test_per_agent_grades_are_shown(console_client) -> None:
    section = _rule_section(_page(console_client), "not-recommended-agent")
    assert ('<li data-ingredient="bupropion">bupropion: conditional, moderate certainty '
            '<span class="muted">(AASM 2024, adult row 16)</span></li>') in section
    assert '<li data-ingredient="clonazepam">clonazepam: conditional, very low certainty' in section


def test_each_code_shows_its_verification_source(console_client) -> None:
    html = _page(console_client)
    section = _rule_section(html, "iv-iron-indicated")
    for ingredient in K.raw["medications"]["ingredients"]:
        if ingredient["class"] != "iron-iv":
            continue
        for code in ingredient["codes"]:
            item = (f'<li data-code="{code["code"]}"><code title="{escape(code["display"])}">'
                    f'{code["code"]}</code>')
            assert item in section, code
            assert str(escape(code["source"])) in section, code
    rls = K.raw["valuesets"]["conditions"]["rls"]["codes"]
    for code in rls:
        assert str(escape(code["source"])) in section
    ferritin = K.raw["valuesets"]["analytes"]["ferritin"]["codes"][0]
    assert f'<li data-code="{ferritin["code"]}">' in section
    assert str(escape(ferritin["source"])) in section


def test_lab_table_shows_the_plausible_range(console_client) -> None:
    section = _rule_section(_page(console_client), "iv-iron-indicated")
    assert '<tr data-analyte="tsat">' in section
    assert '<td class="plausible">1 to 100 %</td>' in section
    assert '<td class="plausible">more than 0 to 1000000 ng/mL</td>' in section


def test_suggestion_without_gates_is_offered_whenever_the_card_fires(console_client) -> None:
    section = _rule_section(_page(console_client), "iron-studies-needed")
    assert "Offered to: every patient the card fires for</span>" in section
    iv = _rule_section(_page(console_client), "iv-iron-indicated")
    assert "<li>not when IV iron is already being ordered</li>" in iv


def test_review_renders_whatever_gates_the_knowledge_gives_suggestions(console_app) -> None:
    runtime = console_app.extensions["rls_cds"]
    raw = copy.deepcopy(runtime.knowledge.raw)
    recs = raw["recommendations"]
    recs["suggestion_gates"] = {"esrd": "dialysis: renal dosing needed",
                                "child": "under 18", "pregnant": "pregnancy"}
    gabapentin = recs["rules"]["alpha2delta-first-line"]["suggestions"][1]
    gabapentin["not_for"] = ["esrd", "pregnant"]
    recs["rules"]["dopamine-agonist-against"]["suggestions"].insert(0, {
        "label": "Remove the draft agonist order", "action": "delete-orders",
        "isRecommended": False, "only_for": ["child"]})
    runtime.knowledge = dataclasses.replace(runtime.knowledge, raw=raw, rules=recs["rules"])
    html = console_app.test_client().get("/review").get_data(as_text=True)
    alpha = _rule_section(html, "alpha2delta-first-line")
    assert "Offered to: every patient the card fires for, except as listed" in alpha
    assert "<li>not for esrd: dialysis: renal dosing needed</li>" in alpha
    assert "<li>not for pregnant: pregnancy</li>" in alpha
    agonist = _rule_section(html, "dopamine-agonist-against")
    assert "Remove the draft agonist order" in agonist
    assert "Offered to: only for child: under 18" in agonist
