"""Evaluation records as FHIR R4 AuditEvents in one Bundle (validated with fhir.resources R4B).

Each AuditEvent: the calling site as the requesting agent, the service as the source, and as
entities the knowledge version (with its content hash), the patient (as the site's keyed hash,
or ``Patient/<id>`` for sites that opted in) and each rule that fired with its mode.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine

from cds_service.governance.tables import evaluation_rules, evaluations

NS = "https://rls-cds.org/fhir"  # identifier systems of this service
ENTITY_TYPE = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
OBJECT_ROLE = "http://terminology.hl7.org/CodeSystem/object-role"


def _when(moment: datetime) -> str:
    return moment.replace(tzinfo=UTC).isoformat().replace("+00:00", "Z")


def _entity(kind: str, code: str, what: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"what": what, "type": {"system": ENTITY_TYPE, "code": code}, "name": kind, **extra}


def audit_event(row: Any, fired: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """One evaluation record as an AuditEvent (plain JSON)."""
    patient_what = (
        {"reference": row.patient_ref} if row.patient_ref
        else {"identifier": {"system": f"{NS}/patient-hmac", "value": row.patient_hmac}}
    )
    entities = [
        _entity("knowledge", "2", {"identifier": {"system": f"{NS}/knowledge-version",
                                                  "value": row.knowledge_version}},
                detail=[{"type": "sha256", "valueString": row.knowledge_sha256}]),
        _entity("patient", "1", patient_what,
                role={"system": OBJECT_ROLE, "code": "1", "display": "Patient"}),
    ]
    if row.config_sha256:
        entities.append(_entity("site-config", "2", {"identifier": {
            "system": f"{NS}/site-config-sha256", "value": row.config_sha256}}))
    entities += [
        _entity("rule", "2", {"identifier": {"system": f"{NS}/rule", "value": rule}},
                detail=[{"type": "mode", "valueString": mode}])
        for rule, mode in fired
    ]
    return {
        "resourceType": "AuditEvent",
        "id": row.id,
        "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-event-type",
                 "code": "rest", "display": "RESTful Operation"},
        "subtype": [{"system": f"{NS}/cds-hook", "code": row.hook}],
        "action": "E",
        "recorded": _when(row.at),
        "outcome": "0",
        "outcomeDesc": f"{row.cards} card(s) returned, {len(fired)} rule(s) fired",
        "agent": [{"who": {"identifier": {"system": f"{NS}/site", "value": row.site}},
                   "requestor": True}],
        "source": {"site": row.service_id, "observer": {"display": "rls-cds"}},
        "entity": entities,
    }


def audit_bundle(
    engine: Engine, since: datetime | None = None, until: datetime | None = None,
    site: str | None = None,
) -> dict[str, Any]:
    """Every evaluation in [since, until) (of ``site``, if given) as a collection Bundle."""
    ev, er = evaluations.c, evaluation_rules.c
    where = []
    if since is not None:
        where.append(ev.at >= since.astimezone(UTC).replace(tzinfo=None))
    if until is not None:
        where.append(ev.at < until.astimezone(UTC).replace(tzinfo=None))
    if site is not None:
        where.append(ev.site == site)
    with engine.connect() as conn:
        rows = conn.execute(select(evaluations).where(*where).order_by(ev.at, ev.id)).all()
        fired: dict[str, list[tuple[str, str]]] = defaultdict(list)
        ids = [r.id for r in rows]
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            for r in conn.execute(select(er.evaluation_id, er.rule_id, er.mode)
                                  .where(er.evaluation_id.in_(chunk)).order_by(er.id)):
                fired[r.evaluation_id].append((r.rule_id, r.mode))
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": _when(datetime.now(UTC).replace(tzinfo=None)),
        "entry": [{"fullUrl": f"urn:uuid:{r.id}", "resource": audit_event(r, fired[r.id])}
                  for r in rows],
    }


def validate_bundle(bundle: dict[str, Any]) -> None:
    """Raise ``pydantic.ValidationError`` unless ``bundle`` is a valid R4 Bundle of AuditEvents."""
    from fhir.resources.R4B.bundle import Bundle

    Bundle.model_validate(bundle)
