"""One-click suggestions: complete R4 resources to create, and drafts to delete.

What a suggestion takes from the knowledge alone (its label, the medication's concept and
dosage, the iron-study codes) is prepared once per rule (``SuggestionPlan``). The prepared
parts are shared by every card that offers them: nothing changes a card after it is built
(the output profiles copy what they rewrite).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cds_service.engine.findings import Finding
from cds_service.knowledge import Knowledge

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
RLS_REASON = {"coding": [{"system": SNOMED, "code": "32914008", "display": "Restless legs"}]}
_REASONS = [RLS_REASON]
_LAB_CATEGORY = [
    {"coding": [{"system": SNOMED, "code": "108252007", "display": "Laboratory procedure"}]}
]


class _MedicationOrder:
    """A medication template's parts: all of a draft MedicationRequest but its subject."""

    __slots__ = ("concept", "dosage", "description")

    def __init__(self, knowledge: Knowledge, medication: str) -> None:
        template = knowledge.raw["recommendations"]["medication_templates"][medication]
        concept: dict[str, Any] = {"text": template["text"]}
        if "coding" in template:  # code and display only: the template also records the source
            coding = template["coding"]
            concept["coding"] = [
                {"system": RXNORM, "code": coding["code"], "display": coding["display"]}
            ]
        self.concept = concept
        self.dosage = [{"text": template["dosage"]}]
        self.description = f"Draft an order for {template['text']}"

    def resource(self, subject: dict[str, str]) -> dict[str, Any]:
        return {
            "resourceType": "MedicationRequest",
            "status": "draft",
            "intent": "order",
            "medicationCodeableConcept": self.concept,
            "subject": subject,
            "reasonCode": _REASONS,
            "dosageInstruction": self.dosage,
        }


def medication_request(knowledge: Knowledge, medication: str, patient_id: str) -> dict[str, Any]:
    """A draft MedicationRequest for ``medication`` (a key of medication_templates), for RLS."""
    return _MedicationOrder(knowledge, medication).resource(
        {"reference": f"Patient/{patient_id}"}
    )


def _iron_studies(knowledge: Knowledge) -> list[tuple[str, dict[str, Any], list[dict[str, str]]]]:
    """(action description, code, note) of each iron-study order."""
    spec = knowledge.raw["recommendations"]["iron_study_orders"]
    note = [{"text": spec["note"]}]
    return [
        (
            f"Order {test['display']} (morning, fasting)",
            {"coding": [{"system": LOINC, **test}], "text": test["display"]},
            note,
        )
        for test in spec["tests"]
    ]


def _study_request(
    code: dict[str, Any], note: list[dict[str, str]], subject: dict[str, str]
) -> dict[str, Any]:
    return {
        "resourceType": "ServiceRequest",
        "status": "draft",
        "intent": "order",
        "category": _LAB_CATEGORY,
        "code": code,
        "subject": subject,
        "reasonCode": _REASONS,
        "note": note,
    }


def iron_study_requests(knowledge: Knowledge, patient_id: str) -> list[dict[str, Any]]:
    """Draft ServiceRequests for morning fasting ferritin and iron panel."""
    subject = {"reference": f"Patient/{patient_id}"}
    return [_study_request(code, note, subject) for _, code, note in _iron_studies(knowledge)]


class SuggestionPlan:
    """One suggestion spec of a rule, with its knowledge-only parts made."""

    __slots__ = ("label", "unless_drafted_class", "recommended", "medication", "deletes",
                 "studies")

    def __init__(self, knowledge: Knowledge, spec: dict[str, Any]) -> None:
        action = spec["action"]
        self.label: str = spec["label"]
        self.unless_drafted_class = spec.get("unless_drafted_class")
        self.recommended = bool(spec.get("isRecommended"))
        # Create before delete: a client that applies the actions in turn and stops at the
        # first it can (the CDS Hooks Sandbox) then swaps the order instead of emptying it.
        self.medication = (
            _MedicationOrder(knowledge, spec["medication"])
            if action in ("replace-orders", "create-medication")
            else None
        )
        self.deletes = action in ("replace-orders", "delete-orders")
        self.studies = _iron_studies(knowledge) if action == "order-iron-studies" else None


def suggestion_plans(knowledge: Knowledge, rule_id: str) -> tuple[SuggestionPlan, ...]:
    """The suggestion specs of ``rule_id``, in the knowledge file's order."""
    return tuple(
        SuggestionPlan(knowledge, spec) for spec in knowledge.rules[rule_id].get("suggestions", [])
    )


def _delete_actions(finding: Finding) -> list[dict[str, Any]]:
    return [
        {
            "type": "delete",
            "description": f"Remove the draft order for {name}",
            "resourceId": order.ref,
        }
        for order, name in zip(finding.orders, finding.order_names, strict=False)
        if not order.ref.endswith("/(no id)")
    ]


def suggestions_for(
    plans: tuple[SuggestionPlan, ...],
    finding: Finding,
    patient_id: str,
    new_uuid: Callable[[], str],
) -> list[dict[str, Any]]:
    """The suggestions ``plans`` (one rule's) offer, made concrete for this patient."""
    out = []
    subject = {"reference": f"Patient/{patient_id}"}
    deletes: list[dict[str, Any]] | None = None
    for plan in plans:
        if plan.unless_drafted_class in finding.drafted_classes:
            continue
        if plan.label in finding.withheld_suggestions:  # the engine's population gates
            continue
        actions: list[dict[str, Any]] = []
        medication = plan.medication
        if medication is not None:
            actions.append(
                {
                    "type": "create",
                    "description": medication.description,
                    "resource": medication.resource(subject),
                }
            )
        if plan.deletes:
            if deletes is None:
                deletes = _delete_actions(finding)
            actions += deletes  # the same delete actions in each suggestion that offers them
        if plan.studies is not None:
            actions += [
                {
                    "type": "create",
                    "description": description,
                    "resource": _study_request(code, note, subject),
                }
                for description, code, note in plan.studies
            ]
        if actions:
            out.append(
                {
                    "label": plan.label,
                    "uuid": new_uuid(),
                    "isRecommended": plan.recommended,
                    "actions": actions,
                }
            )
    return out
