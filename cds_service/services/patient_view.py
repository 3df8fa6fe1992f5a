"""rls-patient-view: review the chart when it opens; there are no orders to judge."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cds_service.engine.facts import MedicationFact

SERVICE_ID = "rls-patient-view"
HOOK = "patient-view"


def split_drafts(
    drafts: tuple[MedicationFact, ...], context: Mapping[str, Any]
) -> tuple[tuple[MedicationFact, ...], tuple[MedicationFact, ...]]:
    """patient-view carries no draft orders."""
    return (), drafts
