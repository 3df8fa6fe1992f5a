"""Each rule's declared exclusions (recommendations.json ``excludes``) hold in the engine.

For every rule: a base patient for whom the rule fires, then the same patient in each excluded
population, for whom it must not. The review page and the README show these declarations, so
this test keeps the declared populations and the engine one source of truth.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from cds_service.engine.evaluate import evaluate
from cds_service.knowledge import load_knowledge
from tests.engine_builders import hook, lab, med, record

K = load_knowledge()
IRON_LOW = (lab("ferritin", 42), lab("tsat", 25))
IRON_OK = (lab("ferritin", 150), lab("tsat", 30))
CHILD = date(2015, 1, 1)
INFUSED = (med("ferric carboxymaltose", "completed", kind="administration", days_ago=20),)

# rule -> (record kwargs, hook kwargs) of a patient for whom the rule fires
BASE: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "iv-iron-indicated": (dict(labs=IRON_LOW), {}),
    "iron-sucrose-esrd": (dict(conditions=("rls", "esrd"),
                               labs=(lab("ferritin", 150), lab("tsat", 15))), {}),
    "iron-studies-needed": (dict(), {}),
    "iv-iron-not-indicated": (dict(labs=IRON_OK), dict(
        name="order-select", drafts=(med("ferric carboxymaltose"),))),
    "iron-sucrose-not-preferred": (dict(labs=IRON_LOW), dict(
        name="order-select", drafts=(med("iron sucrose"),))),
    "oral-iron-pediatric": (dict(labs=(lab("ferritin", 30),), birth=CHILD), {}),
    "iron-deficiency-pregnancy": (dict(conditions=("rls", "pregnancy"), labs=IRON_LOW), {}),
    "iv-iron-recent-infusion": (dict(labs=IRON_LOW, administrations=INFUSED), {}),
    "alpha2delta-first-line": (dict(labs=IRON_OK), {}),
    "dopamine-agonist-against": (dict(labs=IRON_OK), dict(
        name="order-select", drafts=(med("pramipexole"),))),
    "levodopa-against": (dict(labs=IRON_OK), dict(
        name="order-select", drafts=(med("carbidopa-levodopa"),))),
    "cabergoline-strong-against": (dict(labs=IRON_OK), dict(
        name="order-select", drafts=(med("cabergoline"),))),
    "ketamine-not-recommended": (dict(labs=IRON_OK), dict(
        name="order-select", drafts=(med("ketamine"),))),
    "not-recommended-agent": (dict(labs=IRON_OK), dict(
        name="order-select", drafts=(med("clonazepam"),))),
    "augmentation-risk-active-da": (dict(labs=IRON_OK, meds=(med("pramipexole", "active"),)), {}),
    "opioid-refractory-option": (dict(labs=IRON_OK, meds=(med("gabapentin", "active"),)), dict(
        name="order-select", drafts=(med("methadone"),))),
    "order-not-checked": (dict(labs=IRON_OK), dict(
        name="order-sign", unreadable=(med("MedicationRequest/bad-1"),))),
    "data-not-read": (dict(labs=IRON_OK, skipped=("MedicationRequest/bad-2 (authoredOn)",)), dict(
        name="order-sign", drafts=(med("gabapentin", reason="rls"),))),
}

OTHER_REASON = {"iv-iron-not-indicated": "esrd", "iron-sucrose-not-preferred": "esrd",
                "dopamine-agonist-against": "parkinson", "levodopa-against": "parkinson",
                "cabergoline-strong-against": "hyperprolactinemia",
                "ketamine-not-recommended": "depression", "not-recommended-agent": "depression",
                "augmentation-risk-active-da": "parkinson",
                "opioid-refractory-option": "depression"}


def _with_reason(meds: tuple, reason: str) -> tuple:
    return tuple(med(m.concept.text, m.status, reason=reason) for m in meds)


def _other_reason(rule_id: str, rec: dict, hk: dict) -> tuple[dict, dict]:
    reason = OTHER_REASON[rule_id]
    if hk.get("drafts"):
        return rec, {**hk, "drafts": _with_reason(hk["drafts"], reason)}
    return {**rec, "meds": _with_reason(rec["meds"], reason)}, hk


def _add_condition(name: str) -> Callable[[str, dict, dict], tuple[dict, dict]]:
    def apply(rule_id: str, rec: dict, hk: dict) -> tuple[dict, dict]:
        return {**rec, "conditions": tuple(rec.get("conditions", ("rls",))) + (name,)}, hk
    return apply


POPULATIONS: dict[str, Callable[[str, dict, dict], tuple[dict, dict]]] = {
    "child": lambda r, rec, hk: ({**rec, "birth": CHILD}, hk),
    "adult": lambda r, rec, hk: ({**rec, "birth": date(1970, 1, 1)}, hk),
    "esrd": _add_condition("esrd"),
    "esrd-patient-view": _add_condition("esrd"),
    "pregnant": _add_condition("pregnancy"),
    "recent-iv-iron": lambda r, rec, hk: ({**rec, "administrations": INFUSED}, hk),
    "tsat-at-or-above-cap": lambda r, rec, hk: (
        {**rec, "labs": (lab("ferritin", 40), lab("tsat", 45))}, hk),
    "on-alpha2delta": lambda r, rec, hk: ({**rec, "meds": (med("pregabalin", "active"),)}, hk),
    "other-stated-reason": _other_reason,
}


def fired(rec: dict, hk: dict) -> set[str]:
    return {f.rule_id for f in evaluate(K, record(**rec), hook(**hk), freshness_days=180)}


def test_every_rule_has_a_base_patient_and_declares_its_populations() -> None:
    assert set(BASE) == set(K.rules)
    for rule_id, rule in K.rules.items():
        assert rule["applies_to"], rule_id
        assert {e["who"] for e in rule["excludes"]} <= set(POPULATIONS), rule_id
        assert all(e["why"] for e in rule["excludes"]), rule_id


@pytest.mark.parametrize("rule_id", sorted(BASE))
def test_base_patient_gets_the_rule(rule_id) -> None:
    assert rule_id in fired(*BASE[rule_id])


EXCLUSIONS = [(rule_id, e["who"]) for rule_id, rule in sorted(K.rules.items())
              for e in rule["excludes"]]


@pytest.mark.parametrize(("rule_id", "who"), EXCLUSIONS, ids=[f"{r}-{w}" for r, w in EXCLUSIONS])
def test_excluded_population_never_gets_the_rule(rule_id, who) -> None:
    rec, hk = POPULATIONS[who](rule_id, *BASE[rule_id])
    assert rule_id not in fired(rec, hk)
