"""Cards say why, and the most important card comes first.

When iron status is unknown, the summary names the reason in short and the first line of the
detail says it in full: each result's age against the freshness limit, or why it was set aside
(unit, implausible value, status, serum iron and TIBC on different days). Cards are ordered
critical, then warning, then info, then by ``card_order`` in recommendations.json. The clock is
2026-06-15 (tests/conftest.py).
"""

from __future__ import annotations

import pytest

from cds_service.knowledge import load_knowledge
from tests.fhir_builders import medication_request, observation, request
from tests.test_lab_boundaries import FERRITIN, IRON, TIBC, TSAT, patient_view, rules

K = load_knowledge()
LEAD = "**Why the iron status is unknown:** "
STUDIES_NEEDED = [("iron-studies-needed", "info")]


def _first_line(card: dict) -> str:
    return card["detail"].split("\n\n")[0]


def test_stale_ferritin_says_its_age_and_the_limit(client) -> None:
    cards = patient_view(client, [observation("f", FERRITIN, 42, "ng/mL", date="2025-11-27"),
                                  observation("t", TSAT, 25, "%", date="2025-11-27")])
    assert rules(cards) == STUDIES_NEEDED
    assert cards[0]["summary"] == (
        "RLS: iron status unknown (ferritin 200 days old; TSAT 200 days old); order morning "
        "fasting ferritin and iron panel")
    assert _first_line(cards[0]) == (
        LEAD + "Ferritin 42 ng/mL from 2025-11-27 is 200 days old; results older than 180 days "
        "are not used. TSAT 25% from 2025-11-27 is 200 days old; results older than 180 days "
        "are not used.")


def test_the_limit_is_the_configured_window(tmp_path) -> None:
    from datetime import UTC, datetime

    from cds_service import create_app

    app = create_app({"require_auth": False, "data_dir": tmp_path, "freshness_days": 90,
                      "clock": lambda: datetime(2026, 6, 15, 9, tzinfo=UTC)})
    cards = patient_view(app.test_client(),
                         [observation("f", FERRITIN, 42, "ng/mL", date="2026-03-01"),
                          observation("t", TSAT, 25, "%", date="2026-06-01")])
    assert rules(cards) == STUDIES_NEEDED
    assert _first_line(cards[0]) == (
        LEAD + "Ferritin 42 ng/mL from 2026-03-01 is 106 days old; results older than 90 days "
        "are not used.")


def test_a_fresh_value_next_to_a_stale_one_names_only_the_stale_one(client) -> None:
    cards = patient_view(client, [observation("f", FERRITIN, 150, "ng/mL"),
                                  observation("t", TSAT, 25, "%", date="2025-11-27")])
    assert rules(cards) == STUDIES_NEEDED
    assert "(TSAT 200 days old)" in cards[0]["summary"]
    assert _first_line(cards[0]) == (
        LEAD + "TSAT 25% from 2025-11-27 is 200 days old; results older than 180 days are not "
        "used.")


@pytest.mark.parametrize(("observations", "short", "sentence"), [
    ([observation("f", FERRITIN, 40, "U/L"), observation("t", TSAT, 25, "%")],
     "ferritin set aside",
     "Ferritin from 2026-06-01 set aside: unit 'U/L' is not one the service can convert."),
    ([observation("f", FERRITIN, 150, "ng/mL"), observation("t", TSAT, 0.35, "%")],
     "TSAT set aside",
     "TSAT 0.35 % from 2026-06-01 set aside: below the plausible range 1 to 100 %"),
    ([observation("f", FERRITIN, 40, "ng/mL", status="preliminary"),
      observation("t", TSAT, 25, "%")],
     "ferritin not final",
     "Ferritin results with status preliminary do not count; only final, amended or "
     "corrected results are used."),
    ([observation("f", FERRITIN, 150, "ng/mL"), observation("i", IRON, 60, "ug/dL"),
      observation("c", TIBC, 300, "ug/dL", date="2026-06-02")],
     "iron and TIBC on different days",
     "Serum iron (2026-06-01) and TIBC (2026-06-02) were drawn on different days; TSAT is "
     "computed only from same-day results."),
    ([observation("f", FERRITIN, 150, "ng/mL")], "no TSAT", "No TSAT result on record."),
], ids=["unit", "implausible", "status", "different-days", "none"])
def test_every_reason_a_value_is_set_aside_is_said(client, observations, short,
                                                   sentence) -> None:
    cards = patient_view(client, observations)
    assert rules(cards) == STUDIES_NEEDED
    assert f"iron status unknown ({short})" in cards[0]["summary"]
    assert _first_line(cards[0]).startswith(LEAD + sentence)


def test_a_preliminary_result_is_named_but_never_cited(client) -> None:
    cards = patient_view(client, [observation("f", FERRITIN, 18, "ng/mL", status="preliminary"),
                                  observation("t", TSAT, 25, "%")])
    text = cards[0]["summary"] + cards[0]["detail"]
    assert "preliminary" in text
    assert "18 ng/mL" not in text and "Observation/f" not in text


CABERGOLINE = medication_request("cab", "47579", "cabergoline 0.5 MG Oral Tablet")
PRAMIPEXOLE = medication_request("pram", "859046", "pramipexole dihydrochloride 0.125 MG Oral "
                                 "Tablet")
LOW_IRON = [observation("f", FERRITIN, 40, "ng/mL"), observation("t", TSAT, 25, "%")]


def test_cards_come_critical_then_warning_then_info(client) -> None:
    body = request("order-sign", drafts=[PRAMIPEXOLE, CABERGOLINE], observations=LOW_IRON)
    cards = client.post("/cds-services/rls-order-sign", json=body).get_json()["cards"]
    assert rules(cards) == [
        ("cabergoline-strong-against", "critical"),
        ("dopamine-agonist-against", "warning"),
        ("iv-iron-indicated", "info"),
        ("alpha2delta-first-line", "info"),
    ]


def test_within_one_indicator_the_knowledge_order_decides(client) -> None:
    """Iron studies needed (warning, iron drafted) comes after the agonist warning because
    card_order puts it there; moving it in the knowledge would move it in the answer."""
    fcm = medication_request("fcm", "1435169", "ferric carboxymaltose 750 MG in 15 ML Injection")
    body = request("order-sign", drafts=[fcm, PRAMIPEXOLE], observations=[])
    cards = client.post("/cds-services/rls-order-sign", json=body).get_json()["cards"]
    assert rules(cards) == [
        ("dopamine-agonist-against", "warning"),
        ("iron-studies-needed", "warning"),
        ("alpha2delta-first-line", "info"),
    ]
    order = K.raw["recommendations"]["card_order"]
    assert order.index("dopamine-agonist-against") < order.index("iron-studies-needed")


def test_a_value_sent_only_as_a_bound_is_said_to_be_one(client) -> None:
    ferritin = observation("f", FERRITIN, 100, "ng/mL")
    ferritin["valueQuantity"]["comparator"] = "<"
    cards = patient_view(client, [ferritin, observation("t", TSAT, 25, "%")])
    assert rules(cards) == STUDIES_NEEDED
    assert "iron status unknown (ferritin <100 ng/mL only a bound)" in cards[0]["summary"]
    assert _first_line(cards[0]) == (
        LEAD + "Ferritin <100 ng/mL is a bound, not a value: it cannot be placed against the "
        "threshold.")
