"""Clinical scenarios (fhir_fixtures/*) through the real HTTP app, against the behaviour contract.

Two tests per scenario:

* ``test_response_conforms``: 200, the CDS Hooks response schema, card invariants, valid FHIR in
  every create action. Never expected to fail.
* ``test_cards_match_contract``: the cards are exactly the expected (rule, indicator) pairs with
  the patient's own values in the detail. Scenarios whose expected.json carries ``known_issue``
  (the engine disagrees with the contract) run as strict xfail: once the engine is fixed the test
  XPASSes, fails, and the marker must be removed.
"""

from __future__ import annotations

import json
import re
import uuid
from collections import Counter
from typing import Any

import pytest
from pydantic import ValidationError

from cds_service.cards.card_ids import rule_of_card_uuid
from tests.scenario_support import (
    ORDER_HOOKS,
    Scenario,
    actions,
    answer,
    card_rule,
    competing_note_prefix,
    deleted_ids,
    empty_values,
    knowledge,
    load_scenarios,
    r4b_model,
    response_validator,
    service_definition,
)

SCENARIOS = load_scenarios()
INDICATORS = {"info", "warning", "critical"}
NAME = re.compile(r"^[a-z0-9][a-z0-9.\-]*$")


def _ids(s: Scenario) -> str:
    return s.name


def _with_known_issue(s: Scenario) -> Any:
    if s.known_issue:
        return pytest.param(
            s, id=s.name, marks=pytest.mark.xfail(reason=s.known_issue, strict=True)
        )
    return pytest.param(s, id=s.name)


# ------------------------------------------------------------------ the corpus itself -----


def test_at_least_forty_scenarios() -> None:
    assert len(SCENARIOS) >= 40, f"only {len(SCENARIOS)} scenarios"


def test_every_rule_is_covered_by_a_passing_scenario() -> None:
    rules = set(knowledge().rules)
    covered = {c["rule"] for s in SCENARIOS if not s.known_issue for c in s.expected["cards"]}
    assert sorted(rules - covered) == [], "rules without a scenario free of known issues"


def test_hook_instances_are_unique() -> None:
    counts = Counter(s.request["hookInstance"] for s in SCENARIOS)
    assert [h for h, n in counts.items() if n > 1] == []


@pytest.mark.parametrize("sc", SCENARIOS, ids=_ids)
def test_fixture_is_well_formed(sc: Scenario) -> None:
    assert NAME.match(sc.name), "folder names are lower-case clinical slugs"
    expected, request = sc.expected, sc.request
    assert set(expected) <= {
        "description",
        "now",
        "service",
        "cards",
        "known_issue",
        "response_excludes",
    }
    assert expected["description"].strip()
    assert isinstance(expected.get("known_issue", ""), str)
    assert expected["now"].endswith("Z") and sc.now.tzinfo is not None
    definition = service_definition(sc.service)
    assert request["hook"] == definition["hook"]
    uuid.UUID(request["hookInstance"])
    context = request["context"]
    assert context["userId"].startswith("Practitioner/")
    assert isinstance(context["patientId"], str) and context["patientId"]
    if sc.hook in ORDER_HOOKS:
        assert context["draftOrders"]["resourceType"] == "Bundle"
    if sc.hook == "order-select":
        assert set(context["selections"]) <= sc.draft_refs()
    # Every declared prefetch key is present: null, or a searchset Bundle (patient: a Patient).
    prefetch = request["prefetch"]
    assert set(prefetch) == set(definition["prefetch"])
    for key, value in prefetch.items():
        if value is None:
            continue
        wanted = ("Patient",) if key == "patient" else ("Bundle",)
        assert value["resourceType"] in wanted, key
        if value["resourceType"] == "Bundle":
            assert value["type"] == "searchset", key
    rules = knowledge().rules
    seen = [c["rule"] for c in expected["cards"]]
    assert len(seen) == len(set(seen)), "one card per rule"
    for c in expected["cards"]:
        assert c["rule"] in rules
        assert c["indicator"] in INDICATORS
        assert set(c) <= {"rule", "indicator", "detail_contains", "detail_excludes", "deletes"}
        for ref in c.get("deletes", []):
            assert ref in sc.judged_refs(), f"{ref} is not a judged draft order"


