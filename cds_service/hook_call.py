"""One CDS service call, HTTP-free: checked request -> FHIR facts -> findings -> cards."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from cds_service.cards.render import render_card
from cds_service.config import Settings
from cds_service.engine.evaluate import evaluate
from cds_service.engine.facts import HookInput, MedicationFact
from cds_service.errors import BadRequest, PrefetchUnavailable
from cds_service.fhir.extract import build_record, extract_drafts
from cds_service.fhir.prefetch import read_prefetch, usable_prefetch
from cds_service.fhir.resources import ResourceIndex
from cds_service.governance.modes import apply_modes
from cds_service.governance.provenance import add_provenance, resource_lookup
from cds_service.governance.stamp import knowledge_stamp
from cds_service.knowledge import Knowledge
from cds_service.protocol import check_request
from cds_service.registry import Service

# (templates, request body, prefetch as given) -> complete prefetch; raises PrefetchUnavailable
FetchMissing = Callable[[Mapping[str, str], Mapping[str, Any], Mapping[str, Any]], dict[str, Any]]


@dataclass  # not frozen: see engine/facts.py
class Outcome:
    response: dict[str, Any]
    rule_ids: tuple[str, ...]
    unreadable: tuple[str, ...] = ()  # reason codes of what could not be read (for the log)
    prefetch: tuple[str, ...] = ()  # "key:state" as the client sent each key (for the log)
    silent: tuple[str, ...] = ()  # rules that fired in silent mode: recorded, no card


def _check_patient(prefetch: Mapping[str, Any], patient_id: str) -> None:
    patient = prefetch.get("patient")
    if isinstance(patient, Mapping) and patient.get("resourceType") == "Patient":
        if patient.get("id") != patient_id:
            raise BadRequest(
                "prefetch.patient is not the patient named in context.patientId", "prefetch.patient"
            )


def call_service(
    knowledge: Knowledge,
    settings: Settings,
    service: Service,
    body: object,
    fetch_missing: FetchMissing | None = None,
    modes: Mapping[str, str] | None = None,
) -> Outcome:
    """Answer one hook request for ``service`` exactly as the HTTP endpoint does.

    ``modes`` (rule id -> active, silent or off; the caller's site) applies after evaluation:
    silent findings are reported in ``Outcome.silent`` without a card, off findings vanish.
    """
    request = check_request(body, service.hook)
    context = request["context"]
    prefetch: Mapping[str, Any] = request.get("prefetch") or {}
    states, missing, data = read_prefetch(service.prefetch, prefetch)
    if missing:
        if fetch_missing is None:
            raise PrefetchUnavailable(
                f"Prefetch is missing {', '.join(missing)} and this service is not set up to "
                "fetch from the FHIR server",
                f"prefetch.{missing[0]}",
            )
        prefetch = fetch_missing(service.prefetch, request, prefetch)
        data = usable_prefetch(service.prefetch, prefetch)  # the states of what was fetched
    patient_id = context["patientId"]
    _check_patient(data, patient_id)
    index = ResourceIndex.of(data.values())
    record, codes = build_record(knowledge, patient_id, index)
    drafts, skipped, draft_codes = extract_drafts(
        knowledge, patient_id, context.get("draftOrders"), index
    )
    judged, others = service.module.split_drafts(drafts, context)
    if skipped:
        record = replace(record, skipped=record.skipped + skipped)
    readable: list[MedicationFact] = []
    unreadable: list[MedicationFact] = []
    for draft in judged:
        (unreadable if draft.unreadable else readable).append(draft)
    hook = HookInput(
        service.hook,
        settings.clock(),
        tuple(readable),
        tuple([d for d in others if not d.unreadable]),
        tuple(unreadable),
    )
    findings = evaluate(knowledge, record, hook, freshness_days=settings.freshness_days)
    findings, silent = apply_modes(findings, modes)
    stamp = knowledge_stamp(knowledge)
    lookup = resource_lookup(index.by_type, context.get("draftOrders"))
    cards = [
        add_provenance(render_card(knowledge, f, patient_id), f, stamp, lookup) for f in findings
    ]
    return Outcome(
        {"cards": cards},
        tuple([f.rule_id for f in findings]),
        codes + draft_codes,
        # str + a StrEnum member concatenates in C; an f-string calls Enum.__format__
        tuple([key + ":" + state for key, state in states.items()]),
        tuple([f.rule_id for f in silent]),
    )
