"""The patient's situation as the rules see it: gates, populations, classified medications."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from operator import attrgetter

from cds_service.engine.facts import ConditionFact, HookInput, MedicationFact, PatientRecord
from cds_service.engine.iron import IronStatus, iron_status
from cds_service.engine.medications import ClassifiedMedication, classify
from cds_service.knowledge import Knowledge

ACTIVE_REQUEST = {"active", "on-hold"}
ORDER_HOOKS = ("order-select", "order-sign")


@dataclass
class Situation:
    """Made once per evaluation, then only read by the rules. Not frozen: a frozen dataclass
    sets each of these fields through ``object.__setattr__`` (~1.3 K instructions a field)."""

    knowledge: Knowledge
    record: PatientRecord
    hook: str
    now: datetime
    age_known: bool
    adult: bool
    esrd: bool
    pregnant: bool
    drafts: tuple[ClassifiedMedication, ...]  # the orders being judged
    all_drafts: tuple[ClassifiedMedication, ...]
    active: tuple[ClassifiedMedication, ...]  # active or on-hold requests on file
    history: tuple[ClassifiedMedication, ...]  # every request on file, any status
    iron: IronStatus
    recent_infusion: MedicationFact | None
    unreadable_drafts: tuple[MedicationFact, ...] = ()  # orders to judge that could not be read
    # Read by several rules, so made once: the judged orders by class, the classes of every
    # order being placed, IV iron orders on file
    by_class: dict[str, tuple[ClassifiedMedication, ...]] = field(default_factory=dict)
    drafted_classes: frozenset[str] = frozenset()
    active_iv_iron: tuple[ClassifiedMedication, ...] = ()
    active_classes: frozenset[str] = frozenset()  # of the active or on-hold requests
    order_hook: bool = False  # order-select or order-sign: orders are being judged

    def has(self, concept_id: str) -> ConditionFact | None:
        """The first active condition of ``concept_id`` on the problem list."""
        return _active_condition(self.knowledge, self.record, concept_id)

    def intent(self, med: ClassifiedMedication) -> str:
        """'rls' when the order states RLS, 'other' for another stated reason, else 'unstated'."""
        if not med.fact.reason_stated:
            return "unstated"
        rls = self.knowledge.conditions["rls"]
        return "rls" if any(rls.matches(r.codings, r.text) for r in med.fact.reasons) else "other"

    def competing(self, med: ClassifiedMedication) -> str | None:
        """A problem-list condition that this drug also treats (only when no reason is stated)."""
        if self.intent(med) != "unstated":
            return None
        drug_class = self.knowledge.classes[med.ingredient.drug_class]
        for concept_id in drug_class.get("competing_conditions", []):
            if self.has(concept_id):
                return self.knowledge.conditions[concept_id].display
        return None

    def drafted(self, drug_class: str) -> tuple[ClassifiedMedication, ...]:
        return self.by_class.get(drug_class, ())

    def on_alpha2delta(self) -> bool:
        return "alpha2delta" in self.active_classes or "alpha2delta" in self.drafted_classes


def _active_condition(
    knowledge: Knowledge, record: PatientRecord, concept_id: str
) -> ConditionFact | None:
    concept = knowledge.conditions[concept_id]
    for condition in record.conditions:
        if condition.active and concept.match(condition.concept.codings, condition.concept.text):
            return condition
    return None


def _age_years(birth: object, now: datetime) -> int | None:
    if birth is None:
        return None
    today = now.date()
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))  # type: ignore[attr-defined]


def _recent_infusion(
    knowledge: Knowledge,
    record: PatientRecord,
    now: datetime,
    history: tuple[ClassifiedMedication, ...],
) -> MedicationFact | None:
    """The latest IV iron given within the window; ``history`` is ``record.medications``
    classified (its completed requests count as given, in the record's order)."""
    given = tuple([m for m in record.administrations if m.status in ("completed", "in-progress")])
    infusions = [
        m.fact
        for m in (classify(knowledge, given) if given else ())
        if m.ingredient.drug_class == "iron-iv"
    ]
    infusions += [
        m.fact
        for m in history
        if m.ingredient.drug_class == "iron-iv" and m.fact.status == "completed"
    ]
    if not infusions:
        return None
    window = knowledge.param("recent_iv_iron_days")
    today = now.date()
    # counted in calendar days, like the freshness window
    recent = [f for f in infusions if f.when and 0 <= (today - f.when.date()).days <= window]
    return max(recent, key=_WHEN) if recent else None


_WHEN = attrgetter("when")


def situation(
    knowledge: Knowledge, record: PatientRecord, hook: HookInput, freshness_days: float
) -> Situation:
    """Classify everything once, so that each rule reads plain fields."""
    age = _age_years(record.patient.birth_date if record.patient else None, hook.now)
    drafts = classify(knowledge, hook.drafts)
    history = classify(knowledge, record.medications)
    all_drafts = drafts + classify(knowledge, hook.other_drafts) if hook.other_drafts else drafts
    active = tuple([m for m in history if m.fact.status in ACTIVE_REQUEST])
    by_class: dict[str, tuple[ClassifiedMedication, ...]] = {}
    for m in drafts:
        by_class[m.ingredient.drug_class] = by_class.get(m.ingredient.drug_class, ()) + (m,)
    # Every field, positional in field order: each keyword costs a dataclass __init__ about
    # 0.4 K instructions, and there are twenty.
    return Situation(
        knowledge,
        record,
        hook.hook,
        hook.now,
        age is not None,  # age_known
        age is None or age >= knowledge.param("adult_age_years"),  # adult
        _active_condition(knowledge, record, "esrd") is not None,  # esrd
        _active_condition(knowledge, record, "pregnancy") is not None,  # pregnant
        drafts,
        all_drafts,
        active,
        history,
        iron_status(  # iron
            record,
            hook.now,
            freshness_days,
            knowledge.plausible,
            knowledge.raw["recommendations"]["set_aside"],
        ),
        _recent_infusion(knowledge, record, hook.now, history),  # recent_infusion
        hook.unreadable_drafts,
        by_class,
        frozenset([m.ingredient.drug_class for m in all_drafts]),  # drafted_classes
        tuple([m for m in active if m.ingredient.drug_class == "iron-iv"]),  # active_iv_iron
        frozenset([m.ingredient.drug_class for m in active]),  # active_classes
        hook.hook in ORDER_HOOKS,  # order_hook
    )
