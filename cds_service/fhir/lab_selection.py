"""Pick the lab results the rules can use from a patient's (possibly huge) history.

Per analyte only the newest valid result can matter, and for a computed TSAT only the newest day
with a valid serum iron and a valid TIBC or UIBC. So results are sorted by date on a cheap key,
and only those visited newest-first until each analyte is settled are parsed and validated: a
10,000-result history costs a handful of validations, not 10,000.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any

from cds_service.engine.facts import LabFact, UnusableLab
from cds_service.fhir.labs import analyte_of, effective_time, lab_fact
from cds_service.fhir.resources import label
from cds_service.knowledge import Knowledge

PANEL = frozenset({"iron", "tibc", "uibc"})
SINGLE = frozenset({"ferritin", "tsat", "hemoglobin"})
NEVER = datetime.min.replace(tzinfo=UTC)


def _panel_complete(usable: list[LabFact], day: object) -> bool:
    found = {f.analyte for f in usable if f.analyte in PANEL and f.effective.date() == day}
    return "iron" in found and bool(found & {"tibc", "uibc"})


def select_labs(
    knowledge: Knowledge,
    observations: Iterable[Mapping[str, Any]],
    is_mine: Callable[[Mapping[str, Any]], bool],
    is_valid: Callable[[Mapping[str, Any]], bool],
) -> tuple[tuple[LabFact, ...], tuple[UnusableLab, ...], tuple[tuple[str, str], ...]]:
    """The usable results that can matter, the unusable ones newer than them, and the
    (analyte, status) of this patient's results whose status does not count."""
    statuses = knowledge.usable_lab_statuses
    candidates = []
    uncounted: dict[tuple[str, str], None] = {}
    for resource in observations:  # runs per Observation: only cheap checks before the sort
        analyte = analyte_of(knowledge, resource)
        if analyte is None:
            continue
        status = resource.get("status")
        if isinstance(status, str) and status not in statuses:
            if status not in ("entered-in-error", "cancelled") and is_mine(resource):
                uncounted[(analyte, status)] = None  # preliminary...: never cited, only named
            continue
        if is_mine(resource):
            candidates.append((effective_time(resource) or NEVER, analyte, resource))
    candidates.sort(key=itemgetter(0), reverse=True)
    usable: list[LabFact] = []
    unusable: list[UnusableLab] = []
    done: set[str] = set()
    panel_day = None
    for when, analyte, resource in candidates:
        if analyte in PANEL:
            if panel_day is not None:
                if SINGLE <= done:
                    break
                continue
        elif analyte in done:
            continue
        fact = lab_fact(knowledge, resource, analyte, label(resource))
        if isinstance(fact, UnusableLab):
            unusable.append(fact)
        elif is_valid(resource):
            usable.append(fact)
            done.add(analyte)
            if analyte in PANEL and _panel_complete(usable, when.date()):
                panel_day = when.date()
    return tuple(usable), tuple(unusable), tuple(uncounted)
