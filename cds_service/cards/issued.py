"""Counts of issued cards per rule, written to the feedback store off the request path."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable

from cds_service.background import BackgroundWriter
from cds_service.feedback import FeedbackStore

log = logging.getLogger("cds_service.issued")


class IssuedCounter(BackgroundWriter):
    """Buffers rule ids in memory and flushes them to the store every ``interval`` seconds."""

    def __init__(self, store: FeedbackStore, interval: float = 5.0) -> None:
        super().__init__(interval, "issued")
        self._store = store
        self._counts: Counter[str] = Counter()

    def __call__(self, rule_ids: Iterable[str]) -> None:
        self._buffer(rule_ids)

    def _add(self, rule_ids: Iterable[str]) -> None:
        counts = self._counts
        for rule_id in rule_ids:
            counts[rule_id] = counts.get(rule_id, 0) + 1

    def _take(self) -> Counter[str]:
        counts, self._counts = self._counts, Counter()
        return counts

    def _write(self, batch: Counter[str]) -> None:
        try:
            self._store.record_issued(batch)
        except Exception as exc:  # counts are analytics, never worth failing a request for
            log.warning("could not record issued-card counts: %s", type(exc).__name__)
