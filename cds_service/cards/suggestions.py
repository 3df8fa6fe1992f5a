"""One-click suggestions: complete R4 resources to create, and drafts to delete."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cds_service.engine.findings import Finding
from cds_service.knowledge import Knowledge

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
RLS_REASON = {"coding": [{"system": SNOMED, "code": "32914008", "display": "Restless legs"}]}


def medication_request(knowledge: Knowledge, medication: str, patient_id: str) -> dict[str, Any]:
    """A draft MedicationRequest for ``medication`` (a key of medication_templates), for RLS."""
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
        "subject": {"reference": f"Patient/{patient_id}"},
        "reasonCode": [RLS_REASON],
        "dosageInstruction": [{"text": template["dosage"]}],
    }


def iron_study_requests(knowledge: Knowledge, patient_id: str) -> list[dict[str, Any]]:
    """Draft ServiceRequests for morning fasting ferritin and iron panel."""
    spec = knowledge.raw["recommendations"]["iron_study_orders"]
    return [
        {
            "resourceType": "ServiceRequest",
            "status": "draft",
            "intent": "order",
            "category": [
                {
                    "coding": [
                        {"system": SNOMED, "code": "108252007", "display": "Laboratory procedure"}
                    ]
                }
            ],
            "code": {"coding": [{"system": LOINC, **test}], "text": test["display"]},
            "subject": {"reference": f"Patient/{patient_id}"},
            "reasonCode": [RLS_REASON],
            "note": [{"text": spec["note"]}],
        }
        for test in spec["tests"]
    ]


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
    knowledge: Knowledge, finding: Finding, patient_id: str, new_uuid: Callable[[], str]
) -> list[dict[str, Any]]:
    """The suggestions the knowledge file lists for this rule, made concrete for this patient."""
    out = []
    for spec in knowledge.rules[finding.rule_id].get("suggestions", []):
        if spec.get("unless_drafted_class") in finding.drafted_classes:
            continue
        if spec["label"] in finding.withheld_suggestions:  # the engine's population gates
            continue
        action = spec["action"]
        actions: list[dict[str, Any]] = []
        # Create before delete: a client that applies the actions in turn and stops at the
        # first it can (the CDS Hooks Sandbox) then swaps the order instead of emptying it.
        if action in ("replace-orders", "create-medication"):
            resource = medication_request(knowledge, spec["medication"], patient_id)
            text = resource["medicationCodeableConcept"]["text"]
            actions.append(
                {
                    "type": "create",
                    "description": f"Draft an order for {text}",
                    "resource": resource,
                }
            )
        if action in ("replace-orders", "delete-orders"):
            actions += _delete_actions(finding)
        if action == "order-iron-studies":
            actions += [
                {
                    "type": "create",
                    "description": f"Order {r['code']['text']} (morning, fasting)",
                    "resource": r,
                }
                for r in iron_study_requests(knowledge, patient_id)
            ]
        if actions:
            out.append(
                {
                    "label": spec["label"],
                    "uuid": new_uuid(),
                    "isRecommended": bool(spec.get("isRecommended")),
                    "actions": actions,
                }
            )
    return out
