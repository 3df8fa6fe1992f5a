"""F1: feedback bodies are validated and every error names the offending field."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from cds_service.feedback import FeedbackError, FeedbackItem, validate_feedback

CARD = "0123abcd-1111-4222-8333-444455556666"
EPIC = "com.epic.cdshooks.feedback.overrideReason."
EPIC_SYSTEM = "urn:com.epic.cdshooks.feedback.overrideReason.reasonCategory"
GOOD = {"card": CARD, "outcome": "overridden", "outcomeTimestamp": "2024-05-01T12:00:00Z"}
ACCEPTED = {
    "card": CARD,
    "outcome": "accepted",
    "outcomeTimestamp": "2024-05-01T12:00:00Z",
    "acceptedSuggestions": [{"id": "s-1"}],
}


def _with(base: dict, **changes: object) -> dict:
    item = dict(base)
    for key, value in changes.items():
        if value is ...:
            item.pop(key, None)
        else:
            item[key] = value
    return item


BAD_BODIES = [
    (None, "$"),
    ([], "$"),
    ("feedback", "$"),
    ({}, "feedback"),
    ({"feedback": {}}, "feedback"),
    ({"feedback": []}, "feedback"),
    ({"feedback": [GOOD] * 1001}, "feedback"),
    ({"feedback": [GOOD, "x"]}, "feedback[1]"),
    ({"feedback": [_with(GOOD, card=...)]}, "feedback[0].card"),
    ({"feedback": [_with(GOOD, card=42)]}, "feedback[0].card"),
    ({"feedback": [_with(GOOD, card="")]}, "feedback[0].card"),
    ({"feedback": [_with(GOOD, card="c" * 65)]}, "feedback[0].card"),
    (
        {"feedback": [_with(GOOD, overrideReason={"userComment": "a"}, overrideReasons={})]},
        "feedback[0].overrideReasons",
    ),
    ({"feedback": [_with(GOOD, overrideReasons=[])]}, "feedback[0].overrideReasons"),
    (
        {"feedback": [_with(GOOD, overrideReasons=[{"userComment": "a"}, "x"])]},
        "feedback[0].overrideReasons[1]",
    ),
    (
        {"feedback": [_with(GOOD, overrideReasons={"extension": {"other": "1"}})]},
        "feedback[0].overrideReasons",
    ),
    (
        {"feedback": [_with(GOOD, overrideReasons={"extension": {EPIC + "reasonTitle": ["x"]}})]},
        f"feedback[0].overrideReasons.extension.{EPIC}reasonTitle",
    ),
    (
        {"feedback": [_with(ACCEPTED, overrideReasons={"userComment": "no"})]},
        "feedback[0].overrideReasons",
    ),
    ({"feedback": [GOOD, _with(GOOD, outcome=...)]}, "feedback[1].outcome"),
    ({"feedback": [GOOD, GOOD, _with(GOOD, outcome="ignored")]}, "feedback[2].outcome"),
    ({"feedback": [_with(GOOD, outcomeTimestamp=...)]}, "feedback[0].outcomeTimestamp"),
    ({"feedback": [_with(GOOD, outcomeTimestamp="yesterday")]}, "feedback[0].outcomeTimestamp"),
    ({"feedback": [_with(GOOD, outcomeTimestamp="2024-05-01")]}, "feedback[0].outcomeTimestamp"),
    (
        {"feedback": [_with(GOOD, outcomeTimestamp="2024-05-01T12:00:00")]},
        "feedback[0].outcomeTimestamp",
    ),
    (
        {"feedback": [_with(GOOD, outcomeTimestamp="2024-02-30T12:00:00Z")]},
        "feedback[0].outcomeTimestamp",
    ),
    ({"feedback": [_with(ACCEPTED, acceptedSuggestions=...)]}, "feedback[0].acceptedSuggestions"),
    ({"feedback": [_with(ACCEPTED, acceptedSuggestions=[])]}, "feedback[0].acceptedSuggestions"),
    (
        {"feedback": [_with(ACCEPTED, acceptedSuggestions={"id": "s"})]},
        "feedback[0].acceptedSuggestions",
    ),
    (
        {"feedback": [_with(ACCEPTED, acceptedSuggestions=[{"id": "a"}, {}])]},
        "feedback[0].acceptedSuggestions[1].id",
    ),
    (
        {"feedback": [_with(GOOD, acceptedSuggestions=[{"id": "a"}])]},
        "feedback[0].acceptedSuggestions",
    ),
    (
        {"feedback": [_with(ACCEPTED, overrideReason={"userComment": "no"})]},
        "feedback[0].overrideReason",
    ),
    ({"feedback": [_with(GOOD, overrideReason="no")]}, "feedback[0].overrideReason"),
    ({"feedback": [_with(GOOD, overrideReason={})]}, "feedback[0].overrideReason"),
    (
        {"feedback": [_with(GOOD, overrideReason={"reason": "x"})]},
        "feedback[0].overrideReason.reason",
    ),
    (
        {"feedback": [_with(GOOD, overrideReason={"reason": {"display": "x"}})]},
        "feedback[0].overrideReason.reason.code",
    ),
    (
        {"feedback": [_with(GOOD, overrideReason={"reason": {"code": "a", "system": 1}})]},
        "feedback[0].overrideReason.reason.system",
    ),
    (
        {"feedback": [_with(GOOD, overrideReason={"userComment": ["x"]})]},
        "feedback[0].overrideReason.userComment",
    ),
    (
        {"feedback": [_with(GOOD, overrideReason={"userComment": "x" * 5000})]},
        "feedback[0].overrideReason.userComment",
    ),
]


@pytest.mark.parametrize(("body", "field"), BAD_BODIES)
def test_f1_invalid_feedback_names_the_field(body: object, field: str) -> None:
    with pytest.raises(FeedbackError) as caught:
        validate_feedback(body)
    assert caught.value.field == field
    assert caught.value.message
    assert isinstance(caught.value, ValueError)


def test_f1_valid_items_become_frozen_values() -> None:
    reason = {"reason": {"system": "urn:x", "code": "c1", "display": "Patient declined"}}
    body = {
        "extension": {"x": 1},
        "feedback": [
            ACCEPTED,
            _with(GOOD, overrideReason={**reason, "userComment": "later", "extension": {}}),
            _with(GOOD, outcomeTimestamp="2024-05-01T14:30:00.1234567+02:30", future="ignored"),
        ],
    }
    items = validate_feedback(json.loads(json.dumps(body)))
    assert [item.outcome for item in items] == ["accepted", "overridden", "overridden"]
    assert items[0].accepted_suggestions == ("s-1",)
    assert items[0].override_reason is None
    override = items[1].override_reason
    assert override is not None
    assert (override.system, override.code, override.display) == ("urn:x", "c1", "Patient declined")
    assert override.user_comment == "later"
    assert json.loads(override.raw_json) == {**reason, "userComment": "later", "extension": {}}
    assert items[2].outcome_timestamp == datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)
    with pytest.raises(AttributeError):
        items[0].outcome = "overridden"  # type: ignore[misc]
    assert isinstance(items[0], FeedbackItem)


def test_f1_comment_only_and_empty_overridden_suggestions_are_accepted() -> None:
    items = validate_feedback(
        {"feedback": [_with(GOOD, acceptedSuggestions=[], overrideReason={"userComment": "n/a"})]}
    )
    assert items[0].accepted_suggestions == ()
    assert items[0].override_reason is not None
    assert items[0].override_reason.code is None


def _reason(**item: object) -> tuple:
    (parsed,) = validate_feedback({"feedback": [_with(GOOD, **item)]})
    r = parsed.override_reason
    assert r is not None
    return (r.system, r.code, r.display, r.title, r.user_comment)


def test_epic_override_reasons_object_array_and_extension_forms() -> None:
    coding = {"reason": {"system": "urn:x", "code": "c1", "display": "D"}, "userComment": "n"}
    assert _reason(overrideReasons=coding) == ("urn:x", "c1", "D", None, "n")
    assert _reason(overrideReasons=[coding]) == ("urn:x", "c1", "D", None, "n")
    assert _reason(overrideReason=coding) == ("urn:x", "c1", "D", None, "n")
    epic = {EPIC + "reasonCategory": "45", EPIC + "reasonDisplay": "Does not meet criteria",
            EPIC + "reasonTitle": "Criteria"}
    assert _reason(overrideReasons={"extension": epic}) == (
        EPIC_SYSTEM, "45", "Does not meet criteria", "Criteria", None)
    # FHIR-style extension array; a numeric category; title stands in for a missing display.
    fhir_style = [{"url": EPIC + "reasonCategory", "valueString": "7"},
                  {"url": EPIC + "reasonTitle", "valueString": "Allergy"}]
    assert _reason(overrideReasons={"extension": fhir_style}) == (
        EPIC_SYSTEM, "7", "Allergy", "Allergy", None)
    assert _reason(overrideReasons={"extension": {EPIC + "reasonCategory": 12}}) == (
        EPIC_SYSTEM, "12", None, None, None)
    # Without a category the title (else the display) is the code, so analytics can count it.
    assert _reason(overrideReasons={"extension": {EPIC + "reasonDisplay": "Other"}}) == (
        EPIC_SYSTEM, "Other", "Other", None, None)
    # An array: the first reason that names a code is the item's, comments are joined.
    assert _reason(overrideReasons=[{"userComment": "a"}, coding]) == (
        "urn:x", "c1", "D", None, "a\nn")


def test_card_ids_that_are_not_uuids_are_read_and_do_not_cost_the_batch() -> None:
    (item,) = validate_feedback({"feedback": [_with(GOOD, card="123456")]})
    assert item.card == "123456"
