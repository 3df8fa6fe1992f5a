"""Every rule's grade and citation against the guideline table (rls-guideline.md section 2).

The table below is transcribed by hand from section 2 of the clinical notes; a knowledge edit that
changes a grade without changing the guideline fails here. Statements that do not come from the
AASM guideline (the 8-week window, the 12.5 g/dL remark) must say so and must not cite it.
"""

from __future__ import annotations

import pytest

from cds_service.knowledge import load_knowledge
from tests.fhir_builders import medication_request, observation, request

K = load_knowledge()
AASM = {"aasm-2024", "aasm-2024-gps1"}

# Section 2: (row, intervention, direction, strength, certainty), as the notes state them.
SECTION_2 = {
    1: ("IV ferric carboxymaltose", "for", "strong", "moderate"),
    5: ("gabapentin enacarbil", "for", "strong", "moderate"),
    6: ("gabapentin", "for", "strong", "moderate"),
    7: ("pregabalin", "for", "strong", "moderate"),
    9: ("ER oxycodone and other opioids", "for", "conditional", "moderate"),
    11: ("levodopa", "against", "conditional", "very low"),
    12: ("pramipexole", "against", "conditional", "moderate"),
    13: ("rotigotine", "against", "conditional", "moderate"),
    14: ("ropinirole", "against", "conditional", "moderate"),
    15: ("cabergoline", "against", "strong", "moderate"),
    16: ("bupropion", "against", "conditional", "moderate"),
    17: ("carbamazepine", "against", "conditional", "low"),
    18: ("clonazepam", "against", "conditional", "very low"),
    19: ("valerian", "against", "conditional", "very low"),
    20: ("valproic acid", "against", "conditional", "low"),
    21: ("IV iron sucrose in ESRD, ferritin <200 and TSAT <20 %", "for", "conditional", "moderate"),
    24: ("ferrous sulfate in children, ferritin <50", "for", "conditional", "very low"),
}

# Which rows each graded rule implements (one grade for the rule).
RULE_ROWS = {
    "iv-iron-indicated": [1],
    "alpha2delta-first-line": [5, 6, 7],
    "opioid-refractory-option": [9],
    "levodopa-against": [11],
    "dopamine-agonist-against": [12, 13, 14],
    "cabergoline-strong-against": [15],
    "iron-sucrose-esrd": [21],
    "oral-iron-pediatric": [24],
}
# Rules whose agents the guideline grades differently: each ingredient carries its own row.
INGREDIENT_ROWS = {
    "not-recommended-agent": {"bupropion": 16, "carbamazepine": 17, "clonazepam": 18,
                              "valerian": 19, "valproate": 20},
    "augmentation-risk-active-da": {"levodopa": 11, "carbidopa-levodopa": 11, "pramipexole": 12,
                                    "rotigotine": 13, "ropinirole": 14},
    "dopamine-agonist-against": {"pramipexole": 12, "rotigotine": 13, "ropinirole": 14},
}
# Section 1 (good-practice statement 1, not graded) and 2d (not addressed by the AASM).
UNGRADED = {
    "iron-studies-needed": ("for", "good-practice statement", "not graded"),
    "iv-iron-not-indicated": ("for", "good-practice statement", "not graded"),
    "ketamine-not-recommended": ("none", "not addressed", "no evidence"),
    "iron-sucrose-not-preferred": ("none", "no recommendation", "not graded"),
}
# Not from the AASM guideline at all: must not claim an AASM grade or cite the AASM for it.
NOT_AASM = {
    "iron-deficiency-pregnancy": {"irlssg-pregnancy-2015"},  # AASM: no pregnancy recommendations
    "iv-iron-recent-infusion": {"seed-001", "rls-cds-decisions"},  # decision 4, seed 001
    "order-not-checked": {"cds-hooks-2.0"},  # data checks: say what could not be read
    "data-not-read": {"cds-hooks-2.0"},
}
# Section 3 thresholds and the windows, with where each comes from.
PARAMETER_CITATIONS = {
    "ferritin_iron_max": "aasm-2024-gps1",
    "tsat_iron_below": "aasm-2024-gps1",
    "ferritin_iv_only_max": "aasm-2024-gps1",
    "ferritin_esrd_below": "aasm-2024",  # row 21
    "ferritin_pediatric_below": "aasm-2024",  # row 24
    "tsat_safety_cap": "irlssg-iron-2018",
    "freshness_days": "rls-cds-decisions",  # decision 5: AASM says "regularly"
    "recent_iv_iron_days": "rls-cds-decisions",  # decision 4
    "hemoglobin_nonresponder_below": "seed-001",
}


def test_every_rule_is_in_one_table() -> None:
    tabled = set(RULE_ROWS) | set(INGREDIENT_ROWS) | set(UNGRADED) | set(NOT_AASM)
    assert tabled == set(K.rules)


