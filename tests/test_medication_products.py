"""Every iron product and the RLS opioids, by ingredient code, product code and brand name; the
formulation read from the order when the coding is ingredient-level; the order's reason wins."""

from __future__ import annotations

import pytest

from cds_service.engine.evaluate import evaluate
from cds_service.engine.facts import Concept, MedicationFact
from cds_service.engine.medications import ingredient_of
from cds_service.knowledge import load_knowledge
from tests.engine_builders import NOW, hook, lab, med, record

K = load_knowledge()
SPECS = {spec["id"]: spec for spec in K.raw["medications"]["ingredients"]}
IRON_IDS = [i for i, spec in SPECS.items() if spec["class"] in ("iron-iv", "iron-oral")]
OK_IRON = (lab("ferritin", 150), lab("tsat", 30))


def classify(*codes: str, text: str = "", form: str = "") -> str | None:
    found = ingredient_of(K, Concept(tuple(("rxnorm", c) for c in codes), text), form)
    return found.id if found else None


@pytest.mark.parametrize(
    ("ingredient", "code"),
    [(i, c["code"]) for i in IRON_IDS for c in SPECS[i]["codes"]],
)
def test_every_iron_code_classifies_as_its_own_product(ingredient: str, code: str) -> None:
    assert classify(code) == ingredient


@pytest.mark.parametrize(("ingredient", "in_code", "product_code", "brand"), [
    ("ferric-carboxymaltose", "1433693", "1435169", "Injectafer 750 mg/15 mL"),
    ("ferric-derisomaltose", None, "2274398", "Monoferric 1000 mg"),
    ("ferumoxytol", "473387", "860605", "Feraheme 510 mg"),
    ("iron-dextran", "5992", "311144", "INFeD 100 mg"),
    ("iron-sucrose", "24909", "1741267", "Venofer 200 mg"),
    ("ferric-gluconate", "261435", "242761", "Ferrlecit 125 mg"),
    ("ferrous-sulfate", "24947", "310325", "ferrous sulfate 325 mg tablet"),
])
def test_the_iron_family_by_ingredient_product_and_brand(ingredient, in_code, product_code, brand):
    if in_code:
        assert classify(in_code) == ingredient
    assert classify(product_code) == ingredient
    assert classify(text=brand) == ingredient
    want = "iron-oral" if ingredient == "ferrous-sulfate" else "iron-iv"
    assert K.ingredient_index.by_codes([product_code]).drug_class == want


def test_oral_iron_salts_stay_oral_and_ferric_gluconate_is_iv() -> None:
    assert classify(text="ferrous gluconate 324 mg") == "ferrous-sulfate"
    assert classify(text="ferrous fumarate 324 mg") == "ferrous-sulfate"
    assert classify(text="sodium ferric gluconate complex 62.5 mg IV") == "ferric-gluconate"
    assert classify(text="Iron infusion") == "iv-iron-unnamed"
    assert classify(text="iron sucrose infusion") == "iron-sucrose"  # a named product wins


def test_code_verification_labels_are_applied() -> None:
    codes = {(i, c["code"]): c for i, spec in SPECS.items() for c in spec["codes"]}
    assert codes[("iron-sucrose", "1741270")]["tty"] == "SCD"
    assert codes[("iron-sucrose", "24909")]["display"] == "iron sucrose"
    assert codes[("iron-sucrose", "24909")]["verified"] is True
    assert codes[("oxycodone-er", "1860129")]["tty"] == "SCD"
    assert codes[("oxycodone", "1049613")]["tty"] == "SBD"
    assert codes[("oxycodone", "1049620")]["tty"] == "SBD"
    assert codes[("pramipexole", "859040")]["display"].endswith("0.25 MG Oral Tablet")
    assert codes[("valproate", "11118")]["tty"] == "PIN"
    assert codes[("valproate", "40254")]["tty"] == "IN"
    for key in (("levodopa", "6375"), ("cabergoline", "47579"), ("carbidopa-levodopa", "308989")):
        assert codes[key]["verified"] is True
    assert codes[("carbidopa-levodopa", "103990")]["verified"] is False


@pytest.mark.parametrize(("codes", "text", "form", "expected"), [
    (("7804",), "oxycodone HCl 10 MG 12 HR Extended Release Oral Tablet", "", "oxycodone-er"),
    (("7804",), "OXYCODONE HCL 10 MG PO TB12", "", "oxycodone-er"),
    (("7804",), "oxycodone ER 10 mg", "", "oxycodone-er"),
    (("7804",), "OXYCODONE HCL 10 MG PO", "Extended-release tablet", "oxycodone-er"),
    (("7804",), "oxycodone 5 MG Oral Tablet", "Tablet", "oxycodone"),
    (("7804", "1049621"), "oxycodone 5 MG ER", "", "oxycodone"),  # the product code decides
    ((), "oxycodone 24 hr extended-release", "", "oxycodone-er"),
    ((), "oxycodone 5 mg", "", "oxycodone"),
    (("7052",), "morphine sulfate 15 MG 12 HR Extended Release Oral Tablet", "", "morphine-er"),
    (("7052",), "morphine sulfate 2 MG/ML injection", "", "morphine"),
    ((), "morphine sulfate ER 30 mg", "", "morphine-er"),
    (("892574",), "", "", "morphine-er"),
])
def test_formulation_comes_from_the_order_when_the_code_is_ingredient_level(
    codes, text, form, expected
) -> None:
    assert classify(*codes, text=text, form=form) == expected


