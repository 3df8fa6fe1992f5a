"""``jti`` replay caches: remember each token id until the token expires."""

from __future__ import annotations

import heapq
import math
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol


class ReplayCache(Protocol):
    """Anything with ``check_and_store``; returns True when ``key`` was not seen before."""

    def check_and_store(self, key: str, expires_at: float) -> bool: ...


class MemoryReplayCache:
    """In-process replay cache (one process only; use ``RedisReplayCache`` for replicas)."""

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._expiry: dict[str, float] = {}
        self._heap: list[tuple[float, str]] = []

    def check_and_store(self, key: str, expires_at: float) -> bool:
        """Store ``key`` until ``expires_at`` (epoch seconds); False if already present."""
        with self._lock:
            now = self._clock()
            self._purge(now)
            if key in self._expiry:
                return False
            self._expiry[key] = expires_at
            heapq.heappush(self._heap, (expires_at, key))
            return True

    def _purge(self, now: float) -> None:
        while self._heap and self._heap[0][0] <= now:
            expires_at, key = heapq.heappop(self._heap)
            if self._expiry.get(key) == expires_at:
                del self._expiry[key]

    def __len__(self) -> int:
        with self._lock:
            self._purge(self._clock())
            return len(self._expiry)


class RedisReplayCache:
    """Replay cache shared by several replicas: ``SET key 1 NX EXAT expires_at``.

    ``redis`` is a URL (``redis://host:6379/0``) or a ready ``redis.Redis`` client.
    Redis errors propagate (the authenticator turns them into ``AuthUnavailable``).
    """

    def __init__(
        self, redis: str | Any, *, prefix: str = "cds-hooks:jti:", socket_timeout: float = 1.0
    ) -> None:
        if isinstance(redis, str):
            import redis as redis_lib  # optional dependency

            self._client = redis_lib.Redis.from_url(
                redis, socket_timeout=socket_timeout, socket_connect_timeout=socket_timeout
            )
        else:
            self._client = redis
        self._prefix = prefix

    def check_and_store(self, key: str, expires_at: float) -> bool:
        """Atomically store ``key`` until ``expires_at``; False if it already exists."""
        # EXAT takes whole seconds and must be in the future for the key to persist.
        exat = max(math.ceil(expires_at), int(time.time()) + 1)
        return bool(self._client.set(self._prefix + key, b"1", nx=True, exat=exat))
