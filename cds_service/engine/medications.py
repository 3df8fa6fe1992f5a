"""Which ingredient (and so which drug class) a medication is: by RxNorm code, then by name."""

from __future__ import annotations

from dataclasses import dataclass

from cds_service.engine.facts import Concept, MedicationFact
from cds_service.knowledge import Ingredient, Knowledge


def ingredient_of(knowledge: Knowledge, concept: Concept, form: str = "") -> Ingredient | None:
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


@dataclass(frozen=True)
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
    out = []
    for fact in facts:
        ingredient = ingredient_of(knowledge, fact.concept, fact.form_text)
        if ingredient is not None:
            out.append(ClassifiedMedication(fact, ingredient))
    return tuple(out)
