"""Output profiles over real fixtures through the HTTP app: the exact answer per profile, and what
every profile guarantees (RxNorm on every suggested medication, create before delete)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from cds_service.cards.profiles import PROFILES, Profiles, lint
from cds_service.cards.profiles.epic import rule_id_for_topic_code, topic_code
from cds_service.knowledge import load_knowledge
from tests.cards.support import LOW_FERRITIN, NO_IRON_STUDIES, answer, comparable, golden

RXNORM_URL = "http://www.nlm.nih.gov/research/umls/rxnorm"
RXNORM_OID = "urn:oid:2.16.840.1.113883.6.88"
PREFERENCE_LIST = "urn:com.epic.cdshooks.action.code.system.preference-list-item"
ORDER_SET = "urn:com.epic.cdshooks.action.code.system.orderset-item"
CONTENT_TYPE = "com.epic.cdshooks.card.detail.content-type"
SHORT = {LOW_FERRITIN: "low-ferritin-pramipexole", NO_IRON_STUDIES: "no-iron-studies-pramipexole"}


def _suggestions(response: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(c["source"]["topic"]["code"], s) for c in response["cards"]
            for s in c.get("suggestions", [])]


def _summary(response: dict[str, Any]) -> list[tuple[str, list[tuple[str, ...]]]]:
    """Per card: topic code, and per suggestion (label, isRecommended, action kinds)."""
    out = []
    for card in response["cards"]:
        rows = []
        for s in card.get("suggestions", []):
            kinds = tuple(
                a["type"] + ":" + (a.get("resourceId") or a["resource"]["resourceType"])
                for a in s["actions"]
            )
            rows.append((s["label"], s["isRecommended"], *kinds))
        out.append((card["source"]["topic"]["code"], rows))
    return out


@pytest.mark.parametrize("fixture", [LOW_FERRITIN, NO_IRON_STUDIES])
@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_each_profile_answers_exactly_its_golden_file(
    tmp_path: Path, fixture: str, profile: str
) -> None:
    response = answer(tmp_path, fixture, ehr_profile=profile)
    assert comparable(response) == golden(f"{SHORT[fixture]}.{profile}")


def test_spec_is_cds_hooks_with_create_before_delete_and_coded_enacarbil(tmp_path: Path) -> None:
    response = answer(tmp_path, LOW_FERRITIN)
    assert _summary(response) == [
        ("dopamine-agonist-against", [
            ("Replace with gabapentin enacarbil", True,
             "create:MedicationRequest", "delete:MedicationRequest/draft-1"),
            ("Replace with gabapentin", False,
             "create:MedicationRequest", "delete:MedicationRequest/draft-1"),
            ("Replace with pregabalin", False,
             "create:MedicationRequest", "delete:MedicationRequest/draft-1"),
        ]),
        ("iv-iron-indicated", [("Draft IV ferric carboxymaltose", True,
                                "create:MedicationRequest")]),
        ("alpha2delta-first-line", [
            ("Draft gabapentin enacarbil", True, "create:MedicationRequest"),
            ("Draft gabapentin", False, "create:MedicationRequest"),
            ("Draft pregabalin", False, "create:MedicationRequest"),
        ]),
    ]
    assert {c.get("selectionBehavior") for c in response["cards"]} == {"at-most-one"}
    enacarbil = response["cards"][2]["suggestions"][0]["actions"][0]["resource"]
    assert enacarbil["medicationCodeableConcept"] == {
        "text": "gabapentin enacarbil extended-release tablet",
        "coding": [{"system": RXNORM_URL, "code": "1101338",
                    "display": "gabapentin enacarbil 600 MG Extended Release Oral Tablet"}],
    }
    assert list(response["cards"][0]["extension"]) == ["org.rls-cds.provenance"]  # no Epic key


def test_epic_has_one_action_per_suggestion_any_alphanumeric_topics_and_oid_codes(
    tmp_path: Path,
) -> None:
    response = answer(tmp_path, LOW_FERRITIN, ehr_profile="epic")
    drafts = [
        ("Draft an order for gabapentin enacarbil extended-release tablet", True,
         "create:MedicationRequest"),
        ("Draft an order for gabapentin", False, "create:MedicationRequest"),
        ("Draft an order for pregabalin", False, "create:MedicationRequest"),
    ]
    assert _summary(response) == [
        ("dopamineagonistagainst", [
            *drafts,
            ("Remove the draft order for pramipexole", True, "delete:MedicationRequest/draft-1"),
        ]),
        ("ivironindicated", [("Draft an order for ferric carboxymaltose IV", True,
                              "create:MedicationRequest")]),
        ("alpha2deltafirstline", drafts),
    ]
    for card in response["cards"]:
        assert card["selectionBehavior"] == "any"
        # Epic's content type merged with the provenance, neither overwriting the other
        assert card["extension"][CONTENT_TYPE] == "text/markdown"
        assert list(card["extension"]) == ["org.rls-cds.provenance", CONTENT_TYPE]
        assert re.fullmatch(r"[A-Za-z0-9]{1,100}", card["source"]["topic"]["code"])
    creates = [a for _, s in _suggestions(response) for a in s["actions"] if a["type"] == "create"]
    assert len(creates) == 7
    for action in creates:
        resource = action["resource"]
        assert set(resource) == {"resourceType", "status", "intent", "subject",
                                 "medicationCodeableConcept"}
        assert [c["system"] for c in resource["medicationCodeableConcept"]["coding"]] == [
            RXNORM_OID]
    pregabalin = creates[2]
    assert pregabalin["description"] == (
        "Draft an order for pregabalin. In the evening, 1-3 hours before symptoms; titrate per "
        "labelling and renal function")
    assert lint(response, "epic") == []


def test_epic_splits_the_iron_studies_into_one_suggestion_per_lab(tmp_path: Path) -> None:
    response = answer(tmp_path, NO_IRON_STUDIES, ehr_profile="epic")
    labs = response["cards"][1]["suggestions"]
    assert [(s["label"], s["isRecommended"], len(s["actions"])) for s in labs] == [
        ("Order Ferritin [Mass/volume] in Serum or Plasma (morning, fasting)", True, 1),
        ("Order Iron [Mass/volume] in Serum or Plasma (morning, fasting)", True, 1),
        ("Order Iron binding capacity [Mass/volume] in Serum or Plasma (morning, fasting)",
         True, 1),
        ("Order Iron saturation [Mass Fraction] in Serum or Plasma (morning, fasting)", True, 1),
    ]
    # Epic orders procedures only from site codes: without them, the linter says so per lab.
    found = [(f.constraint, f.path) for f in lint(response, "epic")]
    assert found == [
        ("epic-service-create-code-system", f"cards[1].suggestions[{i}].actions[0].resource.code")
        for i in range(4)
    ]


def test_epic_uses_the_sites_order_set_code_for_the_iron_studies(tmp_path: Path) -> None:
    site = json.dumps({"epic": {"order_sets": {"iron-studies": "OS-4242"}}})
    response = answer(tmp_path, NO_IRON_STUDIES, ehr_profile="epic", ehr_site_codes=site)
    (order_set,) = response["cards"][1]["suggestions"]
    (action,) = order_set["actions"]
    assert order_set["label"] == "Order morning fasting ferritin and iron panel"
    assert action["resource"] == {
        "resourceType": "ServiceRequest", "status": "draft", "intent": "order",
        "subject": {"reference": "Patient/tia-prnolab"},
        "code": {"coding": [{"system": ORDER_SET, "code": "OS-4242"}],
                 "text": "Order morning fasting ferritin and iron panel"},
    }
    assert action["description"].startswith("Order morning fasting ferritin and iron panel. "
                                            "Morning draw, fasting")
    assert lint(response, "epic") == []


def test_epic_puts_the_sites_preference_list_codes_first(tmp_path: Path) -> None:
    labs = {"2276-4": "PL-1", "2498-4": "PL-2", "2500-7": "PL-3", "2502-3": "PL-4"}
    site = json.dumps({"epic": {"preference_list": {**labs, "gabapentin": "PL-GABA"}}})
    response = answer(tmp_path, NO_IRON_STUDIES, ehr_profile="epic", ehr_site_codes=site)
    lab_codes = [s["actions"][0]["resource"]["code"]["coding"]
                 for s in response["cards"][1]["suggestions"]]
    assert [[(c["system"], c["code"]) for c in codings] for codings in lab_codes] == [
        [(PREFERENCE_LIST, f"PL-{i}"), ("http://loinc.org", loinc)]
        for i, loinc in enumerate(labs, start=1)
    ]
    gabapentin = response["cards"][2]["suggestions"][1]["actions"][0]["resource"]
    assert gabapentin["medicationCodeableConcept"]["coding"] == [
        {"system": PREFERENCE_LIST, "code": "PL-GABA"},
        {"system": RXNORM_OID, "code": "25480", "display": "gabapentin"},
    ]
    assert lint(response, "epic") == []


def test_sandbox_drops_the_suggestion_it_cannot_apply(tmp_path: Path) -> None:
    spec = answer(tmp_path / "a", NO_IRON_STUDIES)
    sandbox = answer(tmp_path / "b", NO_IRON_STUDIES, ehr_profile="sandbox")
    iron_spec, iron_sandbox = spec["cards"][1], sandbox["cards"][1]
    assert [a["resource"]["resourceType"] for a in iron_spec["suggestions"][0]["actions"]] == [
        "ServiceRequest"] * 4
    assert "suggestions" not in iron_sandbox and "selectionBehavior" not in iron_sandbox
    others = [0, 2]  # the agonist warning and the alpha-2-delta card are the same
    assert [comparable(sandbox)["cards"][i] for i in others] == [
        comparable(spec)["cards"][i] for i in others]
    assert lint(spec, "sandbox") != [] and lint(sandbox, "sandbox") == []


@pytest.mark.parametrize("fixture", [LOW_FERRITIN, NO_IRON_STUDIES])
@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_every_profile_codes_every_medication_and_creates_before_it_deletes(
    tmp_path: Path, fixture: str, profile: str
) -> None:
    response = answer(tmp_path, fixture, ehr_profile=profile)
    medications = 0
    for _, suggestion in _suggestions(response):
        types = [a["type"] for a in suggestion["actions"]]
        assert types == sorted(types, key=lambda t: t != "create"), types
        for action in suggestion["actions"]:
            concept = action.get("resource", {}).get("medicationCodeableConcept")
            if concept is not None:
                medications += 1
                rxnorm = [c for c in concept["coding"] if c["system"] in (RXNORM_URL, RXNORM_OID)]
                assert rxnorm and all(re.fullmatch(r"\d+", c["code"]) for c in rxnorm)
    assert medications >= 6


def test_every_medication_template_has_a_sourced_rxnorm_code() -> None:
    templates = load_knowledge().raw["recommendations"]["medication_templates"]
    for key, template in templates.items():
        coding = template.get("coding", {})
        assert re.fullmatch(r"\d+", coding.get("code", "")) and coding.get("display"), key
    assert "DRTK" in templates["gabapentin-enacarbil"]["coding"]["source"]


def test_topic_codes_are_stable_unique_and_map_back_to_the_rule() -> None:
    rule_ids = list(load_knowledge().rules)
    codes = [topic_code(r) for r in rule_ids]
    assert topic_code("iv-iron-indicated") == "ivironindicated"
    assert len(set(codes)) == len(rule_ids)
    assert all(re.fullmatch(r"[A-Za-z0-9]{1,100}", c) for c in codes)
    assert [rule_id_for_topic_code(c, rule_ids) for c in codes] == rule_ids
    assert rule_id_for_topic_code("nosuchrule", rule_ids) is None
    assert topic_code("a-" * 80) == "a" * 80 and len(topic_code("ab" * 80)) == 100


def test_oracle_discovery_lists_only_patient_view() -> None:
    profiles = Profiles.build(load_knowledge())
    document = {"services": [{"id": "a", "hook": "order-select"},
                             {"id": "b", "hook": "patient-view"}]}
    assert profiles.discovery(document, "oracle") == {
        "services": [{"id": "b", "hook": "patient-view"}]}
    assert profiles.discovery(document, "spec") == document


def test_oracle_keeps_only_allowlisted_links_without_app_context() -> None:
    site = json.dumps({"oracle": {"allowed_links": ["https://ok.example.org/app"]}})
    profiles = Profiles.build(load_knowledge(), site)
    card = {"summary": "s", "indicator": "info", "source": {"label": "x"}, "links": [
        {"label": "ok", "url": "https://ok.example.org/app", "type": "smart", "appContext": "1"},
        {"label": "no", "url": "https://elsewhere.example.org", "type": "absolute"},
    ]}
    out = profiles.render({"cards": [card, {**card, "links": card["links"][1:]}]}, "oracle")
    assert out["cards"][0]["links"] == [
        {"label": "ok", "url": "https://ok.example.org/app", "type": "smart"}]
    assert "links" not in out["cards"][1]
    assert profiles.lint(out, "oracle") == []
    assert [(f.constraint, f.path) for f in profiles.lint({"cards": [card]}, "oracle")] == [
        ("oracle-links-allowlisted", "cards[0].links[1].url"),
        ("oracle-no-app-context", "cards[0].links[0].appContext"),
    ]
