"""Buffering off the request path: a request only appends under a lock; a daemon thread writes
the buffer every few seconds (and at exit). Used for issued-card counts and evaluation records."""

from __future__ import annotations

import atexit
import threading
from collections.abc import Callable
from typing import Any


class BackgroundWriter:
    """Subclasses say how to take the buffer (``_take``) and how to write a batch (``_write``,
    which must not raise: what it writes is analytics or audit, never worth failing a request)."""

    def __init__(self, interval: float, name: str) -> None:
        self._interval, self._name = interval, name
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        atexit.register(self.flush)

    def _buffer(self, add: Callable[[], None]) -> None:
        """Run ``add`` under the lock, and make sure the writer thread is running."""
        with self._lock:
            add()
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, daemon=True, name=self._name)
                self._thread.start()

    def _run(self) -> None:
        stop = threading.Event()
        while not stop.wait(self._interval):
            if not self.flush():
                return  # idle: the next request starts a new thread

    def flush(self) -> bool:
        """Write what is buffered; False when there was nothing to write."""
        with self._lock:
            batch = self._take()
        if not batch:
            return False
        self._write(batch)
        return True

    def _take(self) -> Any:
        raise NotImplementedError

    def _write(self, batch: Any) -> None:
        raise NotImplementedError
