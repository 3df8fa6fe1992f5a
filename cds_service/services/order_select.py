"""rls-order-select: judge the orders the clinician has just selected."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cds_service.engine.facts import MedicationFact

SERVICE_ID = "rls-order-select"
HOOK = "order-select"


def split_drafts(
    drafts: tuple[MedicationFact, ...], context: Mapping[str, Any]
) -> tuple[tuple[MedicationFact, ...], tuple[MedicationFact, ...]]:
    """Selected drafts are judged; the other unsigned orders only inform the rules."""
    selected = set(context.get("selections") or ())
    judged = tuple([d for d in drafts if d.ref in selected])
    return judged, tuple([d for d in drafts if d.ref not in selected])
