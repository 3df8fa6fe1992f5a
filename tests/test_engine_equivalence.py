"""The engine's one-pass rewrites give exactly what the implementations they replaced gave."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from cds_service.engine import iron
from cds_service.engine.facts import LabFact, PatientRecord, UnusableLab
from cds_service.engine.gates import withheld_and_why
from cds_service.engine.iron import IronStatus, computed_tsat, is_fresh
from cds_service.knowledge import PlausibleRange, load_knowledge

NOW = datetime(2026, 11, 2, 12, tzinfo=UTC)


def _latest(labs):
    return max(labs, key=lambda f: f.effective) if labs else None


def reference_iron_status(
    record: PatientRecord,
    now: datetime,
    window_days: float,
    plausible: Mapping[str, PlausibleRange] | None = None,
    texts: Mapping[str, str] | None = None,
) -> IronStatus:
    """iron_status as it was before the one-pass rewrite."""
    by_analyte: dict[str, list[LabFact]] = {}
    latest = now + timedelta(days=1)
    for fact in record.labs:
        if fact.effective <= latest:
            by_analyte.setdefault(fact.analyte, []).append(fact)
    reported = _latest(by_analyte.get("tsat", []))
    computed = computed_tsat(record.labs, (plausible or {}).get("tsat"))
    set_aside = (computed,) if isinstance(computed, UnusableLab) else ()
    computed = None if isinstance(computed, UnusableLab) else computed
    candidates = [f for f in (reported, computed) if f is not None]
    tsat = (
        max(candidates, key=lambda f: (f.effective.date(), f is reported)) if candidates else None
    )
    chosen = {
        "ferritin": _latest(by_analyte.get("ferritin", [])),
        "tsat": tsat,
        "hemoglobin": _latest(by_analyte.get("hemoglobin", [])),
    }
    fresh = {k: v for k, v in chosen.items() if v is not None and is_fresh(v, now, window_days)}
    stale = tuple(v for k, v in chosen.items() if v is not None and k not in fresh)
    newest_used = {k: v.effective for k, v in fresh.items()}
    unusable = tuple(
        u
        for u in record.unusable_labs + set_aside
        if u.analyte in ("ferritin", "tsat")
        and (u.analyte not in newest_used or (u.effective and u.effective > newest_used[u.analyte]))
    )
    why = tuple(
        iron._why_missing(
            analyte,
            record,
            next((f for f in stale if f.analyte == analyte), None),
            unusable,
            now,
            window_days,
            texts,
        )
        for analyte in ("ferritin", "tsat")
        if analyte not in fresh and texts is not None
    )
    return IronStatus(
        fresh.get("ferritin"), fresh.get("tsat"), fresh.get("hemoglobin"), stale, unusable, why
    )


ANALYTES = ("ferritin", "tsat", "hemoglobin", "iron", "tibc", "uibc", "other")
# Few distinct days and hours, so that ties, same-day panels and the freshness edges all occur.
WHEN = st.builds(
    lambda days, hours: NOW - timedelta(days=days, hours=hours),
    st.sampled_from([-3, -2, -1, 0, 1, 2, 179, 180, 181, 400]),
    st.sampled_from([0, 6, 12, 18]),
)
VALUE = st.fractions(min_value=Fraction(-5), max_value=Fraction(700), max_denominator=7)
LAB = st.builds(
    lambda n, analyte, value, comparator, when: LabFact(
        f"Observation/{n}", analyte, value, "u", comparator, when, "final", f"{value} u"
    ),
    st.integers(0, 999),
    st.sampled_from(ANALYTES),
    VALUE,
    st.sampled_from(["", "", "", "<", ">="]),
    WHEN,
)
UNUSABLE = st.builds(
    lambda n, analyte, when: UnusableLab(f"Observation/u{n}", analyte, "no unit", when),
    st.integers(0, 99),
    st.sampled_from(("ferritin", "tsat", "hemoglobin")),
    st.none() | WHEN,
)
RECORD = st.builds(
    lambda labs, unusable, uncounted: PatientRecord(
        "p", None, labs=tuple(labs), unusable_labs=tuple(unusable), uncounted=tuple(uncounted)
    ),
    st.lists(LAB, max_size=8),
    st.lists(UNUSABLE, max_size=3),
    st.lists(st.tuples(st.sampled_from(("ferritin", "tsat")), st.just("preliminary")), max_size=2),
)


@settings(max_examples=600, deadline=None)
@given(RECORD, st.sampled_from([0, 1, 90, 180, 180.5]), st.booleans())
def test_iron_status_equals_the_reference(record, window, with_texts):
    knowledge = load_knowledge()
    texts = knowledge.raw["recommendations"]["set_aside"] if with_texts else None
    args = (record, NOW, window, knowledge.plausible, texts)
    assert iron.iron_status(*args) == reference_iron_status(*args)


GATES = (
    "adult", "child", "esrd", "pregnant", "recent-iv-iron", "iv-iron-order-active",
    "tsat-at-or-above-cap", "iron-criteria-not-met",
)


def reference_withheld_and_why(knowledge, rule_id, gates):
    """What the finisher worked out on every call before the per-rule-and-gates table."""
    withheld: dict[str, str | None] = {}
    for spec in knowledge.rules[rule_id].get("suggestions", []):
        blocking = [g for g in spec.get("not_for", []) if g in gates]
        only_for = frozenset(spec.get("only_for") or ())
        if blocking:
            withheld[spec["label"]] = blocking[0]
        elif only_for and not gates & only_for:
            withheld[spec["label"]] = None
    own = {"iv-iron-order-active", "recent-iv-iron"}
    why = [g for g in dict.fromkeys(withheld.values()) if g and g not in own]
    phrases = knowledge.raw["recommendations"]["suggestion_gates"]
    return frozenset(withheld), "; ".join(phrases[g] for g in why)


@settings(max_examples=300, deadline=None)
@given(st.sets(st.sampled_from(GATES)), st.data())
def test_withheld_and_why_equals_the_reference(gates, data):
    knowledge = load_knowledge()
    rule_id = data.draw(st.sampled_from(sorted(knowledge.rules)))
    gates = frozenset(gates)
    for _ in range(2):  # the first call fills the table, the second reads it
        assert withheld_and_why(knowledge, rule_id, gates) == reference_withheld_and_why(
            knowledge, rule_id, gates
        )
