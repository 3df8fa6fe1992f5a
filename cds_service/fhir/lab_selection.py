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
from cds_service.fhir.labs import analyte_of, effective_time, lab_fact_at
from cds_service.fhir.resources import is_about_patient, label
from cds_service.knowledge import Knowledge

PANEL = frozenset({"iron", "tibc", "uibc"})
SINGLE = frozenset({"ferritin", "tsat", "hemoglobin"})
NEVER = datetime.min.replace(tzinfo=UTC)  # sorts a result without a date last
NOT_COUNTED = ("entered-in-error", "cancelled")  # statuses of results that never happened
_first = itemgetter(0)
_second = itemgetter(1)
_fromisoformat = datetime.fromisoformat


def _panel_complete(usable: list[LabFact], day: object) -> bool:
    found = {f.analyte for f in usable if f.analyte in PANEL and f.effective.date() == day}
    return "iron" in found and bool(found & {"tibc", "uibc"})


def _codes_to_analytes(knowledge: Knowledge) -> dict[object, dict[object, str]]:
    """analyte_by_coding as code -> {system URI -> analyte}: the code, which tells analytes
    apart, is looked up first and most Observations stop there (built once per knowledge
    object through ``Knowledge.derived``)."""
    by_code: dict[object, dict[object, str]] = {}
    for (system, code), analyte in knowledge.analyte_by_coding.items():
        by_code.setdefault(code, {})[system] = analyte
    return by_code


def select_labs(
    knowledge: Knowledge,
    observations: Iterable[Mapping[str, Any]],
    patient_id: str,
    is_valid: Callable[[Mapping[str, Any]], bool],
) -> tuple[tuple[LabFact, ...], tuple[UnusableLab, ...], tuple[tuple[str, str], ...]]:
    """The usable results of ``patient_id`` that can matter, the unusable ones newer than them,
    and the (analyte, status) of this patient's results whose status does not count."""
    statuses = knowledge.usable_lab_statuses
    by_code = knowledge.derived(_codes_to_analytes)
    candidates = []  # (sort key, analyte, resource); whose they are is checked on the visit
    uncounted: dict[tuple[str, str], None] = {}
    for resource in observations:  # runs per Observation: nothing but lookups before the sort
        # The shape nearly every result has (its first coding names the analyte, status read,
        # an effectiveDateTime in UTC) settled with bare subscripts; anything else (a missing
        # key, a lone object, another coding first, another date form, an uncounted status)
        # raises or falls through to the general reading below, which decides that
        # Observation from scratch. fromisoformat reads every UTC form to the datetime
        # parse_fhir_datetime gives (tests/test_lab_selection_speed_equivalence.py).
        try:
            coding = resource["code"]["coding"][0]
            analyte = by_code[coding["code"]][coding["system"]]
            if resource["status"] in statuses:
                when = _fromisoformat(resource["effectiveDateTime"])
                if when.tzinfo is UTC:
                    candidates.append((when, analyte, resource))
                    continue
        except (KeyError, TypeError, ValueError, IndexError):
            pass
        general = analyte_of(knowledge, resource)
        if general is None:
            continue
        status = resource.get("status")
        if isinstance(status, str) and status not in statuses:
            if status not in NOT_COUNTED and is_about_patient(resource, patient_id):
                uncounted[(general, status)] = None  # preliminary...: never cited, only named
            continue
        candidates.append((effective_time(resource) or NEVER, general, resource))
    candidates.sort(key=_first, reverse=True)
    usable: list[LabFact] = []
    unusable: list[UnusableLab] = []
    done: set[str] = set()
    panel_day = None
    wanted = None  # the single analytes among the candidates, and whether any panel one is
    for key, analyte, resource in candidates:
        if analyte in PANEL:
            if panel_day is not None:
                if SINGLE <= done:
                    break
                continue
        elif analyte in done:
            continue
        if not is_about_patient(resource, patient_id):
            continue
        when = None if key is NEVER else key  # NEVER itself, not a real 0001-01-01T00:00:00Z
        fact = lab_fact_at(knowledge, resource, analyte, label(resource), when)
        if isinstance(fact, UnusableLab):
            unusable.append(fact)
        elif is_valid(resource):
            usable.append(fact)
            done.add(analyte)
            if analyte in PANEL and _panel_complete(usable, key.date()):
                panel_day = key.date()
            if wanted is None:  # once, in C: the rest of a long history is then not walked
                present = set(map(_second, candidates))
                wanted = (present & SINGLE, not present.isdisjoint(PANEL))
            # Every candidate left would be skipped: its single analyte is settled, or its
            # panel day found (or no panel result exists at all).
            if done >= wanted[0] and (panel_day is not None or not wanted[1]):
                break
    return tuple(usable), tuple(unusable), tuple(uncounted)

