"""Which ingredient (and so which drug class) a medication is: by RxNorm code, then by name."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cds_service.engine.facts import Concept, MedicationFact
from cds_service.knowledge import Ingredient, Knowledge, remember, small_concept

_MISSING = object()


def ingredient_of(knowledge: Knowledge, concept: Concept, form: str = "") -> Ingredient | None:
    """The first ingredient whose codes or names match; codes win over names (remembered)."""
    return _cached(knowledge, knowledge.ingredient_index.answers, concept, form)


def _cached(
    knowledge: Knowledge,
    answers: dict[tuple[Any, str, str], Ingredient | None],
    concept: Concept,
    form: str,
) -> Ingredient | None:
    # The same medications come back on every request; working one out costs ~13 K
    # instructions, looking it up well under 2 K. Only small keys are kept.
    key = (concept.codings, concept.text, form)
    found = answers.get(key, _MISSING)
    if found is _MISSING:
        found = _ingredient_of(knowledge, concept, form)
        if small_concept(concept.codings, concept.text, form):
            remember(answers, key, found)
    return found  # type: ignore[return-value]


def _ingredient_of(knowledge: Knowledge, concept: Concept, form: str = "") -> Ingredient | None:
    """The first ingredient whose codes or names match; codes win over names.

    When the match is ingredient-level (an IN/PIN code, or a name), the formulation comes from
    the order's text and ``form`` (Medication.form): oxycodone + "12 HR" is ER oxycodone.
    """
    index = knowledge.ingredient_index
    rxcuis = [code for system, code in concept.codings if system == "rxnorm"]
    found = index.by_codes(rxcuis)
    if found is None:
        found = index.by_name(concept.text) if concept.text else None
    if found is None:
        return None
    return index.with_formulation(found, rxcuis, f"{concept.text} | {form}")


# Not frozen: a frozen dataclass sets each field through object.__setattr__ (~1.3 K
# instructions a field). unsafe_hash keeps the frozen version's hash and equality; nothing
# assigns to these after construction.
@dataclass(slots=True, unsafe_hash=True)
class ClassifiedMedication:
    fact: MedicationFact
    ingredient: Ingredient

    @property
    def drug_class(self) -> str:
        return self.ingredient.drug_class

    @property
    def name(self) -> str:
        return self.ingredient.display


def classify(
    knowledge: Knowledge, facts: tuple[MedicationFact, ...]
) -> tuple[ClassifiedMedication, ...]:
    """The facts whose medication is one the RLS rules know, with its ingredient."""
    if not facts:
        return ()
    answers = knowledge.ingredient_index.answers
    out = []
    for fact in facts:
        ingredient = _cached(knowledge, answers, fact.concept, fact.form_text)
        if ingredient is not None:
            out.append(ClassifiedMedication(fact, ingredient))
    return tuple(out)
