"""Knowledge integrity: every referenced rule, code, parameter, note and citation exists."""

from __future__ import annotations

import re
import string

import pytest

from cds_service.knowledge import FILES, load_knowledge

K = load_knowledge()
RULE_IDS = {
    "iv-iron-indicated", "iron-sucrose-esrd", "iron-studies-needed", "iv-iron-not-indicated",
    "iron-sucrose-not-preferred", "oral-iron-pediatric", "iron-deficiency-pregnancy",
    "iv-iron-recent-infusion", "alpha2delta-first-line", "dopamine-agonist-against",
    "levodopa-against", "cabergoline-strong-against", "ketamine-not-recommended",
    "not-recommended-agent", "augmentation-risk-active-da", "opioid-refractory-option",
    # not guideline rules: what could not be read is said, never silently dropped
    "order-not-checked", "data-not-read",
}
RULE_SOURCES = [
    "engine/iron_rules.py", "engine/drug_rules.py", "engine/evaluate.py", "engine/reading_rules.py"
]


def test_every_file_has_the_same_version() -> None:
    assert {K.raw[name]["version"] for name in FILES} == {K.version}


def test_rule_ids_are_exactly_the_contract() -> None:
    assert set(K.rules) == RULE_IDS


def test_card_order_ranks_every_rule_once() -> None:
    order = K.raw["recommendations"]["card_order"]
    assert sorted(order) == sorted(RULE_IDS)
    assert len(order) == len(set(order))


@pytest.mark.parametrize("rule_id", sorted(RULE_IDS))
def test_rule_is_complete(rule_id: str) -> None:
    rule = K.rules[rule_id]
    assert rule["indicator"] in ("info", "warning", "critical")
    assert {"direction", "strength", "certainty", "statement"} <= set(rule["recommendation"])
    assert set(rule["recommendation"]) <= {
        "direction", "strength", "certainty", "statement", "basis", "by_ingredient"}
    ingredients = {i.id for i in K.ingredients}
    assert set(rule["recommendation"].get("by_ingredient", {})) <= ingredients
    assert rule["citations"] and all(c in K.citations for c in rule["citations"])
    fields = {f for _, f, _, _ in string.Formatter().parse(rule["summary"]) if f}
    assert fields <= {"orders", "trigger", "missing", "infusion_date"}
    recs = K.raw["recommendations"]
    assert all(r in recs["override_reasons"] for r in rule.get("override_reasons", []))
    if rule["indicator"] in ("warning", "critical") or rule.get("indicator_when_iron_drafted"):
        assert rule.get("override_reasons"), "warning and critical cards need override reasons"
    suggestions = rule.get("suggestions", [])
    assert sum(bool(s.get("isRecommended")) for s in suggestions) <= 1
    for suggestion in suggestions:
        medication = suggestion.get("medication")
        assert medication is None or medication in recs["medication_templates"]


def test_rule_ids_used_in_code_exist() -> None:
    from importlib import resources

    root = resources.files("cds_service")
    used = set()
    for path in RULE_SOURCES:
        used |= set(re.findall(r'"([a-z0-9]+(?:-[a-z0-9]+)+)"', root.joinpath(path).read_text()))
    referenced = {u for u in used if u in RULE_IDS or u.endswith(("-against", "-indicated"))}
    assert referenced <= RULE_IDS


def test_parameters_have_units_and_citations() -> None:
    for name, spec in K.raw["parameters"]["parameters"].items():
        assert spec["citation"] in K.citations, name
        assert spec["unit"], name


def test_medication_classes_and_competing_conditions_exist() -> None:
    for ingredient in K.ingredients:
        assert ingredient.drug_class in K.classes
    for spec in K.classes.values():
        assert all(c in K.conditions for c in spec.get("competing_conditions", []))


def test_every_code_records_verification_and_source() -> None:
    for spec in K.raw["medications"]["ingredients"]:
        assert spec["names"], f"{spec['id']} must be matchable by name (decision 8)"
        for code in spec["codes"]:
            assert isinstance(code["verified"], bool) and code["source"], (spec["id"], code)
    for group in ("conditions", "analytes"):
        for cid, spec in K.raw["valuesets"][group].items():
            for code in spec["codes"]:
                assert isinstance(code["verified"], bool) and code["source"], (cid, code)


def test_every_warning_drug_matches_by_name_alone() -> None:
    """Decision 8: an unverified code must never be the only way a warning can fire."""
    from cds_service.engine.facts import Concept
    from cds_service.engine.medications import ingredient_of

    for ingredient in K.ingredients:
        found = ingredient_of(K, Concept((), ingredient.display))
        assert found is not None and found.drug_class == ingredient.drug_class, ingredient.id


def test_notes_and_analytes_are_complete() -> None:
    assert {"ferritin", "tsat", "iron", "tibc", "uibc", "hemoglobin"} <= set(K.analytes)
    assert K.analyte_by_loinc["2276-4"] == "ferritin"
    assert "86914-9" not in K.analyte_by_loinc  # a ferritin goal, not a result
    for key in ("ferritin-iv-band", "tsat-safety-cap", "competing-indication", "age-unknown"):
        assert key in K.notes


def test_rotigotine_code_is_not_perindopril() -> None:
    rotigotine = next(i for i in K.ingredients if i.id == "rotigotine")
    assert "54552" not in rotigotine.codes


@pytest.mark.parametrize(
    ("text", "ingredient"),
    [
        ("PRAMİPEXOLE 0.25 MG", "pramipexole"),  # Turkish capital I: lower() would add a dot
        ("pramıpexole", "pramipexole"),  # dotless i
        ("iron ſucrose injection", "iron-sucrose"),  # long s
        ("Horizant (gabapentin enacarbil) ER", "gabapentin-enacarbil"),
        ("lisinopril 10 MG Oral Tablet", None),
    ],
)
def test_medication_names_match_case_insensitively(text: str, ingredient: str | None) -> None:
    found = K.ingredient_index.by_name(text)
    assert (found.id if found else None) == ingredient


def test_huge_medication_texts_are_matched_but_not_cached() -> None:
    from cds_service.knowledge import MAX_CACHED_NAME

    index = K.ingredient_index
    huge = "x" * MAX_CACHED_NAME + " ropinirole"
    before = index._cached_by_name.cache_info().currsize
    found = index.by_name(huge)
    assert found is not None and found.id == "ropinirole"
    assert index._cached_by_name.cache_info().currsize == before
