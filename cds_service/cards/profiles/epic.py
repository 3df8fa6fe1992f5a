"""``epic``: the cards as Epic documents it accepts them (``constraints.json``, profile epic).

- ``selectionBehavior: "any"``, the only value Epic supports;
- one action per suggestion: a replace becomes a create suggestion and a delete suggestion
  (one delete per order, however many replacements offered it), several orders become one
  suggestion each, or one order-set action when the site configured an order-set code;
- ``source.topic.code`` is the rule id with every character but ASCII letters and digits
  removed (``iv-iron-indicated`` -> ``ivironindicated``), stable, mapped back by
  ``rule_id_for_topic_code``;
- a create carries only the code Epic orders from (RxNorm as ``urn:oid:2.16.840.1.113883.6.88``,
  a site's preference-list code first when configured); Epic ignores order details, so the
  dosage and notes move into the action's description, which Epic shows;
- the detail is declared GitHub markdown with Epic's content-type extension.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from cds_service.cards.profiles.common import keep_allowed_links, set_suggestions
from cds_service.cards.profiles.context import ProfileContext
from cds_service.cards.profiles.site import SiteCodes

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
RXNORM_OID = "urn:oid:2.16.840.1.113883.6.88"
LOINC = "http://loinc.org"
PREFERENCE_LIST = "urn:com.epic.cdshooks.action.code.system.preference-list-item"
ORDER_SET = "urn:com.epic.cdshooks.action.code.system.orderset-item"
CONTENT_TYPE = "com.epic.cdshooks.card.detail.content-type"
ORDER_KEYS = ("resourceType", "status", "intent", "subject", "medicationCodeableConcept", "code")
TOPIC_CODE_LIMIT = 100
_NOT_ALNUM = re.compile(r"[^A-Za-z0-9]")


def topic_code(rule_id: str) -> str:
    """The rule id as Epic accepts a topic code: ASCII letters and digits, at most 100."""
    return _NOT_ALNUM.sub("", rule_id)[:TOPIC_CODE_LIMIT]


def rule_id_for_topic_code(code: str, rule_ids: Iterable[str]) -> str | None:
    """The rule id whose Epic topic code is ``code`` (for feedback analytics), or None."""
    return next((rule_id for rule_id in rule_ids if topic_code(rule_id) == code), None)


def _codes(concept: dict[str, Any], system: str) -> list[str]:
    return [c["code"] for c in concept.get("coding", []) if c.get("system") == system]


def _details(resource: dict[str, Any]) -> list[str]:
    texts = [d.get("text") for d in resource.get("dosageInstruction", [])]
    texts += [n.get("text") for n in resource.get("note", [])]
    return [t for t in texts if t]


def _medication(concept: dict[str, Any], ctx: ProfileContext, site: SiteCodes) -> dict[str, Any]:
    rxnorm = _codes(concept, RXNORM) + _codes(concept, RXNORM_OID)
    codings = [
        {"system": RXNORM_OID, **{k: v for k, v in c.items() if k != "system"}}
        for c in concept.get("coding", [])
        if c.get("system") in (RXNORM, RXNORM_OID)
    ]
    keys = [ctx.medication_keys[code] for code in rxnorm if code in ctx.medication_keys]
    local = [site.preference_list[k] for k in keys if k in site.preference_list]
    if local:
        codings.insert(0, {"system": PREFERENCE_LIST, "code": local[0]})
    return {**concept, "coding": codings}


def _procedure(concept: dict[str, Any], site: SiteCodes) -> dict[str, Any]:
    local = [site.preference_list[c] for c in _codes(concept, LOINC) if c in site.preference_list]
    if not local:
        return concept
    local_coding = {"system": PREFERENCE_LIST, "code": local[0]}
    return {**concept, "coding": [local_coding, *concept["coding"]]}


def _create(action: dict[str, Any], ctx: ProfileContext, site: SiteCodes) -> dict[str, Any]:
    resource = action["resource"]
    kept = {k: resource[k] for k in ORDER_KEYS if k in resource}
    concept = kept.get("medicationCodeableConcept")
    if concept is not None:
        kept["medicationCodeableConcept"] = _medication(concept, ctx, site)
    if "code" in kept:
        kept["code"] = _procedure(kept["code"], site)
    description = ". ".join([action["description"], *_details(resource)])
    return {"type": "create", "description": description, "resource": kept}


def _order_set(
    suggestion: dict[str, Any], creates: list[dict[str, Any]], ctx: ProfileContext, site: SiteCodes
) -> dict[str, Any] | None:
    """One order-set action for the iron studies, when the site has an order-set code."""
    code = site.order_sets.get("iron-studies")
    if code is None or len(creates) < 2:  # before reading codes: most sites configure none
        return None
    loinc = {c for a in creates for c in _codes(a["resource"].get("code", {}), LOINC)}
    if loinc != ctx.iron_study_codes:
        return None
    first = creates[0]["resource"]
    resource = {
        "resourceType": "ServiceRequest",
        "status": first.get("status", "draft"),
        "intent": first.get("intent", "order"),
        "subject": first["subject"],
        "code": {"coding": [{"system": ORDER_SET, "code": code}], "text": suggestion["label"]},
    }
    description = ". ".join([suggestion["label"], *_details(first)])
    return {"type": "create", "description": description, "resource": resource}


def _single(
    suggestion: dict[str, Any], uuid: str, label: str, action: dict[str, Any]
) -> dict[str, Any]:
    recommended = bool(suggestion.get("isRecommended"))
    return {"label": label, "uuid": uuid, "isRecommended": recommended, "actions": [action]}


def _suggestions(
    suggestions: list[dict[str, Any]], ctx: ProfileContext, site: SiteCodes
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    removals: dict[str, dict[str, Any]] = {}  # one delete suggestion per order
    for suggestion in suggestions:
        actions = suggestion.get("actions", [])
        creates = [a for a in actions if a.get("type") == "create"]
        order_set = _order_set(suggestion, creates, ctx, site)
        singles = (
            [(suggestion["label"], order_set)]
            if order_set
            else [(a["description"], _create(a, ctx, site)) for a in creates]
        )
        others = [a for a in actions if a.get("type") not in ("create", "delete")]
        singles += [(a["description"], a) for a in others]
        uuids = iter([suggestion["uuid"]])  # the first piece keeps the suggestion's uuid
        for label, action in singles:
            out.append(_single(suggestion, next(uuids, None) or ctx.new_uuid(), label, action))
        for action in (a for a in actions if a.get("type") == "delete"):
            held = removals.get(action["resourceId"])
            if held is None:
                uuid = next(uuids, None) or ctx.new_uuid()
                removals[action["resourceId"]] = _single(
                    suggestion, uuid, action["description"], action
                )
            elif suggestion.get("isRecommended"):
                held["isRecommended"] = True
    return out + list(removals.values())  # creates first, as everywhere


def _card(card: dict[str, Any], ctx: ProfileContext) -> dict[str, Any]:
    site = ctx.site_for("epic")
    card = dict(card)
    source = dict(card["source"])
    if "topic" in source:
        source["topic"] = {**source["topic"], "code": topic_code(source["topic"]["code"])}
    card["source"] = source
    card["extension"] = {**card.get("extension", {}), CONTENT_TYPE: "text/markdown"}
    keep_allowed_links(card, site.allowed_links)
    if "suggestions" in card:
        set_suggestions(card, _suggestions(card["suggestions"], ctx, site), "any")
    return card


def render(response: dict[str, Any], ctx: ProfileContext, hook: str = "") -> dict[str, Any]:
    return {**response, "cards": [_card(c, ctx) for c in response.get("cards", [])]}


def discovery(document: dict[str, Any], ctx: ProfileContext) -> dict[str, Any]:
    return document
