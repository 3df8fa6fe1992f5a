"""Implausible lab values are not evidence: set aside, and the card says which and why.

Each case is one patient at patient-view (or with IV ferric carboxymaltose drafted) and the
exact cards (rule id, indicator) it gets. Ranges come from parameters.json ``plausible_ranges``.
"""

from __future__ import annotations

from fractions import Fraction

import pytest

from cds_service.knowledge import load_knowledge
from tests.fhir_builders import observation
from tests.test_lab_boundaries import (
    FERRITIN,
    IRON,
    TIBC,
    TSAT,
    order_select_fcm,
    patient_view,
    rules,
)

K = load_knowledge()
STUDIES_NEEDED = [("iron-studies-needed", "info")]
TSAT_TOO_LOW = ("Observation/t (Transferrin saturation 0.35 % set aside: below the plausible "
                "range 1 to 100 %: a saturation below 1% is under what iron assays can measure")
FERRITIN_ZERO = ("Observation/f (Ferritin 0 ng/mL set aside: below the plausible range more "
                 "than 0 to 1000000 ng/mL: a ferritin of 0 is not a measurement")

CASES = [
    # (patient, observations, expected cards, text naming the result set aside)
    ("TSAT 0.35 % next to ferritin 150: TSAT set aside, decision unknown",
     [observation("f", FERRITIN, 150, "ng/mL"), observation("t", TSAT, 0.35, "%")],
     STUDIES_NEEDED, TSAT_TOO_LOW),
    ("TSAT 0.35 % next to ferritin 40: ferritin alone qualifies",
     [observation("f", FERRITIN, 40, "ng/mL"), observation("t", TSAT, 0.35, "%")],
     [("iv-iron-indicated", "info")], TSAT_TOO_LOW),
    ("ferritin 0 next to TSAT 30 %: ferritin set aside, decision unknown",
     [observation("f", FERRITIN, 0, "ng/mL"), observation("t", TSAT, 30, "%")],
     STUDIES_NEEDED, FERRITIN_ZERO),
    ("ferritin 0 next to TSAT 12 %: TSAT alone qualifies",
     [observation("f", FERRITIN, 0, "ng/mL"), observation("t", TSAT, 12, "%")],
     [("iv-iron-indicated", "info")], FERRITIN_ZERO),
    ("TSAT 120 % next to ferritin 150: TSAT set aside",
     [observation("f", FERRITIN, 150, "ng/mL"), observation("t", TSAT, 120, "%")],
     STUDIES_NEEDED, "Observation/t (Transferrin saturation 120 % set aside: above the "
                     "plausible range 1 to 100 %: transferrin cannot be more than 100% saturated)"),
    ("iron 350 above TIBC 300 ug/dL (TSAT 116.67 %) next to ferritin 150: set aside",
     [observation("f", FERRITIN, 150, "ng/mL"), observation("i", IRON, 350, "ug/dL"),
      observation("c", TIBC, 300, "ug/dL")],
     STUDIES_NEEDED, "Observation/i + Observation/c (computed TSAT 116.67% set aside: above the "
                     "plausible range 1 to 100 %"),
    ("newest ferritin 0, older fresh ferritin 40: the older one decides",
     [observation("f", FERRITIN, 0, "ng/mL"),
      observation("f-old", FERRITIN, 40, "ng/mL", date="2026-03-01"),
      observation("t", TSAT, 30, "%")],
     [("iv-iron-indicated", "info")], FERRITIN_ZERO),
]


@pytest.mark.parametrize(("patient", "observations", "expected", "named"), CASES,
                         ids=[c[0] for c in CASES])
def test_implausible_result_is_set_aside_and_named(client, patient, observations, expected,
                                                    named) -> None:
    cards = patient_view(client, observations)
    assert rules(cards) == expected, patient
    assert named in cards[0]["detail"]
    assert "Results that could not be used:" in cards[0]["detail"]


def test_set_aside_value_never_reaches_the_summary(client) -> None:
    cards = patient_view(client, [observation("f", FERRITIN, 150, "ng/mL"),
                                  observation("t", TSAT, 0.35, "%")])
    assert "0.35" not in cards[0]["summary"]
    assert "**0.35%**" not in cards[0]["detail"]


def test_iron_ordered_with_implausible_tsat_warns_studies_needed(client) -> None:
    cards = order_select_fcm(client, [observation("f", FERRITIN, 150, "ng/mL"),
                                      observation("t", TSAT, 0.35, "%")])
    assert rules(cards) == [("iron-studies-needed", "warning")]
    assert TSAT_TOO_LOW in cards[0]["detail"]


def test_esrd_with_implausible_tsat_gets_no_iron_sucrose(client) -> None:
    cards = patient_view(client, [observation("f", FERRITIN, 150, "ng/mL"),
                                  observation("t", TSAT, 0.35, "%")], esrd=True)
    assert rules(cards) == STUDIES_NEEDED
    assert TSAT_TOO_LOW in cards[0]["detail"]


def test_tsat_fraction_035_is_35_percent_not_implausible(client) -> None:
    cards = patient_view(client, [observation("f", FERRITIN, 150, "ng/mL"),
                                  observation("t", TSAT, 0.35, "1")])
    assert rules(cards) == [("alpha2delta-first-line", "info")]


def test_ferritin_below_detection_limit_is_a_real_result(client) -> None:
    ferritin = observation("f", FERRITIN, 1, "ng/mL")
    ferritin["valueQuantity"]["comparator"] = "<"
    cards = patient_view(client, [ferritin])
    assert rules(cards) == [("iv-iron-indicated", "info")]
    assert "**<1 ng/mL**" in cards[0]["detail"]


@pytest.mark.parametrize(("analyte", "value", "comparator", "problem"), [
    ("tsat", "1", "", None), ("tsat", "0.99", "", "below"), ("tsat", "100", "", None),
    ("tsat", "100.01", "", "above"), ("tsat", "100", ">", "above"), ("tsat", "0.5", "<", None),
    ("ferritin", "0", "", "below"), ("ferritin", "0.1", "", None), ("ferritin", "0", "<", "below"),
    ("ferritin", "1000001", "", "above"), ("uibc", "0", "", None), ("tibc", "0", "", "below"),
    ("hemoglobin", "0.9", "", "below"), ("hemoglobin", "25", "", None),
])
def test_plausible_range_edges(analyte, value, comparator, problem) -> None:
    found = K.plausible[analyte].problem(Fraction(value), comparator)
    assert (found.split(" ")[0] if found else None) == problem


def test_every_analyte_has_a_plausible_range_with_rationale_and_source() -> None:
    ranges = K.raw["parameters"]["plausible_ranges"]
    assert set(ranges) == set(K.analytes)
    for analyte, spec in ranges.items():
        assert spec["unit"] == K.analytes[analyte].unit, analyte
        assert spec["rationale"] and spec["source"] and spec["why_low"] and spec["why_high"]
