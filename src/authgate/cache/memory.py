"""An in-process cache: the default for a single server process and for tests."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

__all__ = ["MemoryCache"]


class MemoryCache:
    """A thread-safe dict with expiry.

    Values are stored JSON-encoded, as in Redis, so code that works against this
    cache works against :class:`~authgate.cache.redis.RedisCache` unchanged.
    ``clock`` is injectable so tests can move time forward.
    """

    #: Expired entries nobody reads again (a device's poll pace, a spent nonce) are
    #: dropped by a sweep at most this often, so memory follows what is live
    #: rather than growing to ``max_entries`` first.
    SWEEP_INTERVAL = 60.0

    def __init__(self, clock: Callable[[], float] = time.monotonic, max_entries: int = 100_000):
        self._data: dict[str, tuple[str, float | None]] = {}
        self._lock = threading.Lock()
        self._clock = clock
        self._max_entries = max_entries
        self._next_sweep = clock() + self.SWEEP_INTERVAL

    def _live(self, key: str, now: float) -> str | None:
        item = self._data.get(key)
        if item is None:
            return None
        value, deadline = item
        if deadline is not None and deadline <= now:
            del self._data[key]
            return None
        return value

    def _deadline(self, expires: int | None, now: float) -> float | None:
        return None if expires is None else now + expires

    def _store(self, key: str, raw: str, deadline: float | None, now: float) -> None:
        if len(self._data) >= self._max_entries and key not in self._data:
            self._evict(now)
        elif now >= self._next_sweep:
            self._sweep(now)
        self._data[key] = (raw, deadline)

    def _sweep(self, now: float) -> None:
        expired = [k for k, (_, d) in self._data.items() if d is not None and d <= now]
        for key in expired:
            del self._data[key]
        self._next_sweep = now + self.SWEEP_INTERVAL

    def _evict(self, now: float) -> None:
        self._sweep(now)
        if len(self._data) >= self._max_entries:
            # Still full: drop the oldest tenth (dicts keep insertion order).
            for key in list(self._data)[: max(1, self._max_entries // 10)]:
                del self._data[key]

    def get(self, key: str) -> Any:
        with self._lock:
            raw = self._live(key, self._clock())
        return None if raw is None else json.loads(raw)

    def set(self, key: str, value: Any, expires: int | None = None) -> None:
        raw = json.dumps(value)
        with self._lock:
            now = self._clock()
            self._store(key, raw, self._deadline(expires, now), now)

    def delete(self, key: str) -> None:
        with self._lock:
            self._data.pop(key, None)

    def add(self, key: str, value: Any, expires: int | None = None) -> bool:
        raw = json.dumps(value)
        with self._lock:
            now = self._clock()
            if self._live(key, now) is not None:
                return False
            self._store(key, raw, self._deadline(expires, now), now)
            return True

    def pop(self, key: str) -> Any:
        with self._lock:
            raw = self._live(key, self._clock())
            if raw is not None:
                del self._data[key]
        return None if raw is None else json.loads(raw)

    def incr(self, key: str, amount: int = 1, expires: int | None = None) -> int:
        with self._lock:
            now = self._clock()
            raw = self._live(key, now)
            if raw is None:
                value, deadline = amount, self._deadline(expires, now)
            else:
                value, deadline = int(json.loads(raw)) + amount, self._data[key][1]
            self._store(key, json.dumps(value), deadline, now)
            return value

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
