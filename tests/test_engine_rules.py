"""The guideline core, rule by rule: facts in, (rule id, indicator) pairs out."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from cds_service.engine.evaluate import evaluate
from cds_service.engine.iron import below
from cds_service.knowledge import load_knowledge
from tests.engine_builders import NOW, condition, hook, lab, med, record

K = load_knowledge()
FRESH_IRON_LOW = (lab("ferritin", 42), lab("tsat", 25))
FRESH_IRON_OK = (lab("ferritin", 150), lab("tsat", 30))


def rules(rec, hk) -> set[tuple[str, str]]:
    return {(f.rule_id, f.indicator) for f in evaluate(K, rec, hk, freshness_days=180)}


CASES = [
    # (id, record kwargs, hook kwargs, expected)
    ("pv-low-ferritin", dict(labs=FRESH_IRON_LOW), {}, {("iv-iron-indicated", "info")}),
    ("pv-ferritin-75-qualifies", dict(labs=(lab("ferritin", 75), lab("tsat", 30))), {},
     {("iv-iron-indicated", "info")}),
    ("pv-ferritin-75.01-does-not", dict(labs=(lab("ferritin", 75.01), lab("tsat", 30))), {},
     {("alpha2delta-first-line", "info")}),
    ("pv-tsat-19.99-qualifies", dict(labs=(lab("ferritin", 150), lab("tsat", 19.99))), {},
     {("iv-iron-indicated", "info")}),
    ("pv-tsat-20-does-not", dict(labs=(lab("ferritin", 150), lab("tsat", 20))), {},
     {("alpha2delta-first-line", "info")}),
    ("pv-ferritin-76-tsat-19-or-rule", dict(labs=(lab("ferritin", 76), lab("tsat", 19))), {},
     {("iv-iron-indicated", "info")}),
    ("pv-no-labs", dict(), {}, {("iron-studies-needed", "info")}),
    ("pv-stale-181-days", dict(labs=(lab("ferritin", 42, 181), lab("tsat", 30, 181))), {},
     {("iron-studies-needed", "info")}),
    ("pv-fresh-180-days", dict(labs=(lab("ferritin", 42, 180), lab("tsat", 30, 180))), {},
     {("iv-iron-indicated", "info")}),
    ("pv-ferritin-only-high-unknown", dict(labs=(lab("ferritin", 150),)), {},
     {("iron-studies-needed", "info")}),
    ("pv-ferritin-only-low-qualifies", dict(labs=(lab("ferritin", 30),)), {},
     {("iv-iron-indicated", "info")}),
    ("pv-comparator-lt10", dict(labs=(lab("ferritin", 10, comparator="<"),)), {},
     {("iv-iron-indicated", "info")}),
    ("pv-comparator-lt100-unknown", dict(labs=(lab("ferritin", 100, comparator="<"),)), {},
     {("iron-studies-needed", "info")}),
    ("pv-tsat-cap-45", dict(labs=(lab("ferritin", 40), lab("tsat", 45))), {}, {
        ("alpha2delta-first-line", "info")}),
    ("pv-no-rls", dict(conditions=(), labs=FRESH_IRON_LOW), {}, set()),
    ("pv-resolved-rls", dict(conditions=(condition("rls", active=False),), labs=FRESH_IRON_LOW),
     {}, set()),
    ("pv-esrd-qualifies", dict(conditions=("rls", "esrd"),
                               labs=(lab("ferritin", 199), lab("tsat", 19))), {},
     {("iron-sucrose-esrd", "info")}),
    ("pv-esrd-ferritin-200", dict(conditions=("rls", "esrd"),
                                  labs=(lab("ferritin", 200), lab("tsat", 19))), {}, set()),
    ("pv-esrd-or-rule-not-applied", dict(conditions=("rls", "esrd"),
                                         labs=(lab("ferritin", 40), lab("tsat", 30))), {}, set()),
    ("pv-child-49.9", dict(labs=(lab("ferritin", 49.9),), birth=date(2015, 1, 1)), {},
     {("oral-iron-pediatric", "info")}),
    ("pv-child-50", dict(labs=(lab("ferritin", 50),), birth=date(2015, 1, 1)), {}, set()),
    ("pv-age-17y364d-is-child", dict(labs=(lab("ferritin", 60),), birth=date(2008, 6, 16)), {},
     set()),
    ("pv-age-18-is-adult", dict(labs=(lab("ferritin", 60),), birth=date(2008, 6, 15)), {},
     {("iv-iron-indicated", "info")}),
    ("pv-pregnant", dict(conditions=("rls", "pregnancy"), labs=FRESH_IRON_LOW), {},
     {("iron-deficiency-pregnancy", "info")}),
    ("pv-pregnant-no-alpha2delta", dict(conditions=("rls", "pregnancy"), labs=FRESH_IRON_OK), {},
     set()),
    ("pv-recent-infusion", dict(labs=FRESH_IRON_LOW, administrations=(
        med("ferric carboxymaltose", "completed", kind="administration", days_ago=20),)), {},
     {("iv-iron-recent-infusion", "info")}),
    ("pv-infusion-57-days-ago", dict(labs=FRESH_IRON_LOW, administrations=(
        med("ferric carboxymaltose", "completed", kind="administration", days_ago=57),)), {},
     {("iv-iron-indicated", "info")}),
    ("pv-active-pramipexole", dict(labs=FRESH_IRON_OK, meds=(med("pramipexole", "active"),)), {},
     {("augmentation-risk-active-da", "warning"), ("alpha2delta-first-line", "info")}),
    ("pv-active-pramipexole-for-pd", dict(
        labs=FRESH_IRON_OK, meds=(med("pramipexole", "active", reason="parkinson"),)), {},
     {("alpha2delta-first-line", "info")}),
    ("pv-on-gabapentin", dict(labs=FRESH_IRON_OK, meds=(med("gabapentin", "active"),)), {}, set()),
    ("os-pramipexole", dict(labs=FRESH_IRON_OK),
     dict(name="order-select", drafts=(med("pramipexole"),)),
     {("dopamine-agonist-against", "warning"), ("alpha2delta-first-line", "info")}),
    ("os-pramipexole-pd-on-problem-list", dict(conditions=("rls", "parkinson"), labs=FRESH_IRON_OK),
     dict(name="order-select", drafts=(med("pramipexole"),)),
     {("dopamine-agonist-against", "info"), ("alpha2delta-first-line", "info")}),
    ("os-pramipexole-reason-pd", dict(labs=FRESH_IRON_OK),
     dict(name="order-select", drafts=(med("pramipexole", reason="parkinson"),)), set()),
    ("os-pramipexole-no-rls", dict(conditions=(), labs=FRESH_IRON_LOW),
     dict(name="order-select", drafts=(med("pramipexole"),)), set()),
    ("os-rls-as-reason-only", dict(conditions=(), labs=FRESH_IRON_OK),
     dict(name="order-select", drafts=(med("ropinirole", reason="rls"),)),
     {("dopamine-agonist-against", "warning"), ("alpha2delta-first-line", "info")}),
    ("os-a2d-drafted-elsewhere", dict(labs=FRESH_IRON_OK),
     dict(name="order-select", drafts=(med("pramipexole"),), others=(med("pregabalin"),)),
     {("dopamine-agonist-against", "warning")}),
    ("os-levodopa", dict(labs=FRESH_IRON_OK),
     dict(name="order-sign", drafts=(med("carbidopa-levodopa"),)),
     {("levodopa-against", "warning"), ("alpha2delta-first-line", "info")}),
    ("os-cabergoline", dict(labs=FRESH_IRON_OK),
     dict(name="order-sign", drafts=(med("cabergoline"),)),
     {("cabergoline-strong-against", "critical")}),
    ("os-cabergoline-hyperprolactinemia", dict(labs=FRESH_IRON_OK),
     dict(name="order-sign", drafts=(med("cabergoline", reason="hyperprolactinemia"),)), set()),
    ("os-ketamine", dict(labs=FRESH_IRON_OK), dict(name="order-sign", drafts=(med("ketamine"),)),
     {("ketamine-not-recommended", "warning")}),
    ("os-esketamine-depression", dict(labs=FRESH_IRON_OK),
     dict(name="order-sign", drafts=(med("esketamine", reason="depression"),)), set()),
    ("os-clonazepam", dict(labs=FRESH_IRON_OK),
     dict(name="order-sign", drafts=(med("clonazepam"),)),
     {("not-recommended-agent", "info")}),
    ("os-bupropion-for-depression", dict(labs=FRESH_IRON_OK),
     dict(name="order-sign", drafts=(med("bupropion", reason="depression"),)), set()),
    ("os-iron-not-indicated", dict(labs=FRESH_IRON_OK),
     dict(name="order-sign", drafts=(med("ferric carboxymaltose"),)),
     {("iv-iron-not-indicated", "info")}),
    ("os-iron-no-labs-warns", dict(),
     dict(name="order-sign", drafts=(med("ferric carboxymaltose"),)),
     {("iron-studies-needed", "warning")}),
    ("os-iron-sucrose-non-esrd", dict(labs=FRESH_IRON_LOW),
     dict(name="order-sign", drafts=(med("iron sucrose"),)),
     {("iv-iron-indicated", "info"), ("iron-sucrose-not-preferred", "info")}),
    ("os-methadone-on-a2d", dict(labs=FRESH_IRON_OK, meds=(med("gabapentin", "active"),)),
     dict(name="order-sign", drafts=(med("methadone"),)), {("opioid-refractory-option", "info")}),
    ("os-oxycodone-no-a2d-ever", dict(labs=FRESH_IRON_OK),
     dict(name="order-sign", drafts=(med("oxycodone 5 MG Oral Tablet"),)),
     {("alpha2delta-first-line", "info")}),
    ("os-irrelevant-draft", dict(labs=FRESH_IRON_LOW),
     dict(name="order-sign", drafts=(med("lisinopril"),)), set()),
]


@pytest.mark.parametrize("rec_kwargs, hook_kwargs, expected",
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_rule_table(rec_kwargs, hook_kwargs, expected) -> None:
    assert rules(record(**rec_kwargs), hook(**hook_kwargs)) == expected


def test_missing_birth_date_assumes_adult_and_says_so() -> None:
    findings = evaluate(K, record(labs=FRESH_IRON_LOW, birth=None), hook(), freshness_days=180)
    assert [f.rule_id for f in findings] == ["iv-iron-indicated"]
    assert [n.key for n in findings[0].notes] == ["age-unknown"]


def test_one_card_names_every_order() -> None:
    drafts = (med("pramipexole"), med("ropinirole"))
    rec = record(labs=FRESH_IRON_OK)
    findings = evaluate(K, rec, hook("order-sign", drafts), freshness_days=180)
    against = [f for f in findings if f.rule_id == "dopamine-agonist-against"]
    assert len(against) == 1
    assert against[0].order_names == ("pramipexole", "ropinirole")


def test_band_76_to_100_note_on_not_indicated() -> None:
    findings = evaluate(K, record(labs=(lab("ferritin", 90), lab("tsat", 25))),
                        hook("order-sign", (med("ferric carboxymaltose"),)), freshness_days=180)
    assert [(f.rule_id, [n.key for n in f.notes]) for f in findings] == [
        ("iv-iron-not-indicated", ["ferritin-iv-band"])]


def test_freshness_window_is_configurable() -> None:
    rec = record(labs=(lab("ferritin", 42, 100),))
    findings = evaluate(K, rec, hook(), freshness_days=90)
    assert [f.rule_id for f in findings] == ["iron-studies-needed"]


@pytest.mark.parametrize("value, comparator, threshold, inclusive, expected", [
    (75, "", 75, True, True), (75.01, "", 75, True, False), (20, "", 20, False, False),
    (10, "<", 75, True, True), (100, "<", 75, True, None), (80, ">", 75, True, False),
    (50, ">", 75, True, None), (20, "<=", 20, False, None), (20, ">=", 20, False, False),
])
def test_below_with_comparators(value, comparator, threshold, inclusive, expected) -> None:
    assert below(lab("ferritin", value, comparator=comparator), threshold, inclusive) is expected


def test_now_is_injected_not_read() -> None:
    rec = record(labs=(lab("ferritin", 42, 10),))
    later = hook(now=NOW + timedelta(days=200))
    assert [f.rule_id for f in evaluate(K, rec, later, freshness_days=180)] == [
        "iron-studies-needed"]
