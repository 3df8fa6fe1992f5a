"""``rls-cds explain RESPONSE.json``: per card, why it fired, from its provenance extension."""

from __future__ import annotations

from typing import Any

from cds_service.governance.provenance import PROVENANCE_KEY
from cds_service.governance.stamp import KnowledgeStamp
from cds_service.knowledge import Knowledge


def _ref(item: dict[str, Any]) -> str:
    ref = f"{item.get('type')}/{item.get('id')}"
    return ref + f" (version {item['versionId']})" if item.get("versionId") else ref


def _evidence(item: dict[str, Any]) -> str:
    derived = item.get("derivedFrom")
    ref = ("computed from " + " and ".join(_ref(r) for r in derived)) \
        if isinstance(derived, list) else _ref(item)
    if "analyte" in item:
        value = f"{item.get('comparator', '')}{item.get('value')} {item.get('unit')}"
        return f"{ref}: {item['analyte']} {value} on {str(item.get('effective'))[:10]}"
    return f"{ref}: {item.get('status')}"


def explain_card(
    index: int, card: dict[str, Any], knowledge: Knowledge, stamp: KnowledgeStamp
) -> list[str]:
    """The lines explaining one card."""
    head = f"card {index}: [{card.get('indicator')}] {card.get('summary')}"
    entry = (card.get("extension") or {}).get(PROVENANCE_KEY)
    if not isinstance(entry, dict):
        return [head, "  no provenance (not from this service, or from a version without it)"]
    rule_id = entry.get("rule")
    used = entry.get("knowledge") or {}
    lines = [head, f"  rule: {rule_id}"]
    rule = knowledge.rules.get(str(rule_id))
    if rule is not None:
        rec = rule.get("recommendation", {})
        lines.append(f"  title: {rule.get('title')}")
        if rec.get("statement"):
            lines.append(f"  recommendation: {rec['statement']} (strength: {rec.get('strength')}"
                         f"; certainty: {rec.get('certainty')})")
    sha = str(used.get("sha256", ""))
    lines.append(f"  knowledge: {used.get('version')} (sha256 {sha[:16]}…)")
    if sha != stamp.sha256:
        lines.append(f"  note: the installed knowledge differs ({stamp.version}, sha256 "
                     f"{stamp.sha256[:16]}…); texts above are from the installed version")
    evidence = entry.get("evidence") or []
    lines.append("  because of:" if evidence else "  because of: the diagnosis and hook alone "
                 "(no lab or order)")
    lines += [f"    - {_evidence(item)}" for item in evidence if isinstance(item, dict)]
    return lines


def explain(response: Any, knowledge: Knowledge, stamp: KnowledgeStamp) -> list[str]:
    """Every card of a CDS Hooks response, explained; ValueError if it is not one."""
    cards = response.get("cards") if isinstance(response, dict) else None
    if not isinstance(cards, list):
        raise ValueError("not a CDS Hooks response (no cards array)")
    if not cards:
        return ["no cards"]
    lines: list[str] = []
    for index, card in enumerate(cards, 1):
        lines += explain_card(index, card if isinstance(card, dict) else {}, knowledge, stamp)
    return lines