@pytest.mark.parametrize(("brand", "ingredient", "drug_class"), [
    ("Dolophine 5 mg", "methadone", "opioid"),
    ("Suboxone 8-2 mg film", "buprenorphine", "opioid"),
    ("Stalevo 100", "carbidopa-levodopa", "levodopa"),
    ("Sinemet 25-100", "carbidopa-levodopa", "levodopa"),
    ("Mirapex 0.25 mg", "pramipexole", "dopamine-agonist"),
    ("Requip 1 mg", "ropinirole", "dopamine-agonist"),
    ("Neupro 2 mg/24 hr patch", "rotigotine", "dopamine-agonist"),
    ("Horizant 600 mg", "gabapentin-enacarbil", "alpha2delta"),
    ("Lyrica 75 mg", "pregabalin", "alpha2delta"),
    ("Neurontin 300 mg", "gabapentin", "alpha2delta"),
    ("Spravato 28 mg", "esketamine", "ketamine"),
    ("Injectafer", "ferric-carboxymaltose", "iron-iv"),
    ("Feraheme", "ferumoxytol", "iron-iv"),
    ("INFeD", "iron-dextran", "iron-iv"),
    ("Venofer", "iron-sucrose", "iron-iv"),
    ("Monoferric", "ferric-derisomaltose", "iron-iv"),
    ("Ferrlecit", "ferric-gluconate", "iron-iv"),
    ("OxyContin 10 mg", "oxycodone-er", "opioid"),
    ("MS Contin 15 mg", "morphine-er", "opioid"),
])
def test_brand_only_names_are_recognised(brand: str, ingredient: str, drug_class: str) -> None:
    found = ingredient_of(K, Concept((), brand))
    assert found is not None and (found.id, found.drug_class) == (ingredient, drug_class)


def test_naloxone_alone_and_carbidopa_alone_are_not_rls_drugs() -> None:
    assert classify(text="naloxone 0.4 mg/mL injection") is None
    assert classify(text="carbidopa 25 mg (Lodosyn)") is None


def _coded_draft(code: str, text: str, reason: str | None = None) -> MedicationFact:
    base = med(text, reason=reason)
    return MedicationFact(
        ref="MedicationRequest/draft-1", kind="request", status="draft",
        concept=Concept((("rxnorm", code),), text), when=NOW,
        reasons=base.reasons, reason_stated=base.reason_stated,
    )


def _cards(drafts, meds=(), conditions=("rls",)):
    rec = record(conditions=conditions, labs=OK_IRON, meds=meds)
    return {(f.rule_id, f.indicator) for f in
            evaluate(K, rec, hook("order-select", drafts), freshness_days=180)}


def test_ingredient_coded_er_oxycodone_with_active_gabapentin_is_the_refractory_option() -> None:
    draft = _coded_draft("7804", "oxycodone HCl 10 MG 12 HR Extended Release Oral Tablet")
    refractory = {("opioid-refractory-option", "info")}
    assert _cards((draft,), (med("gabapentin", "active"),)) == refractory


def test_ingredient_coded_ir_oxycodone_with_active_gabapentin_gives_no_card() -> None:
    draft = _coded_draft("7804", "oxycodone HCl 5 MG Oral Tablet")
    assert _cards((draft,), (med("gabapentin", "active"),)) == set()


def test_ms_contin_with_active_pregabalin_is_the_refractory_option() -> None:
    assert _cards((med("MS Contin 15 mg"),), (med("pregabalin", "active"),)) == {
        ("opioid-refractory-option", "info")}


def test_tramadol_for_pain_is_not_rls_treatment() -> None:
    pain = MedicationFact(
        ref="MedicationRequest/tram", kind="request", status="draft",
        concept=Concept((("rxnorm", "10689"),), "tramadol 50 mg"), when=NOW,
        reasons=(Concept((("icd10cm", "R52"),), "Pain, unspecified"),), reason_stated=True,
    )
    assert _cards((pain,)) == set()  # no alpha-2-delta card although none was ever tried
    assert _cards((pain,), (med("gabapentin", "active"),)) == set()
    # the same tramadol with no reason, never an alpha-2-delta ligand: first-line card
    assert _cards((med("tramadol 50 mg"),)) == {("alpha2delta-first-line", "info")}


def test_suboxone_for_opioid_use_disorder_is_not_rls_treatment() -> None:
    oud = MedicationFact(
        ref="MedicationRequest/sub", kind="request", status="draft",
        concept=Concept((("rxnorm", "1010606"),), "Suboxone 8-2 mg film"), when=NOW,
        reasons=(Concept((("icd10cm", "F11.20"),), "Opioid dependence"),), reason_stated=True,
    )
    assert _cards((oud,), (med("gabapentin", "active"),)) == set()


def test_dialysis_patient_ordered_ferric_gluconate_gets_the_esrd_card() -> None:
    rec = record(conditions=("rls", "esrd"), labs=(lab("ferritin", 180), lab("tsat", 16)))
    draft = _coded_draft("242761", "5 ML sodium ferric gluconate complex 12.5 MG/ML Injection")
    found = evaluate(K, rec, hook("order-sign", (draft,)), freshness_days=180)
    assert [(f.rule_id, f.order_names) for f in found] == [
        ("iron-sucrose-esrd", ("sodium ferric gluconate complex",))]
    rec = record(conditions=("rls", "esrd"), labs=(lab("ferritin", 450), lab("tsat", 28)))
    found = evaluate(K, rec, hook("order-sign", (draft,)), freshness_days=180)
    assert [f.rule_id for f in found] == ["iv-iron-not-indicated"]


def test_ferric_gluconate_fixture_offers_no_iron_order() -> None:
    from tests.scenario_support import answer, card_rule

    cards = answer("rls-dialysis-orders-ferric-gluconate").body["cards"]
    assert [(card_rule(c), c.get("suggestions")) for c in cards] == [("iron-sucrose-esrd", None)]
