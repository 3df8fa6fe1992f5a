"""The remembered medication and condition answers are exactly those worked out afresh.

The reference implementations below are the pre-cache code, kept verbatim as the oracle.
"""

from __future__ import annotations

import dataclasses
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from cds_service.engine.facts import Concept, MedicationFact
from cds_service.engine.medications import ClassifiedMedication, classify, ingredient_of
from cds_service.knowledge import (
    MAX_CACHED_NAME,
    MAX_MEMO,
    ConceptSet,
    Ingredient,
    Knowledge,
    load_knowledge,
    normalise_code,
)

K = load_knowledge()


# --- reference: the code before answers were remembered ---------------------------------


def _by_system(pairs: tuple[tuple[str, str], ...]) -> dict[str, tuple[str, ...]]:
    grouped: dict[str, tuple[str, ...]] = {}
    for system, prefix in pairs:
        grouped[system] = grouped.get(system, ()) + (prefix,)
    return grouped


def reference_match(c: ConceptSet, codings: tuple[tuple[str, str], ...], text: str) -> str | None:
    if codings:
        prefixes, excluded = _by_system(c.prefixes), _by_system(c.excluded_prefixes)
        found = False
        for system, code in codings:
            norm = normalise_code(system, code)
            if system in excluded and norm.startswith(excluded[system]):
                return None
            if (system, norm) in c.codes:
                found = True
            elif system in prefixes and norm.startswith(prefixes[system]):
                found = True
        return "code" if found else None
    if not text or (c.negation is not None and c.negation.search(text)):
        return None
    lowered = text.lower()
    return "text" if any(name in lowered for name in c.names) else None


def reference_ingredient(k: Knowledge, concept: Concept, form: str = "") -> Ingredient | None:
    index = k.ingredient_index
    rxcuis = [code for system, code in concept.codings if system == "rxnorm"]
    found = index.by_codes(rxcuis)
    if found is None:
        found = index.by_name(concept.text) if concept.text else None
    if found is None:
        return None
    return index.with_formulation(found, rxcuis, f"{concept.text} | {form}")


# --- what to try: every knowledge code and prefix, with variants --------------------------

CONDITION_CODES = sorted(
    {pair for c in K.conditions.values() for pair in c.codes}
    | {pair for c in K.conditions.values() for pair in c.prefixes + c.excluded_prefixes}
)
RXCUIS = sorted({code for i in K.ingredients for code in i.codes})
NAMES = sorted({n for c in K.conditions.values() for n in c.names})
MED_NAMES = sorted({i.display for i in K.ingredients}) + [
    "oxycodone HCl 10 MG 12 HR Extended Release Oral Tablet", "iron infusion", "naloxone 0.4 mg",
    "carbidopa 25 mg (Lodosyn)", "ferrous fumarate 324 mg", "Gabapentin enacarbil ER",
]
FORMS = ["", "12 HR Extended Release", "Oral Tablet", "ER", "Injection"]
SYSTEMS = ["icd10cm", "snomed", "rxnorm", "loinc", "http://example.org/x"]


def _with_dot(code: str) -> str:
    return code[:3] + "." + code[3:] if len(code) > 3 else code


@st.composite
def code_variant(draw: st.DrawFn, pool: list[tuple[str, str]]) -> tuple[str, str]:
    system, code = draw(st.sampled_from(pool))
    how = draw(st.sampled_from(["as-is", "lower", "dot", "space", "trunc", "extend", "other"]))
    if how == "lower":
        code = code.lower()
    elif how == "dot":
        code = _with_dot(code)
    elif how == "space":
        code = f"  {code}\t"
    elif how == "trunc":
        code = code[: draw(st.integers(0, max(len(code) - 1, 0)))]
    elif how == "extend":
        code = code + draw(st.sampled_from(["0", "9", ".1", "A", "XX"]))
    elif how == "other":
        system = draw(st.sampled_from(SYSTEMS))
    return system, code


unrelated = st.tuples(st.sampled_from(SYSTEMS), st.text("ABCOZ0123456789. ", max_size=8))
condition_codings = st.lists(
    st.one_of(code_variant(CONDITION_CODES), unrelated), max_size=4
).map(tuple)
texts = st.one_of(
    st.just(""),
    st.sampled_from(NAMES),
    st.sampled_from(NAMES).map(str.upper),
    st.sampled_from(NAMES).map(lambda n: f"history of {n}"),
    st.sampled_from(NAMES).map(lambda n: f"no {n}"),
    st.sampled_from(NAMES).map(lambda n: f"rule out {n} today"),
    st.text(max_size=20),
)