@pytest.mark.parametrize("rule_id", sorted(RULE_ROWS))
def test_rule_grade_matches_section_2(rule_id) -> None:
    rec = K.rules[rule_id]["recommendation"]
    for row in RULE_ROWS[rule_id]:
        _, direction, strength, certainty = SECTION_2[row]
        assert (rec["direction"], rec["strength"], rec["certainty"]) == (
            direction, strength, certainty), (rule_id, row)
    assert "aasm-2024" in K.rules[rule_id]["citations"]


@pytest.mark.parametrize("rule_id", sorted(INGREDIENT_ROWS))
def test_each_agent_grade_matches_section_2(rule_id) -> None:
    rec = K.rules[rule_id]["recommendation"]
    by_ingredient = rec.get("by_ingredient", {})
    for ingredient, row in INGREDIENT_ROWS[rule_id].items():
        _, direction, strength, certainty = SECTION_2[row]
        assert rec["direction"] == direction
        if by_ingredient:
            grade = by_ingredient[ingredient]
            assert (grade["strength"], grade["certainty"]) == (strength, certainty), ingredient
            assert grade["basis"] == f"AASM 2024, adult row {row}"
        else:
            assert (rec["strength"], rec["certainty"]) == (strength, certainty), ingredient


@pytest.mark.parametrize("rule_id", sorted(UNGRADED))
def test_ungraded_rules(rule_id) -> None:
    rec = K.rules[rule_id]["recommendation"]
    assert (rec["direction"], rec["strength"], rec["certainty"]) == UNGRADED[rule_id]


@pytest.mark.parametrize("rule_id", sorted(NOT_AASM))
def test_non_guideline_rules_do_not_cite_the_aasm_guideline_for_themselves(rule_id) -> None:
    rule = K.rules[rule_id]
    assert NOT_AASM[rule_id] <= set(rule["citations"])
    assert rule["recommendation"]["strength"] not in ("strong", "conditional")
    if rule_id == "iv-iron-recent-infusion":
        assert not set(rule["citations"]) & AASM
        assert "Not from the AASM guideline" in rule["detail"]


@pytest.mark.parametrize(("parameter", "citation"), sorted(PARAMETER_CITATIONS.items()))
def test_threshold_citation(parameter, citation) -> None:
    assert K.raw["parameters"]["parameters"][parameter]["citation"] == citation


def _order_select(client, drafts, observations=None):
    body = request("order-select", drafts=drafts, observations=observations or [])
    return client.post("/cds-services/rls-order-select", json=body).get_json()["cards"]


def test_bupropion_card_states_moderate_certainty(client) -> None:
    draft = medication_request("b", "42347", "bupropion 150 MG Extended Release Oral Tablet")
    cards = [c for c in _order_select(client, [draft])
             if c["source"]["topic"]["code"] == "not-recommended-agent"]
    assert len(cards) == 1
    assert "(direction: against; bupropion: strength conditional, certainty moderate)" in (
        cards[0]["detail"])
    assert "clonazepam:" not in cards[0]["detail"]


def test_clonazepam_and_valproate_card_states_each_grade(client) -> None:
    drafts = [medication_request("c", "2598", "clonazepam 0.5 MG Oral Tablet"),
              medication_request("v", "11118", "valproic acid 250 MG Oral Capsule")]
    cards = [c for c in _order_select(client, drafts)
             if c["source"]["topic"]["code"] == "not-recommended-agent"]
    assert ("clonazepam: strength conditional, certainty very low; "
            "valproate: strength conditional, certainty low)") in cards[0]["detail"]


def test_recent_infusion_card_says_its_basis_is_not_the_guideline(client) -> None:
    body = request("patient-view", observations=[observation("h", "718-7", 11.9, "g/dL")])
    body["prefetch"]["ivIronAdministrations"] = {
        "resourceType": "Bundle", "type": "searchset", "entry": [{"resource": {
            "resourceType": "MedicationAdministration", "id": "fcm-given", "status": "completed",
            "subject": {"reference": "Patient/p1"}, "effectiveDateTime": "2026-05-20",
            "medicationCodeableConcept": {"text": "ferric carboxymaltose 750 MG"}}}]}
    cards = client.post("/cds-services/rls-patient-view", json=body).get_json()["cards"]
    assert [c["source"]["topic"]["code"] for c in cards] == ["iv-iron-recent-infusion"]
    detail = cards[0]["detail"]
    assert "Not from the AASM guideline: the 8-week window is a product decision" in detail
    assert ("Hemoglobin 11.9 g/dL is below 12.5 g/dL; if symptoms have not responded, iron "
            "repletion may be incomplete (a remark from a non-guideline summary, seed 001, not "
            "from the AASM guideline).") in detail
    assert "jcsm" not in detail and "url" not in cards[0]["source"]
    assert cards[0]["source"]["label"] == "rls-cds product decision (not the AASM guideline)"
    assert "Seed 001" not in detail and "Dr.Oracle AI-written summary" in detail
