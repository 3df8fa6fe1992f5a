"""Which codes and thresholds each rule reads, resolved to the values in the knowledge files.

A rule names the knowledge entries it reads under ``"uses"`` in recommendations.json. The
codes, units and numbers shown always come from the loaded knowledge, never from here, and a
test fails when a rule has no entry or an entry names something the files lack.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cds_service.knowledge import Knowledge

KINDS = ("conditions", "classes", "ingredients", "analytes", "parameters")
@dataclass(frozen=True)
class Uses:
    """The knowledge entries one rule reads, each as it stands in the knowledge files."""

    conditions: list[tuple[str, dict[str, Any]]]
    classes: list[tuple[str, dict[str, Any], list[dict[str, Any]]]]  # id, class, ingredients
    analytes: list[tuple[str, dict[str, Any]]]
    parameters: list[tuple[str, dict[str, Any]]]

    @property
    def downgradable(self) -> bool:
        """True when a drug class it reads names competing conditions (a card may drop to info)."""
        return any(cls.get("competing_conditions") for _, cls, _ in self.classes)


def declared(knowledge: Knowledge, rule_id: str) -> dict[str, list[str]]:
    """The ids a rule reads: its ``uses`` key in the knowledge file."""
    uses = knowledge.rules[rule_id].get("uses")
    chosen: Mapping[str, Any] = uses if isinstance(uses, Mapping) else {}
    return {kind: list(chosen.get(kind, [])) for kind in KINDS}


def unknown_ids(knowledge: Knowledge, rule_id: str) -> list[str]:
    """Every id a rule names that the knowledge files do not hold (empty when all is well)."""
    raw = knowledge.raw
    present = {
        "conditions": raw["valuesets"]["conditions"],
        "classes": raw["medications"]["classes"],
        "ingredients": {i["id"] for i in raw["medications"]["ingredients"]},
        "analytes": raw["valuesets"]["analytes"],
        "parameters": raw["parameters"]["parameters"],
    }
    ids = declared(knowledge, rule_id)
    return [f"{kind}:{i}" for kind in KINDS for i in ids[kind] if i not in present[kind]]


def resolve(knowledge: Knowledge, rule_id: str) -> Uses:
    """Resolve a rule's ids to knowledge entries; a class also brings its competing conditions."""
    raw = knowledge.raw
    ids = declared(knowledge, rule_id)
    classes = raw["medications"]["classes"]
    ingredients = raw["medications"]["ingredients"]
    condition_ids = list(ids["conditions"])
    for cid in ids["classes"]:
        condition_ids += classes.get(cid, {}).get("competing_conditions", [])
    chosen_classes = [
        (cid, classes[cid], [i for i in ingredients if i["class"] == cid])
        for cid in ids["classes"]
        if cid in classes
    ]
    for iid in ids["ingredients"]:
        found = [i for i in ingredients if i["id"] == iid]
        if found:
            cid = found[0]["class"]
            chosen_classes.append((cid, classes.get(cid, {}), found))
    conditions = raw["valuesets"]["conditions"]
    analytes = raw["valuesets"]["analytes"]
    params = raw["parameters"]["parameters"]
    return Uses(
        conditions=[(c, conditions[c]) for c in dict.fromkeys(condition_ids) if c in conditions],
        classes=chosen_classes,
        analytes=[(a, analytes[a]) for a in ids["analytes"] if a in analytes],
        parameters=[(p, params[p]) for p in ids["parameters"] if p in params],
    )
