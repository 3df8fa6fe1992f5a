"""rls-order-sign: judge every drafted order before it is signed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cds_service.engine.facts import MedicationFact

SERVICE_ID = "rls-order-sign"
HOOK = "order-sign"


def split_drafts(
    drafts: tuple[MedicationFact, ...], context: Mapping[str, Any]
) -> tuple[tuple[MedicationFact, ...], tuple[MedicationFact, ...]]:
    """Every unsigned order is judged."""
    return drafts, ()
