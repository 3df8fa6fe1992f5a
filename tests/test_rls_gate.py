"""The RLS gate reads coded diagnoses: family history, PLMD, negated text and other codes never open
it; text opens it only for a Condition without any coding, and the card then says so."""

from __future__ import annotations

import pytest

from cds_service.engine.evaluate import evaluate
from cds_service.engine.facts import Concept, ConditionFact, MedicationFact
from cds_service.knowledge import load_knowledge
from tests.engine_builders import NOW, hook, lab, med, record

K = load_knowledge()
LOW_IRON = (lab("ferritin", 40), lab("tsat", 25))
RLS_TEXT_NOTE = "rls-from-text"


def problem(*codings: tuple[str, str], text: str = "", active: bool = True) -> ConditionFact:
    return ConditionFact("Condition/c1", Concept(tuple(codings), text), active)


def findings(conditions, drafts=(), hook_name="patient-view", labs=LOW_IRON):
    rec = record(conditions=conditions, labs=labs)
    return evaluate(K, rec, hook(hook_name, drafts), freshness_days=180)


def pairs(found) -> set[tuple[str, str]]:
    return {(f.rule_id, f.indicator) for f in found}


@pytest.mark.parametrize("codings", [
    (("snomed", "32914008"),),
    (("icd10cm", "G25.81"),),
    (("icd10cm", "g2581"),),  # without the dot, lower case
    (("urn:oid:1.2.840.114350.1.13.0.1.7", "1234"), ("icd10cm", "G25.81")),  # local + standard
])
def test_coded_rls_opens_the_gate_without_a_text_note(codings) -> None:
    found = findings((problem(*codings, text="Restless legs syndrome"),))
    assert pairs(found) == {("iv-iron-indicated", "info")}
    assert RLS_TEXT_NOTE not in [n.key for f in found for n in f.notes]


@pytest.mark.parametrize(("codings", "text"), [
    ((("icd10cm", "Z82.0"),), "Family history of restless legs syndrome"),  # family history
    ((("icd10cm", "Z82.0"), ("icd10cm", "G25.81")), "Family history of restless legs"),  # veto
    ((("snomed", "160266009"),), "Family history of restless legs"),  # another code, RLS text
    ((("icd10cm", "G47.61"),), "Periodic limb movement disorder; restless legs?"),  # PLMD
    ((("icd10cm", "R25.8"),), "Restless legs"),  # a different coded problem naming RLS
    ((("urn:oid:1.2.840.114350.1.13.0.1.7.2.696871", "88"),), "Restless legs syndrome"),  # local
])
def test_a_coded_problem_that_is_not_rls_never_opens_the_gate(codings, text) -> None:
    assert findings((problem(*codings, text=text),)) == []


@pytest.mark.parametrize("text", [
    "History of restless legs syndrome",
    "Rule out restless legs syndrome",
    "r/o restless legs",
    "No restless legs",
    "Family history: restless legs (mother)",
    "Restless legs syndrome - ruled out",
    "Suspected restless legs syndrome",
    "Denies restless legs",
])
def test_negated_or_history_text_never_opens_the_gate(text: str) -> None:
    assert findings((problem(text=text),)) == []


def test_uncoded_rls_text_opens_the_gate_and_the_card_says_it_was_read_from_text() -> None:
    found = findings((problem(text="Restless legs syndrome"),))
    assert pairs(found) == {("iv-iron-indicated", "info")}
    notes = {n.key: n.values for n in found[0].notes}
    assert notes[RLS_TEXT_NOTE] == {"source": 'Condition/c1 ("Restless legs syndrome")'}


def test_inactive_uncoded_text_does_not_open_the_gate() -> None:
    assert findings((problem(text="Restless legs syndrome", active=False),)) == []


def test_plmd_without_rls_gives_no_cards_even_with_pramipexole_drafted() -> None:
    plmd = problem(("icd10cm", "G47.61"), text="Periodic limb movement disorder")
    assert findings((plmd,), (med("pramipexole"),), "order-sign") == []
    assert findings((plmd,)) == []


def test_an_order_whose_coded_reason_is_rls_opens_the_gate_decision_2() -> None:
    found = findings((), (med("pramipexole", reason="rls"),), "order-sign")
    assert pairs(found) == {
        ("dopamine-agonist-against", "warning"), ("alpha2delta-first-line", "info"),
        ("iv-iron-indicated", "info"),
    }
    assert RLS_TEXT_NOTE not in [n.key for f in found for n in f.notes]


def test_an_order_whose_reason_is_rls_text_only_says_it_was_read_from_text() -> None:
    order = MedicationFact(
        ref="MedicationRequest/d1", kind="request", status="draft",
        concept=Concept((), "ropinirole"),
        when=NOW, reasons=(Concept((), "Restless legs syndrome"),), reason_stated=True,
    )
    found = findings((), (order,), "order-sign")
    assert ("dopamine-agonist-against", "warning") in pairs(found)
    against = next(f for f in found if f.rule_id == "dopamine-agonist-against")
    assert {n.key: n.values for n in against.notes}[RLS_TEXT_NOTE] == {
        "source": 'the reason of MedicationRequest/d1 ("Restless legs syndrome")'}


def test_family_history_fixture_has_a_family_member_history_and_no_cards() -> None:
    from tests.scenario_support import answer, scenario

    sc = scenario("family-history-of-rls-only-no-card")
    types = [r["resourceType"] for r in sc.input_resources()]
    assert "FamilyMemberHistory" in types
    got = answer(sc.name)
    assert got.status == 200 and got.body == {"cards": []}


def test_uncoded_rls_fixture_card_says_read_from_text() -> None:
    from tests.scenario_support import answer, card_rule

    cards = answer("rls-uncoded-problem-read-from-text").body["cards"]
    assert [card_rule(c) for c in cards] == ["iv-iron-indicated"]
    assert "The RLS diagnosis was read from text, not from a code" in cards[0]["detail"]
