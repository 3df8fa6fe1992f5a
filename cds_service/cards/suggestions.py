"""One-click suggestions: complete R4 resources to create, and drafts to delete.

What a suggestion takes from the knowledge alone (its label, the medication's concept and
dosage, the iron-study codes) is prepared once per rule (``SuggestionPlan``). The prepared
parts are shared by every card that offers them: nothing changes a card after it is built
(the output profiles copy what they rewrite).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cds_service.cards.card_ids import new_uuid as fresh_uuid
from cds_service.cards.card_ids import pooled_uuid
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


def _with_subject(template: dict[str, Any], subject: dict[str, str]) -> dict[str, Any]:
    """``template`` with its ``subject`` filled in (a copy: the key keeps its place)."""
    resource = template.copy()
    resource["subject"] = subject
    return resource


def _medication_template(knowledge: Knowledge, medication: str) -> dict[str, Any]:
    """All of a draft MedicationRequest for ``medication`` but its subject."""
    template = knowledge.raw["recommendations"]["medication_templates"][medication]
    concept: dict[str, Any] = {"text": template["text"]}
    if "coding" in template:  # code and display only: the template also records the source
        coding = template["coding"]
        concept["coding"] = [
            {"system": RXNORM, "code": coding["code"], "display": coding["display"]}
        ]
    return {
        "resourceType": "MedicationRequest",
        "status": "draft",
        "intent": "order",
        "medicationCodeableConcept": concept,
        "subject": None,
        "reasonCode": _REASONS,
        "dosageInstruction": [{"text": template["dosage"]}],
    }


def _medication_create(knowledge: Knowledge, medication: str) -> tuple[str, dict[str, Any]]:
    """(action description, resource template) of the create action for ``medication``."""
    text = knowledge.raw["recommendations"]["medication_templates"][medication]["text"]
    return f"Draft an order for {text}", _medication_template(knowledge, medication)


def medication_request(knowledge: Knowledge, medication: str, patient_id: str) -> dict[str, Any]:
    """A draft MedicationRequest for ``medication`` (a key of medication_templates), for RLS."""
    return _with_subject(
        _medication_template(knowledge, medication), {"reference": f"Patient/{patient_id}"}
    )


def _iron_studies(knowledge: Knowledge) -> tuple[tuple[str, dict[str, Any]], ...]:
    """(action description, resource template) of each iron-study order."""
    spec = knowledge.raw["recommendations"]["iron_study_orders"]
    note = [{"text": spec["note"]}]
    return tuple([
        (
            f"Order {test['display']} (morning, fasting)",
            {
                "resourceType": "ServiceRequest",
                "status": "draft",
                "intent": "order",
                "category": _LAB_CATEGORY,
                "code": {"coding": [{"system": LOINC, **test}], "text": test["display"]},
                "subject": None,
                "reasonCode": _REASONS,
                "note": note,
            },
        )
        for test in spec["tests"]
    ])


def iron_study_requests(knowledge: Knowledge, patient_id: str) -> list[dict[str, Any]]:
    """Draft ServiceRequests for morning fasting ferritin and iron panel."""
    subject = {"reference": f"Patient/{patient_id}"}
    return [_with_subject(template, subject) for _, template in _iron_studies(knowledge)]


class SuggestionPlan:
    """One suggestion spec of a rule, with its knowledge-only parts made."""

    __slots__ = ("label", "unless_drafted_class", "recommended", "creates", "deletes")

    def __init__(self, knowledge: Knowledge, spec: dict[str, Any]) -> None:
        action = spec["action"]
        self.label: str = spec["label"]
        self.unless_drafted_class = spec.get("unless_drafted_class")
        self.recommended = bool(spec.get("isRecommended"))
        # (description, resource template) of each create action, made for a patient by
        # filling in the subject. Create before delete: a client that applies the actions in
        # turn and stops at the first it can (the CDS Hooks Sandbox) then swaps the order
        # instead of emptying it.
        self.creates: tuple[tuple[str, dict[str, Any]], ...] = ()
        if action in ("replace-orders", "create-medication"):
            self.creates = (_medication_create(knowledge, spec["medication"]),)
        elif action == "order-iron-studies":
            self.creates = _iron_studies(knowledge)
        self.deletes = action in ("replace-orders", "delete-orders")


def suggestion_plans(knowledge: Knowledge, rule_id: str) -> tuple[SuggestionPlan, ...]:
    """The suggestion specs of ``rule_id``, in the knowledge file's order."""
    return tuple([
        SuggestionPlan(knowledge, spec) for spec in knowledge.rules[rule_id].get("suggestions", [])
    ])


def _delete_actions(finding: Finding) -> list[dict[str, Any]]:
    return [
        {
            "type": "delete",
            "description": f"Remove the draft order for {name}",
            "resourceId": order.ref,
        }
        # zip's default strict=False, not passed: a keyword argument makes zip() build a dict
        for order, name in zip(finding.orders, finding.order_names)  # noqa: B905
        if not order.ref.endswith("/(no id)")
    ]


def suggestions_for(
    plans: tuple[SuggestionPlan, ...],
    finding: Finding,
    patient_id: str,
    new_uuid: Callable[[], str] | None = None,
) -> list[dict[str, Any]]:
    """The suggestions ``plans`` (one rule's) offer, made concrete for this patient; their
    uuids from ``new_uuid``, else from card_ids' pool."""
    out = []
    subject = {"reference": f"Patient/{patient_id}"}
    drafted, withheld = finding.drafted_classes, finding.withheld_suggestions
    deletes: list[dict[str, Any]] | None = None
    for plan in plans:
        # a drafted class makes its suggestion moot; the engine's population gates withhold
        if plan.unless_drafted_class in drafted or plan.label in withheld:
            continue
        actions: list[dict[str, Any]] = []
        for description, template in plan.creates:
            resource = template.copy()  # _with_subject, inline: the hot loop of every card
            resource["subject"] = subject
            actions.append({"type": "create", "description": description, "resource": resource})
        if plan.deletes:
            if deletes is None:
                deletes = _delete_actions(finding)
            actions += deletes  # the same delete actions in each suggestion that offers them
        if actions:
            if new_uuid is not None:
                uuid = new_uuid()
            else:
                try:  # the pool's pop: no Python frame per suggestion
                    uuid = pooled_uuid()
                except IndexError:  # empty: new_uuid refills it
                    uuid = fresh_uuid()
            out.append(
                {
                    "label": plan.label,
                    "uuid": uuid,
                    "isRecommended": plan.recommended,
                    "actions": actions,
                }
            )
    return out