@pytest.mark.parametrize("sc", SCENARIOS, ids=_ids)
def test_fixture_resources_are_valid_fhir(sc: Scenario) -> None:
    """Inputs are valid R4 except the deliberately broken ones, whose ids start with 'bad-'."""
    for resource in sc.input_resources():
        if str(resource.get("id", "")).startswith("bad-"):
            continue
        try:
            r4b_model(resource["resourceType"]).model_validate(resource)
        except ValidationError as exc:
            pytest.fail(f"{resource['resourceType']}/{resource.get('id')}: {exc}")


# ------------------------------------------------------------- conformance of answers -----


@pytest.mark.parametrize("sc", SCENARIOS, ids=_ids)
def test_response_conforms(sc: Scenario) -> None:
    got = answer(sc.name)
    assert got.status == 200, got.body
    assert got.content_type == "application/json"
    body = got.body
    errors = sorted(response_validator().iter_errors(body), key=lambda e: list(e.path))
    assert [f"{list(e.path)}: {e.message}" for e in errors] == []
    for i, card in enumerate(body["cards"]):
        assert list(empty_values(card, f"$.cards[{i}]")) == []
    k = knowledge()
    rules = k.rules
    competing = competing_note_prefix(k)
    judged = sc.judged_refs()
    for card in body["cards"]:
        rule = card_rule(card)
        assert rule in rules
        assert rule_of_card_uuid(card["uuid"], rules) == rule
        assert len(card["summary"]) <= 139
        assert card["indicator"] in _allowed_indicators(rule, card, competing)
        for _, action in actions(card):
            if action["type"] in ("create", "update"):
                resource = action["resource"]
                try:
                    r4b_model(resource["resourceType"]).model_validate(resource)
                except ValidationError as exc:
                    pytest.fail(f"{rule}: invalid {resource['resourceType']}: {exc}")
                subject = resource.get("subject", {}).get("reference")
                assert subject == f"Patient/{sc.request['context']['patientId']}"
            if action["type"] == "delete":
                assert action["resourceId"] in judged, (
                    f"{rule} deletes {action['resourceId']}, which is not a judged draft"
                )


def _allowed_indicators(rule: str, card: dict[str, Any], competing_prefix: str) -> set[str]:
    spec = knowledge().rules[rule]
    allowed = {spec["indicator"]}
    if "indicator_when_iron_drafted" in spec:
        allowed.add(spec["indicator_when_iron_drafted"])
    if competing_prefix in card.get("detail", ""):
        allowed.add("info")  # downgraded for a competing indication (decision 2)
    return allowed


# -------------------------------------------------------------- the behaviour contract -----


@pytest.mark.parametrize("sc", [_with_known_issue(s) for s in SCENARIOS])
def test_cards_match_contract(sc: Scenario) -> None:
    got = answer(sc.name)
    assert got.status == 200, got.body
    cards = got.body["cards"]
    actual = Counter((card_rule(c), c["indicator"]) for c in cards)
    assert [pair for pair, n in actual.items() if n > 1] == [], "one card per rule"
    assert set(actual) == sc.expected_pairs()
    by_rule = {card_rule(c): c for c in cards}
    for want in sc.expected["cards"]:
        card = by_rule[want["rule"]]
        detail = card.get("detail", "")
        for text in want.get("detail_contains", []):
            assert text in detail, f"{want['rule']}: {text!r} not in detail"
        for text in want.get("detail_excludes", []):
            assert text not in detail, f"{want['rule']}: {text!r} must not be in detail"
        if want.get("deletes"):
            wanted = set(want["deletes"])
            deleting = [deleted_ids(s) for s in card.get("suggestions", [])]
            assert any(wanted <= ids for ids in deleting), (
                f"{want['rule']}: no suggestion deletes all of {sorted(wanted)}: {deleting}"
            )
    shown = json.dumps(got.body, ensure_ascii=False)
    for text in sc.expected.get("response_excludes", []):
        assert text not in shown, f"{text!r} appears in the response"