@settings(max_examples=1500, deadline=None)
@given(codings=condition_codings, text=texts)
def test_condition_match_is_unchanged(codings: tuple[tuple[str, str], ...], text: str) -> None:
    for concept in K.conditions.values():
        expected = reference_match(concept, codings, text)
        assert concept.match(codings, text) == expected  # first: worked out
        assert concept.match(codings, text) == expected  # again: remembered
        assert concept.matches(codings, text) == (expected is not None)


def test_every_condition_code_and_prefix_alone() -> None:
    for pair in CONDITION_CODES:
        system, code = pair
        for variant in {code, code.lower(), _with_dot(code), f" {code} ", code[:-1], code + "1"}:
            for concept in K.conditions.values():
                for _ in range(2):
                    got = concept.match(((system, variant),))
                    assert got == reference_match(concept, ((system, variant),), "")


rx_codings = st.lists(
    st.one_of(
        st.sampled_from(RXCUIS).map(lambda c: ("rxnorm", c)),
        st.sampled_from(RXCUIS).map(lambda c: ("snomed", c)),
        st.tuples(st.just("rxnorm"), st.text("0123456789", max_size=7)),
    ),
    max_size=3,
).map(tuple)
med_texts = st.one_of(st.just(""), st.sampled_from(MED_NAMES), st.text(max_size=20))


@settings(max_examples=1500, deadline=None)
@given(codings=rx_codings, text=med_texts, form=st.sampled_from(FORMS))
def test_ingredient_is_unchanged(
    codings: tuple[tuple[str, str], ...], text: str, form: str
) -> None:
    concept = Concept(codings, text)
    expected = reference_ingredient(K, concept, form)
    assert ingredient_of(K, concept, form) is expected
    assert ingredient_of(K, concept, form) is expected
    fact = MedicationFact("MedicationRequest/1", "request", "active", concept, form_text=form)
    got = classify(K, (fact, fact))
    assert got == ((ClassifiedMedication(fact, expected),) * 2 if expected else ())


def test_every_rxcui_alone_and_with_each_form() -> None:
    for code in RXCUIS:
        for form in FORMS:
            concept = Concept((("rxnorm", code),), "")
            assert ingredient_of(K, concept, form) is reference_ingredient(K, concept, form)


def test_huge_keys_are_answered_but_not_kept() -> None:
    huge = "x" * (MAX_CACHED_NAME + 1)
    concept = Concept((("rxnorm", "1" * 10_000),), huge)
    assert ingredient_of(K, concept) is None
    assert (concept.codings, concept.text, "") not in K.ingredient_index.answers
    pregnancy = dataclasses.replace(K.conditions["pregnancy"])
    assert pregnancy.match((("icd10cm", "O" + "9" * 10_000),)) == "code"  # an "O" prefix
    rls = dataclasses.replace(K.conditions["rls"])
    assert rls.match((), "restless legs " + huge) == "text"
    assert rls.__dict__.get("_memo", {}) == {} == pregnancy.__dict__.get("_memo", {})


def test_tables_stay_bounded() -> None:
    rls = dataclasses.replace(K.conditions["rls"])
    for n in range(MAX_MEMO + 10):
        rls.match((("snomed", str(n)),))
    assert len(rls.__dict__["_memo"]) <= MAX_MEMO
    for n in range(MAX_MEMO + 10):
        ingredient_of(K, Concept((("rxnorm", f"9{n}"),)))
    assert len(K.ingredient_index.answers) <= MAX_MEMO


def test_classified_medication_keeps_value_equality_and_hash() -> None:
    fact = MedicationFact("MedicationRequest/1", "request", "active", Concept((), "gabapentin"))
    ingredient = ingredient_of(K, fact.concept)
    assert ingredient is not None
    a, b = ClassifiedMedication(fact, ingredient), ClassifiedMedication(fact, ingredient)
    assert a == b and hash(a) == hash(b) and len({a, b}) == 1
    assert a.drug_class == ingredient.drug_class and a.name == ingredient.display
    assert re.fullmatch(r"ClassifiedMedication\(fact=.*, ingredient=.*\)", repr(a))


def test_whole_number_results_are_remembered_only_small_and_bounded():
    from fractions import Fraction

    from cds_service.fhir.labs import _WHOLE, _raw_value
    from cds_service.knowledge import MAX_MEMO

    def value(n: int) -> object:
        return _raw_value({"valueQuantity": {"value": n, "unit": "ng/mL"}})

    for n in range(MAX_MEMO + 10):
        assert value(n) == ("", Fraction(n), "ng/mL", f"{n} ng/mL")
    assert len(_WHOLE) <= MAX_MEMO
    assert value(10**20)[1] == Fraction(10**20) and 10**20 not in _WHOLE
    assert value(38) == value(38) == ("", Fraction(38), "ng/mL", "38 ng/mL")
