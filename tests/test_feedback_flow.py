"""Feedback end to end: a card from a real response, accepted and overridden, in the analytics."""

from __future__ import annotations

from tests.fhir_builders import observation, request


def test_feedback_on_issued_cards_reaches_the_report(client) -> None:
    body = request("order-select", observations=[observation("f", "2276-4", 30, "ng/mL")])
    cards = client.post("/cds-services/rls-order-select", json=body).get_json()["cards"]
    by_rule = {c["source"]["topic"]["code"]: c for c in cards}
    iron, agonist = by_rule["iv-iron-indicated"], by_rule["dopamine-agonist-against"]
    feedback = {"feedback": [
        {"card": iron["uuid"], "outcome": "accepted", "outcomeTimestamp": "2026-06-15T09:01:00Z",
         "acceptedSuggestions": [{"id": iron["suggestions"][0]["uuid"]}]},
        {"card": agonist["uuid"], "outcome": "overridden",
         "outcomeTimestamp": "2026-06-15T09:02:00Z",
         "overrideReason": {"reason": agonist["overrideReasons"][0],
                            "userComment": "short trip"}},
    ]}
    first = client.post("/cds-services/rls-order-select/feedback", json=feedback)
    again = client.post("/cds-services/rls-order-select/feedback", json=feedback)
    assert (first.status_code, first.get_json()) == (200, {"received": 2, "stored": 2})
    assert (again.status_code, again.get_json()) == (200, {"received": 2, "stored": 0})
    report = client.get("/analytics/feedback").get_json()
    rules = {r["ruleId"]: r for r in report["rules"] if r.get("ruleId")}
    assert rules["iv-iron-indicated"]["accepted"] == 1
    assert rules["dopamine-agonist-against"]["overridden"] == 1
    assert rules["dopamine-agonist-against"]["topOverrideReasons"][0]["code"] == "short-term-use"


def test_feedback_for_unknown_service_is_404(client) -> None:
    response = client.post("/cds-services/nope/feedback", json={"feedback": []})
    assert response.status_code == 404
