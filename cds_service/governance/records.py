"""Evaluation records: one row per service call (cards or none), buffered in memory and written
to the feedback database off the request path, with rows past the retention period removed."""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cds_service.background import BackgroundWriter
from cds_service.database import Database, insert_statement

log = logging.getLogger("cds_service.governance")
PURGE_EVERY_S = 3600.0


def patient_hmac(key: bytes, patient_id: str) -> str:
    """HMAC-SHA256 of the patient id under the site's key: links a patient's evaluations
    within a site without storing the id (and cannot be reversed by hashing guessed ids)."""
    return hmac.new(key, patient_id.encode("utf-8"), hashlib.sha256).hexdigest()


_BLOCK = 64  # SHA-256's block size
_IPAD = bytes(b ^ 0x36 for b in range(256))
_OPAD = bytes(b ^ 0x5C for b in range(256))


class PatientHmac:
    """:func:`patient_hmac` under one key, with the key's two padded blocks hashed once at
    start-up (RFC 2104, as the hmac module computes it), so a call hashes only its own two
    blocks: half the instructions of ``hmac.new`` per call, the same digest."""

    def __init__(self, key: bytes) -> None:
        if len(key) > _BLOCK:
            key = hashlib.sha256(key).digest()
        key = key.ljust(_BLOCK, b"\0")
        self._inner = hashlib.sha256(key.translate(_IPAD))
        self._outer = hashlib.sha256(key.translate(_OPAD))

    def __call__(self, patient_id: str) -> str:
        inner = self._inner.copy()
        inner.update(patient_id.encode("utf-8"))
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()


@dataclass(frozen=True)
class Evaluation:
    """What one call concluded; the patient only as a keyed hash (and a reference on opt-in)."""

    site: str
    hook: str
    service_id: str
    knowledge_version: str
    knowledge_sha256: str
    config_sha256: str
    patient_hmac: str
    active: tuple[str, ...]
    silent: tuple[str, ...]
    patient_ref: str | None = None
    at: datetime | None = None
    id: str = ""

    def rows(self, database: Database) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """The row of ``evaluations`` and those of ``evaluation_rules``, as ``database``
        stores them."""
        at = database.timestamp((self.at or datetime.now(UTC)).astimezone(UTC).replace(tzinfo=None))
        ident = self.id or str(uuid.uuid4())
        row = {
            "id": ident, "at": at, "site": self.site, "hook": self.hook,
            "service_id": self.service_id, "knowledge_version": self.knowledge_version,
            "knowledge_sha256": self.knowledge_sha256, "config_sha256": self.config_sha256,
            "patient_hmac": self.patient_hmac, "patient_ref": self.patient_ref,
            "cards": len(self.active),
        }
        fired = [(r, "active") for r in self.active] + [(r, "silent") for r in self.silent]
        rules = [
            {"evaluation_id": ident, "at": at, "site": self.site, "rule_id": r, "mode": m}
            for r, m in fired
        ]
        return row, rules


_INSERT_EVALUATIONS = insert_statement(
    "evaluations", "id at site hook service_id knowledge_version knowledge_sha256 "
    "config_sha256 patient_hmac patient_ref cards")
_INSERT_RULES = insert_statement("evaluation_rules", "evaluation_id at site rule_id mode")


def write_evaluations(database: Database, batch: list[Evaluation]) -> None:
    """Insert evaluations and their fired rules in one transaction."""
    rows, rules = [], []
    for evaluation in batch:
        row, fired = evaluation.rows(database)
        rows.append(row)
        rules += fired
    with database.transaction(write=True) as tx:
        tx.executemany(_INSERT_EVALUATIONS, rows)
        if rules:
            tx.executemany(_INSERT_RULES, rules)


def purge_evaluations(database: Database, retention_days: int, now: datetime | None = None) -> int:
    """Delete evaluations older than the retention period; the number deleted."""
    cutoff = (now or datetime.now(UTC)).astimezone(UTC).replace(tzinfo=None)
    bound = {"cutoff": database.timestamp(cutoff - timedelta(days=retention_days))}
    with database.transaction(write=True) as tx:
        tx.execute("DELETE FROM evaluation_rules WHERE at < :cutoff", bound)
        return tx.execute("DELETE FROM evaluations WHERE at < :cutoff", bound).rowcount


def _evaluation(fields: tuple[Any, ...]) -> Evaluation:
    """The Evaluation of :meth:`EvaluationRecorder.record`'s fields."""
    *head, at = fields
    return Evaluation(*head, at=datetime.fromtimestamp(at, UTC))


class EvaluationRecorder(BackgroundWriter):
    """Buffers evaluations and writes them every ``interval`` seconds from a daemon thread
    (the request only appends to a list), like the issued-card counter; purges old rows hourly."""

    def __init__(
        self, database: Database, retention_days: int | None = None, interval: float = 2.0
    ) -> None:
        super().__init__(interval, "evaluations")
        self._database, self._retention = database, retention_days
        self._pending: list[Evaluation | tuple[Any, ...]] = []
        self._purged_at = 0.0

    def __call__(self, evaluation: Evaluation) -> None:
        self._buffer(evaluation)

    def record(self, *fields: Any) -> None:
        """Buffer an evaluation given as its fields, in Evaluation's order, ``at`` as a POSIX
        timestamp: the Evaluation is built by the writer, off the request path."""
        self._buffer(fields)

    def _add(self, item: Evaluation | tuple[Any, ...]) -> None:
        self._pending.append(item)

    def _take(self) -> list[Evaluation | tuple[Any, ...]]:
        batch, self._pending = self._pending, []
        return batch

    def _write(self, pending: list[Evaluation | tuple[Any, ...]]) -> None:
        batch = [item if isinstance(item, Evaluation) else _evaluation(item) for item in pending]
        try:
            write_evaluations(self._database, batch)
            if self._retention and time.monotonic() - self._purged_at > PURGE_EVERY_S:
                self._purged_at = time.monotonic()
                purge_evaluations(self._database, self._retention)
        except Exception as exc:  # records are analytics and audit: logged, never fail a call
            log.warning("could not write %d evaluation record(s): %s", len(batch),
                        type(exc).__name__)
