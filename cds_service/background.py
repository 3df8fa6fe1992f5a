"""Buffering off the request path: a request only appends under a lock; a daemon thread writes
the buffer every few seconds (and at exit). Used for issued-card counts and evaluation records."""

from __future__ import annotations

import atexit
import os
import threading
from typing import Any


class BackgroundWriter:
    """Subclasses say how to add an item to the buffer (``_add``), how to take the buffer
    (``_take``) and how to write a batch (``_write``, which must not raise: what it writes is
    analytics or audit, never worth failing a request)."""

    def __init__(self, interval: float, name: str) -> None:
        self._interval, self._name = interval, name
        self._lock = threading.Lock()
        # The running writer, or None: the writer clears it under the lock when it stops, so a
        # request checks one attribute instead of asking the thread whether it is alive.
        self._thread: threading.Thread | None = None
        atexit.register(self.flush)
        os.register_at_fork(after_in_child=self._forget_thread)  # the thread stays behind

    def _forget_thread(self) -> None:
        self._thread = None

    def _buffer(self, item: Any) -> None:
        """Add ``item`` under the lock, and make sure the writer thread is running."""
        with self._lock:
            self._add(item)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, daemon=True, name=self._name)
                self._thread.start()

    def _run(self) -> None:
        stop = threading.Event()
        try:
            while True:
                stop.wait(self._interval)
                with self._lock:
                    batch = self._take()
                    if not batch:  # idle: the next request starts a new thread
                        self._thread = None
                        return
                self._write(batch)
        except BaseException:
            with self._lock:
                self._thread = None
            raise

    def flush(self) -> bool:
        """Write what is buffered; False when there was nothing to write."""
        with self._lock:
            batch = self._take()
        if not batch:
            return False
        self._write(batch)
        return True

    def _add(self, item: Any) -> None:
        raise NotImplementedError

    def _take(self) -> Any:
        raise NotImplementedError

    def _write(self, batch: Any) -> None:
        raise NotImplementedError
