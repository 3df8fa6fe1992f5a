"""Counts of issued cards per rule, written to the feedback store off the request path."""

from __future__ import annotations

import atexit
import logging
import threading
from collections import Counter
from collections.abc import Iterable

from cds_service.feedback import FeedbackStore

log = logging.getLogger("cds_service.issued")


class IssuedCounter:
    """Buffers rule ids in memory and flushes them to the store every ``interval`` seconds."""

    def __init__(self, store: FeedbackStore, interval: float = 5.0) -> None:
        self._store, self._interval = store, interval
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        atexit.register(self.flush)

    def __call__(self, rule_ids: Iterable[str]) -> None:
        with self._lock:
            self._counts.update(rule_ids)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, daemon=True, name="issued")
                self._thread.start()

    def _run(self) -> None:
        stop = threading.Event()
        while not stop.wait(self._interval):
            if not self.flush():
                return

    def flush(self) -> bool:
        """Write what is buffered; False when there was nothing to write."""
        with self._lock:
            counts, self._counts = self._counts, Counter()
        if not counts:
            return False
        try:
            self._store.record_issued(counts)
        except Exception as exc:  # counts are analytics, never worth failing a request for
            log.warning("could not record issued-card counts: %s", type(exc).__name__)
        return True
