"""``jti`` replay caches: remember each token id until the token expires."""

from __future__ import annotations

import heapq
import math
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from cds_service.database import Database


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


# The table comes with the service database's migrations (cds_service/feedback/migrations, 0002).
_CLAIM = (
    'INSERT INTO used_jti ("key", expires_at) VALUES (:key, :expires_at) '
    'ON CONFLICT ("key") DO UPDATE SET expires_at = excluded.expires_at '
    'WHERE used_jti.expires_at <= :now RETURNING "key"'
)
_PURGE = "DELETE FROM used_jti WHERE expires_at <= :now"


class SqlReplayCache:
    """Replay cache in the service's SQL database (SQLite by default, or PostgreSQL): shared by
    every worker of the host (and every replica on PostgreSQL), and it survives a restart.

    One statement decides, atomically: insert the key, or take over a row whose token has
    expired; a live row wins and nothing is returned. Expired rows are purged at most once a
    ``purge_every`` seconds per process. Database errors propagate (the authenticator turns
    them into ``AuthUnavailable``, answered 503).
    """

    def __init__(
        self, database: Database, *, clock: Callable[[], float] = time.time,
        purge_every: float = 60,
    ) -> None:
        self._database = database
        self._clock = clock
        self._purge_every = purge_every
        self._purged_at = float("-inf")

    def check_and_store(self, key: str, expires_at: float) -> bool:
        """Store ``key`` until ``expires_at`` (epoch seconds); False if a live one exists."""
        now = self._clock()
        with self._database.transaction(write=True) as tx:
            claimed = tx.execute(_CLAIM, {"key": key, "expires_at": expires_at, "now": now})
            first_use = claimed.fetchone() is not None
            if now - self._purged_at >= self._purge_every:
                self._purged_at = now
                tx.execute(_PURGE, {"now": now})
        return first_use


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
