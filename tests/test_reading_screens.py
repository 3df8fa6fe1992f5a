"""The cheaper readings of the second speed round read exactly what the ones they replaced
read: the condition code screen, the folded unit spellings, and dict-only concept reading."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cds_service.engine.facts import Concept
from cds_service.fhir.concepts import concept_of, first_code
from cds_service.fhir.extract import _CodeScreen, _read_by_a_rule
from cds_service.fhir.resources import as_list
from cds_service.fhir.units import _FOLDED, _fold_unit, normalise_unit
from cds_service.knowledge import load_knowledge

K = load_knowledge()
FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CONCEPTS = list(K.conditions.values())
KNOWN = sorted(
    {pair for c in CONCEPTS for pair in c.codes}
    | {pair for c in CONCEPTS for pair in c.prefixes}
    | {pair for c in CONCEPTS for pair in c.excluded_prefixes}
)
SYSTEMS = sorted({s for s, _ in KNOWN} | {"snomed", "local", ""})


def _code_variants(code: str) -> list[str]:
    dotted = f"{code[:3]}.{code[3:]}"
    return [code, code.lower(), f" {code} ", dotted, f"{code}9", code[:-1] or code]


known_coding = st.sampled_from(KNOWN).flatmap(
    lambda pair: st.tuples(st.just(pair[0]) | st.sampled_from(SYSTEMS),
                           st.sampled_from(_code_variants(pair[1])))
)
any_coding = known_coding | st.tuples(
    st.sampled_from(SYSTEMS), st.sampled_from(["38341003", "I10", "Z8", "O", "x", " "])
)
texts = st.sampled_from(["", "Restless legs syndrome", "no history of Parkinson disease",
                         "pregnant", "Hypertensive disorder"])


@FUZZ
@given(st.lists(any_coding, max_size=4), texts)
def test_the_code_screen_keeps_every_condition_some_concept_matches(codings, text):
    concept = Concept(tuple(codings), text)
    screen = K.derived(_CodeScreen.of)
    expected = any(c.matches(concept.codings, concept.text) for c in CONCEPTS)
    assert _read_by_a_rule(screen, CONCEPTS, concept) == expected


@given(st.text(max_size=12) | st.sampled_from(["µg/L", "mcg/L", "ug/l", " ng/mL ", "g/dL",
                                               "umol/liter", "μmol/L", "%"]))
def test_folded_units_are_folded_as_before(unit):
    assert normalise_unit(unit) == _fold_unit(unit)
    assert normalise_unit(unit) == _fold_unit(unit)  # the second time from the table
    assert normalise_unit(None) == normalise_unit("") == ""


def test_the_folded_unit_table_stays_bounded():
    for i in range(3000):
        normalise_unit(f"unit{i}")
    assert len(_FOLDED) <= 1024


def _reference_concept_of(*concepts: object) -> Concept:
    """concept_of as it was written, with abc Mapping checks and a generator of codings."""

    def codings(cc: Mapping[str, Any]) -> Iterable[Mapping[str, Any]]:
        yield from (c for c in as_list(cc.get("coding")) if isinstance(c, Mapping))

    found: list[tuple[str, str]] = []
    shown: list[str] = []
    for cc in concepts:
        if not isinstance(cc, Mapping):
            continue
        if isinstance(cc.get("text"), str):
            shown.append(cc["text"])
        for coding in codings(cc):
            code = coding.get("code")
            if isinstance(code, str) and code:
                found.append((K.system_name(coding.get("system")), code))
            if isinstance(coding.get("display"), str):
                shown.append(coding["display"])
    return Concept(tuple(found), " | ".join(shown))


def _reference_first_code(cc: object) -> str | None:
    if isinstance(cc, Mapping):
        for coding in as_list(cc.get("coding")):
            if isinstance(coding, Mapping) and isinstance(coding.get("code"), str):
                return coding["code"]
    return None


junk = st.sampled_from([None, 5, [], {}, ["x"], "", True, 1.5])
coding_json = st.fixed_dictionaries(
    {},
    optional={
        "system": st.sampled_from(["http://snomed.info/sct", "http://hl7.org/fhir/sid/icd-10-cm",
                                   "http://www.nlm.nih.gov/research/umls/rxnorm"]) | junk,
        "code": st.sampled_from(["32914008", "G25.81", "active", ""]) | junk,
        "display": st.sampled_from(["Restless legs", "Active"]) | junk,
    },
) | junk
codeable_json = st.fixed_dictionaries(
    {}, optional={"coding": st.lists(coding_json, max_size=3) | coding_json,
                  "text": st.sampled_from(["RLS", ""]) | junk}
) | junk


@FUZZ
@given(st.lists(codeable_json, max_size=3))
def test_concepts_read_as_the_mapping_reading(concepts):
    assert concept_of(K, *concepts) == _reference_concept_of(*concepts)
    for cc in concepts:
        assert first_code(cc) == _reference_first_code(cc)


def _reference_route_text(resource: Mapping[str, Any]) -> str:
    dosage = resource.get("dosage")
    texts = [str(dosage.get("text", ""))] if isinstance(dosage, Mapping) else []
    for instruction in as_list(resource.get("dosageInstruction")):
        if isinstance(instruction, Mapping):
            texts.append(str(instruction.get("text", "")))
    return " ".join(t for t in texts if t)


dosage_text = st.fixed_dictionaries(
    {}, optional={"text": st.sampled_from(["1 tab at night", "", " "]) | junk}
) | junk
dosed = st.fixed_dictionaries(
    {"resourceType": st.sampled_from(["MedicationRequest", "MedicationAdministration"])},
    optional={
        "dosage": dosage_text,
        "dosageInstruction": st.lists(dosage_text, max_size=3) | dosage_text,
        "reasonCode": st.lists(codeable_json, max_size=2) | codeable_json,
        "reasonReference": st.sampled_from(
            [[{"reference": "Condition/c1"}], {"display": "RLS"}, [{"display": 5}], None]
        ),
    },
)


@FUZZ
@given(dosed)
def test_dosage_text_and_reasons_read_as_before(resource):
    from cds_service.fhir.medications import _reasons, _route_text
    from cds_service.fhir.resources import ResourceIndex

    assert _route_text(resource) == _reference_route_text(resource)
    index = ResourceIndex.of(
        [{"resourceType": "Condition", "id": "c1", "code": {"text": "Restless legs"}}]
    )
    concepts, stated = _reasons(K, resource, index)
    if "reasonCode" not in resource and "reasonReference" not in resource:
        assert (concepts, stated) == ((), False)
    general = [concept_of(K, cc) for cc in as_list(resource.get("reasonCode"))]
    assert concepts[: len(general)] == tuple(general)
