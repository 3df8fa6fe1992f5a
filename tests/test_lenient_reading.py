"""Lenient reading of client shapes (fhir/lenient.py, validation.invalid_reason, as_list), and
the explicit per-key prefetch policy (fhir/prefetch.py)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from cds_service.fhir.lenient import lenient_copy
from cds_service.fhir.prefetch import KeyState, key_state, missing_keys, usable_prefetch
from cds_service.fhir.resources import iter_resources
from cds_service.fhir.validation import invalid_reason
from cds_service.hook_call import call_service
from cds_service.knowledge import load_knowledge
from tests.scenario_support import scenario

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"


def _draft(**fields: Any) -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest",
        "id": "d1",
        "status": "draft",
        "intent": "order",
        "subject": {"reference": "Patient/p1"},
        "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": "859040"}]},
        **fields,
    }


def test_a_lone_object_for_an_array_is_wrapped_at_any_depth() -> None:
    draft = _draft(
        category={"coding": {"code": "community"}},  # both levels are arrays in R4
        dosageInstruction={"doseAndRate": {"doseQuantity": {"value": 1}}},
    )
    copy_, changed = lenient_copy(draft)
    assert copy_["category"] == [{"coding": [{"code": "community"}]}]
    assert copy_["dosageInstruction"] == [{"doseAndRate": [{"doseQuantity": {"value": 1}}]}]
    assert set(changed) == {
        "category", "category.coding", "dosageInstruction", "dosageInstruction.doseAndRate"
    }
    assert draft["category"] == {"coding": {"code": "community"}}  # the input is not changed


def test_lone_objects_and_a_missing_intent_are_readable() -> None:
    draft = _draft(category={"coding": [{"code": "community"}]}, reasonCode={"text": "RLS"})
    del draft["intent"]
    assert invalid_reason(draft) is None


def test_what_is_still_invalid_stays_invalid_with_plain_words() -> None:
    bad = _draft(medicationCodeableConcept="pramipexole")
    reason = invalid_reason(bad)
    assert reason is not None
    assert reason.message == (
        "the drug (medicationCodeableConcept) is not written as FHIR R4 requires")
    assert reason.code == "MedicationRequest.medicationCodeableConcept:json_invalid"
    assert invalid_reason(_draft(authoredOn="last spring")).message == (
        "the order date (authoredOn) is not a valid FHIR R4 value"
    )


def test_a_lone_entry_object_in_a_bundle_is_read() -> None:
    bundle = {"resourceType": "Bundle", "entry": {"resource": _draft()}}  # no type, one entry
    assert [r["id"] for r in iter_resources(bundle)] == ["d1"]


OUTCOME_EMPTY = {
    "resourceType": "Bundle",
    "type": "searchset",
    "total": 0,
    "entry": [{
        "resource": {"resourceType": "OperationOutcome", "issue": [
            {"severity": "warning", "code": "processing"}]},
        "search": {"mode": "outcome"},
    }],
}


@pytest.mark.parametrize(
    ("value", "state"),
    [
        (None, KeyState.EMPTY),
        (OUTCOME_EMPTY, KeyState.EMPTY),
        ({"resourceType": "OperationOutcome",
          "issue": [{"severity": "information", "code": "informational"}]}, KeyState.EMPTY),
        ({"resourceType": "OperationOutcome",
          "issue": [{"severity": "error", "code": "timeout"}]}, KeyState.ERROR),
        ({"resourceType": "OperationOutcome", "issue": []}, KeyState.ERROR),
        ({"resourceType": "Bundle", "type": "searchset", "entry": [
            {"resource": {"resourceType": "OperationOutcome", "issue": [
                {"severity": "fatal", "code": "exception"}]}}]}, KeyState.ERROR),
        ({"resourceType": "Bundle", "type": "searchset", "entry": [
            {"resource": _draft()}, *OUTCOME_EMPTY["entry"]]}, KeyState.DATA),
        ({"resourceType": "Bundle", "type": "searchset", "total": 0}, KeyState.DATA),
        ({"resourceType": "Patient", "id": "p1"}, KeyState.DATA),
    ],
)
def test_prefetch_key_states(value: Any, state: KeyState) -> None:
    assert key_state({"k": value}, "k") is state


def test_absent_is_missing_and_only_missing_and_error_are_fetched() -> None:
    templates = {"a": "A", "b": "B", "c": "C", "d": "D"}
    error = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "x"}]}
    prefetch = {"b": None, "c": OUTCOME_EMPTY, "d": error}
    assert key_state(prefetch, "a") is KeyState.MISSING
    assert missing_keys(templates, prefetch) == ["a", "d"]
    assert usable_prefetch(templates, {"b": None, "c": OUTCOME_EMPTY}) == {
        "a": None, "b": None, "c": None, "d": None
    }


def test_a_condition_coding_sent_as_one_object_opens_the_rls_gate() -> None:
    """The same RLS patient with the Condition's coding (and the Observation's) as single
    objects gets exactly the cards of the R4-shaped request."""
    sc = scenario("rls-low-ferritin-orders-pramipexole")
    body = copy.deepcopy(sc.request)
    for key in ("conditions", "ironStudies"):
        for entry in body["prefetch"][key]["entry"]:
            code = entry["resource"]["code"]
            code["coding"] = code["coding"][0]
    from cds_service.config import load_settings
    from cds_service.registry import load_services

    settings = load_settings(overrides={"clock": lambda: sc.now, "require_auth": False})
    service = load_services(settings.hooks_dir)[sc.service]
    knowledge = load_knowledge()
    as_r4 = call_service(knowledge, settings, service, sc.request)
    as_sent = call_service(knowledge, settings, service, body)
    assert as_sent.rule_ids == as_r4.rule_ids == (
        "dopamine-agonist-against", "iv-iron-indicated", "alpha2delta-first-line"
    )
    assert as_sent.unreadable == ()


def test_an_order_with_no_drug_is_named_in_the_log_not_on_a_card() -> None:
    sc = scenario("rls-low-ferritin-orders-pramipexole")
    body = copy.deepcopy(sc.request)
    del body["context"]["draftOrders"]["entry"][0]["resource"]["medicationCodeableConcept"]
    from cds_service.config import load_settings
    from cds_service.registry import load_services

    settings = load_settings(
        overrides={"clock": lambda: datetime(2026, 6, 15, tzinfo=UTC), "require_auth": False}
    )
    service = load_services(settings.hooks_dir)[sc.service]
    outcome = call_service(load_knowledge(), settings, service, body)
    assert outcome.response == {"cards": []}
    assert outcome.unreadable == ("MedicationRequest.medication:absent",)
