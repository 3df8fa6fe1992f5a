"""Every iron threshold at its exact boundary, from raw FHIR JSON through the HTTP app.

Values travel as JSON numbers (parsed to binary floats by orjson), are converted between units
and combined into a TSAT, and are still compared exactly: 11.7 / 58.5 umol/L is TSAT 20 %
(binary floats give 19.999999999999996, which qualified a patient who does not).
Each case names the patient and the exact cards (rule id, indicator) at patient-view.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.fhir_builders import condition, medication_request, observation, request

FERRITIN, FERRITIN_MOLAR, TSAT = "2276-4", "14723-1", "2502-3"
IRON, TIBC, UIBC = "2498-4", "2500-7", "2501-5"
IRON_MOLAR, TIBC_MOLAR = "14798-3", "14800-7"
ESRD = condition("esrd", "46177005")
QUALIFIES = [("iv-iron-indicated", "info")]
NOT_QUALIFYING = [("alpha2delta-first-line", "info")]  # fresh, non-qualifying iron (7.4 b)
FCM = medication_request("fcm", "1435169", "ferric carboxymaltose 750 MG in 15 ML Injection")


def obs(oid: str, loinc: str, value: float, unit: str) -> dict[str, Any]:
    return observation(oid, loinc, value, unit)


def patient_view(client, observations, *, esrd: bool = False, birth: str = "1970-01-01"):
    conditions = [condition()] + ([ESRD] if esrd else [])
    body = request("patient-view", observations=observations, conditions=conditions)
    body["prefetch"]["patient"]["birthDate"] = birth
    response = client.post("/cds-services/rls-patient-view", json=body)
    assert response.status_code == 200
    return response.get_json()["cards"]


def order_select_fcm(client, observations):
    body = request("order-select", drafts=[FCM], observations=observations)
    response = client.post("/cds-services/rls-order-select", json=body)
    assert response.status_code == 200
    return response.get_json()["cards"]


def rules(cards) -> list[tuple[str, str]]:
    return [(c["source"]["topic"]["code"], c["indicator"]) for c in cards]


ADULT_CASES = [
    # (patient, observations, expected cards, text the card shows for the deciding value)
    ("ferritin 168.525 pmol/L = 75 ng/mL exactly: qualifies (<= 75)",
     [obs("f", FERRITIN_MOLAR, 168.525, "pmol/L"), obs("t", TSAT, 30, "%")],
     QUALIFIES, "ferritin 75 ng/mL"),
    ("ferritin 168.54747 pmol/L = 75.01 ng/mL: does not qualify",
     [obs("f", FERRITIN_MOLAR, 168.54747, "pmol/L"), obs("t", TSAT, 30, "%")],
     NOT_QUALIFYING, "**75.01 ng/mL**"),
    ("ferritin 168.526 pmol/L = 75.000445 ng/mL: does not qualify, never shown as 75",
     [obs("f", FERRITIN_MOLAR, 168.526, "pmol/L"), obs("t", TSAT, 30, "%")],
     NOT_QUALIFYING, "**75.0004 ng/mL**"),
    ("ferritin 75 ng/mL: qualifies",
     [obs("f", FERRITIN, 75, "ng/mL"), obs("t", TSAT, 30, "%")], QUALIFIES, "ferritin 75 ng/mL"),
    ("ferritin 75.01 ug/L: does not qualify",
     [obs("f", FERRITIN, 75.01, "ug/L"), obs("t", TSAT, 30, "%")],
     NOT_QUALIFYING, "**75.01 ng/mL**"),
    ("TSAT 20 from iron 60 / TIBC 300 ug/dL: does not qualify",
     [obs("f", FERRITIN, 150, "ng/mL"), obs("i", IRON, 60, "ug/dL"), obs("c", TIBC, 300, "ug/dL")],
     NOT_QUALIFYING, "**20%**"),
    ("TSAT 19.99 from iron 59.97 / TIBC 300 ug/dL: qualifies",
     [obs("f", FERRITIN, 150, "ng/mL"), obs("i", IRON, 59.97, "ug/dL"),
      obs("c", TIBC, 300, "ug/dL")],
     QUALIFIES, "TSAT 19.99%"),
    ("TSAT 20 from iron 11.7 / TIBC 58.5 umol/L (floats: 19.999999999999996): does not qualify",
     [obs("f", FERRITIN, 150, "ng/mL"), obs("i", IRON_MOLAR, 11.7, "umol/L"),
      obs("c", TIBC_MOLAR, 58.5, "umol/L")],
     NOT_QUALIFYING, "**20%**"),
    ("TSAT 19.99 from iron 9.995 / TIBC 50 umol/L: qualifies",
     [obs("f", FERRITIN, 150, "ng/mL"), obs("i", IRON_MOLAR, 9.995, "umol/L"),
      obs("c", TIBC_MOLAR, 50, "umol/L")],
     QUALIFIES, "TSAT 19.99%"),
    ("TSAT 20 from iron 60 + UIBC 240 ug/dL: does not qualify",
     [obs("f", FERRITIN, 150, "ng/mL"), obs("i", IRON, 60, "ug/dL"), obs("u", UIBC, 240, "ug/dL")],
     NOT_QUALIFYING, "**20%**"),
    ("TSAT 19.99 from iron 59.97 + UIBC 240.03 ug/dL: qualifies",
     [obs("f", FERRITIN, 150, "ng/mL"), obs("i", IRON, 59.97, "ug/dL"),
      obs("u", UIBC, 240.03, "ug/dL")],
     QUALIFIES, "TSAT 19.99%"),
    ("TSAT 20 from iron 11.7 + UIBC 46.8 umol/L: does not qualify",
     [obs("f", FERRITIN, 150, "ng/mL"), obs("i", IRON_MOLAR, 11.7, "umol/L"),
      obs("u", UIBC, 46.8, "umol/L")],
     NOT_QUALIFYING, "**20%**"),
    ("TSAT reported as the fraction 0.2: does not qualify",
     [obs("f", FERRITIN, 150, "ng/mL"), obs("t", TSAT, 0.2, "1")], NOT_QUALIFYING, "**20%**"),
    ("TSAT reported as the fraction 0.1999: qualifies",
     [obs("f", FERRITIN, 150, "ng/mL"), obs("t", TSAT, 0.1999, "1")], QUALIFIES, "TSAT 19.99%"),
    ("TSAT 19.99 %: qualifies",
     [obs("f", FERRITIN, 150, "ng/mL"), obs("t", TSAT, 19.99, "%")], QUALIFIES, "TSAT 19.99%"),
    ("TSAT 19.999 %: qualifies, shown as 19.999 (never as 20)",
     [obs("f", FERRITIN, 150, "ng/mL"), obs("t", TSAT, 19.999, "%")], QUALIFIES, "TSAT 19.999%"),
]


@pytest.mark.parametrize(("patient", "observations", "expected", "shown"), ADULT_CASES,
                         ids=[c[0] for c in ADULT_CASES])
def test_adult_boundaries(client, patient, observations, expected, shown) -> None:
    assert rules(patient_view(client, observations)) == expected, patient
    # The same patient with IV ferric carboxymaltose drafted: the iron card shows the value.
    cards = order_select_fcm(client, observations)
    iron_rule = "iv-iron-indicated" if expected == QUALIFIES else "iv-iron-not-indicated"
    assert rules(cards) == [(iron_rule, "info")], patient
    assert shown in cards[0]["summary"] + cards[0]["detail"]
    assert "99999" not in cards[0]["summary"] + cards[0]["detail"]


ESRD_CASES = [
    ("ESRD, ferritin 199.99, TSAT 19.99: iron sucrose",
     [obs("f", FERRITIN, 199.99, "ng/mL"), obs("t", TSAT, 19.99, "%")],
     [("iron-sucrose-esrd", "info")]),
    ("ESRD, ferritin 200, TSAT 19: no card (both must be below)",
     [obs("f", FERRITIN, 200, "ng/mL"), obs("t", TSAT, 19, "%")], []),
    ("ESRD, ferritin 449.4 pmol/L = 200 ng/mL, TSAT 19: no card",
     [obs("f", FERRITIN_MOLAR, 449.4, "pmol/L"), obs("t", TSAT, 19, "%")], []),
    ("ESRD, ferritin 449.37753 pmol/L = 199.99 ng/mL, TSAT 19: iron sucrose",
     [obs("f", FERRITIN_MOLAR, 449.37753, "pmol/L"), obs("t", TSAT, 19, "%")],
     [("iron-sucrose-esrd", "info")]),
    ("ESRD, ferritin 150, TSAT 20 from 11.7 / 58.5 umol/L: no card",
     [obs("f", FERRITIN, 150, "ng/mL"), obs("i", IRON_MOLAR, 11.7, "umol/L"),
      obs("c", TIBC_MOLAR, 58.5, "umol/L")], []),
    ("ESRD, ferritin 150, TSAT 19.99 from 9.995 / 50 umol/L: iron sucrose",
     [obs("f", FERRITIN, 150, "ng/mL"), obs("i", IRON_MOLAR, 9.995, "umol/L"),
      obs("c", TIBC_MOLAR, 50, "umol/L")], [("iron-sucrose-esrd", "info")]),
]


@pytest.mark.parametrize(("patient", "observations", "expected"), ESRD_CASES,
                         ids=[c[0] for c in ESRD_CASES])
def test_esrd_boundaries(client, patient, observations, expected) -> None:
    assert rules(patient_view(client, observations, esrd=True)) == expected, patient


CHILD_CASES = [
    ("child, ferritin 50 ng/mL: no card", [obs("f", FERRITIN, 50, "ng/mL")], []),
    ("child, ferritin 49.99 ng/mL: oral iron", [obs("f", FERRITIN, 49.99, "ng/mL")],
     [("oral-iron-pediatric", "info")]),
    ("child, ferritin 112.35 pmol/L = 50 ng/mL: no card",
     [obs("f", FERRITIN_MOLAR, 112.35, "pmol/L")], []),
    ("child, ferritin 112.32753 pmol/L = 49.99 ng/mL: oral iron",
     [obs("f", FERRITIN_MOLAR, 112.32753, "pmol/L")], [("oral-iron-pediatric", "info")]),
]


@pytest.mark.parametrize(("patient", "observations", "expected"), CHILD_CASES,
                         ids=[c[0] for c in CHILD_CASES])
def test_child_boundaries(client, patient, observations, expected) -> None:
    cards = patient_view(client, observations, birth="2016-03-01")
    assert rules(cards) == expected, patient


def test_child_oral_iron_card_shows_the_converted_value(client) -> None:
    cards = patient_view(client, [obs("f", FERRITIN_MOLAR, 112.32753, "pmol/L")],
                         birth="2016-03-01")
    assert "**49.99 ng/mL**" in cards[0]["detail"]
    assert "sent as 112.32753 pmol/L" in cards[0]["detail"]
