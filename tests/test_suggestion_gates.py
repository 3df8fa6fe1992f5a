"""One-click suggestions only where the contract allows them; recent and active IV iron.

The engine decides which suggestions a patient's gates withhold (engine/gates.py); the HTTP tests
check that a withheld suggestion is really absent from the card and the card says why.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from cds_service.engine.evaluate import evaluate
from cds_service.engine.facts import Concept, MedicationFact
from cds_service.knowledge import load_knowledge
from tests.engine_builders import NOW, hook, lab, med, record
from tests.scenario_support import answer, card_rule

K = load_knowledge()
OK_IRON = (lab("ferritin", 150), lab("tsat", 30))
LOW_IRON = (lab("ferritin", 40), lab("tsat", 25))
A2D_REPLACE = frozenset({"Replace with gabapentin enacarbil", "Replace with gabapentin",
                         "Replace with pregabalin"})
A2D_DRAFT = frozenset({"Draft gabapentin enacarbil", "Draft gabapentin", "Draft pregabalin"})
REMOVE_AGONIST = "Remove the draft agonist order"
CHILD = date(2015, 1, 1)


def by_rule(rec, hk):
    return {f.rule_id: f for f in evaluate(K, rec, hk, freshness_days=180)}


def notes(finding) -> list[str]:
    return [n.key for n in finding.notes]


# ------------------------------------------------------- the knowledge states every gate -----

def test_every_gate_named_by_a_suggestion_exists_and_alpha2delta_orders_are_gated() -> None:
    gates = K.raw["recommendations"]["suggestion_gates"]
    a2d = {"gabapentin-enacarbil", "gabapentin", "pregabalin"}
    iron = {"ferric-carboxymaltose", "iron-sucrose", "ferrous-sulfate"}
    for rule_id, rule in K.rules.items():
        for spec in rule.get("suggestions", []):
            assert set(spec.get("not_for", [])) | set(spec.get("only_for", [])) <= set(gates)
            if spec.get("medication") in a2d:
                assert {"child", "esrd", "pregnant"} <= set(spec["not_for"]), (rule_id, spec)
            if spec.get("medication") in iron:
                wanted = {"recent-iv-iron", "iv-iron-order-active", "tsat-at-or-above-cap"}
                assert wanted <= set(spec["not_for"]), (rule_id, spec)


# ------------------------------------------------------------ alpha-2-delta not one-click -----

@pytest.mark.parametrize(("conditions", "birth"), [
    (("rls", "esrd"), date(1970, 1, 1)),
    (("rls", "pregnancy"), date(1990, 1, 1)),
    (("rls",), CHILD),
])
def test_agonist_card_offers_removal_but_no_alpha2delta_order(conditions, birth) -> None:
    rec = record(conditions=conditions, labs=OK_IRON, birth=birth)
    found = by_rule(rec, hook("order-sign", (med("pramipexole"),)))
    against = found["dopamine-agonist-against"]
    assert against.withheld_suggestions == A2D_REPLACE
    assert "suggestions-withheld" in notes(against)
    if "alpha2delta-first-line" in found:  # ESRD only: not in pregnancy or for children
        assert conditions == ("rls", "esrd")
        assert found["alpha2delta-first-line"].withheld_suggestions == A2D_DRAFT
        assert notes(found["alpha2delta-first-line"]) == [
            "esrd-renal-dosing", "suggestions-withheld"]


def test_adult_without_gates_gets_alpha2delta_orders_and_no_bare_removal() -> None:
    found = by_rule(record(labs=OK_IRON), hook("order-sign", (med("pramipexole"),)))
    assert found["dopamine-agonist-against"].withheld_suggestions == {REMOVE_AGONIST}
    assert found["alpha2delta-first-line"].withheld_suggestions == frozenset()
    assert "suggestions-withheld" not in notes(found["dopamine-agonist-against"])


def test_esrd_fixture_cards_have_no_alpha2delta_order_and_say_why() -> None:
    cards = {card_rule(c): c for c in answer("rls-esrd-orders-ropinirole-renal-dosing-note").body[
        "cards"]}
    assert "suggestions" not in cards["alpha2delta-first-line"]
    assert [s["label"] for s in cards["dopamine-agonist-against"]["suggestions"]] == [
        REMOVE_AGONIST]
    assert "gabapentin enacarbil is not for patients on dialysis" in cards[
        "alpha2delta-first-line"]["detail"]


def test_pregnant_levodopa_fixture_offers_only_removal() -> None:
    cards = answer("rls-pregnant-orders-carbidopa-levodopa-no-one-click-alpha2delta").body["cards"]
    assert [card_rule(c) for c in cards] == ["levodopa-against"]
    assert [s["label"] for s in cards[0]["suggestions"]] == ["Remove the draft levodopa order"]
    created = [a for s in cards[0]["suggestions"] for a in s["actions"] if a["type"] == "create"]
    assert created == []


# ---------------------------------------------------------------- children and the TSAT cap -----

@pytest.mark.parametrize(("tsat", "expected"), [
    (44.9, {"oral-iron-pediatric"}), (45, set()), (48, set()),
])
def test_child_with_tsat_at_or_above_45_gets_no_oral_iron_advice(tsat, expected) -> None:
    rec = record(labs=(lab("ferritin", 30), lab("tsat", tsat)), birth=CHILD)
    assert set(by_rule(rec, hook())) == expected


def test_child_with_high_tsat_ordered_oral_iron_is_told_why() -> None:
    rec = record(labs=(lab("ferritin", 30), lab("tsat", 48)), birth=CHILD)
    found = by_rule(rec, hook("order-sign", (med("ferrous sulfate"),)))
    assert list(found) == ["iv-iron-not-indicated"]
    assert notes(found["iv-iron-not-indicated"]) == ["tsat-safety-cap"]


def test_child_high_tsat_fixture_has_no_cards() -> None:
    assert answer("rls-child-ferritin-30-tsat-48-no-oral-iron").body == {"cards": []}


# ------------------------------------------------------------- recent and active IV iron -----

def _given(text: str, days_ago: int, kind: str = "administration", code: str | None = None):
    return MedicationFact(
        ref=f"MedicationAdministration/{days_ago}", kind=kind,
        status="completed", concept=Concept((("rxnorm", code),) if code else (), text),
        when=NOW - timedelta(days=days_ago),
    )


@pytest.mark.parametrize(("fact", "recent"), [
    (_given("Iron infusion", 30), True),
    (_given("Iron infusion", 56), True),
    (_given("Iron infusion", 57), False),
    (_given("", 10, code="261123"), True),  # Ferrlecit by product code
    (_given("Feraheme 510 mg", 20), True),
    (_given("ferrous sulfate 325 mg", 10), False),  # oral iron is not an infusion
])
def test_any_iv_iron_given_within_8_weeks_is_a_recent_infusion(fact, recent) -> None:
    found = by_rule(record(labs=LOW_IRON, administrations=(fact,)), hook())
    assert list(found) == (["iv-iron-recent-infusion"] if recent else ["iv-iron-indicated"])


def test_completed_text_only_iron_request_is_a_recent_infusion_and_no_iron_is_suggested() -> None:
    done = _given("IV iron infusion", 18, kind="request")
    rec = record(labs=LOW_IRON, meds=(done,))
    found = by_rule(rec, hook("order-sign", (med("iron sucrose"),)))
    assert set(found) == {"iv-iron-recent-infusion", "iron-sucrose-not-preferred"}
    assert found["iron-sucrose-not-preferred"].withheld_suggestions == {
        "Replace with IV ferric carboxymaltose"}


def test_recent_infusion_fixtures_never_suggest_more_iron() -> None:
    names = ("rls-recent-text-only-iron-infusion", "rls-recent-iron-request-orders-iron-sucrose")
    for name in names:
        for card in answer(name).body["cards"]:
            creates = [a for s in card.get("suggestions", []) for a in s["actions"]
                       if a["type"] == "create"]
            assert creates == [], (name, card_rule(card))


@pytest.mark.parametrize(("conditions", "labs", "rule", "label"), [
    (("rls",), LOW_IRON, "iv-iron-indicated", "Draft IV ferric carboxymaltose"),
    (("rls", "esrd"), (lab("ferritin", 150), lab("tsat", 15)), "iron-sucrose-esrd",
     "Draft IV iron sucrose"),
])
def test_an_active_iv_iron_order_means_no_second_order_and_the_card_says_so(
    conditions, labs, rule, label
) -> None:
    active = med("Feraheme 510 mg", "active")
    found = by_rule(record(conditions=conditions, labs=labs, meds=(active,)), hook())
    assert list(found) == [rule]
    assert found[rule].withheld_suggestions == {label}
    assert [n for n in found[rule].notes if n.key == "iv-iron-order-active"][0].values == {
        "orders": "ferumoxytol"}


def test_active_fcm_fixture_card_has_no_suggestion_and_says_one_is_active() -> None:
    cards = answer("rls-active-fcm-request-is-not-an-infusion").body["cards"]
    assert [card_rule(c) for c in cards] == ["iv-iron-indicated"]
    assert "suggestions" not in cards[0]
    assert "An IV iron order is already active (ferric carboxymaltose)" in cards[0]["detail"]


def test_iron_sucrose_replacement_is_withheld_when_the_criteria_are_not_met() -> None:
    found = by_rule(record(labs=OK_IRON), hook("order-sign", (med("iron sucrose"),)))
    assert set(found) == {"iv-iron-not-indicated", "iron-sucrose-not-preferred"}
    assert found["iron-sucrose-not-preferred"].withheld_suggestions == {
        "Replace with IV ferric carboxymaltose"}
