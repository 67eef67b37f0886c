"""Counting failed sign-ins, in the server's cache, so every worker and instance shares them.

Fixed windows keyed by the window's number: one ``incr`` per failure, the
count expires with its window, and ``Retry-After`` is the exact time left.
With Redis configured (``AUTHGATE_REDIS_URL``) the counters are shared by
every process; with the in-memory cache, by the threads of one process.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

__all__ = ["Limit", "RateLimiter"]


@dataclass(frozen=True)
class Limit:
    """At most ``attempts`` counted events per ``window`` seconds for one key."""

    name: str
    attempts: int
    window: int


class RateLimiter:
    """``retry_after`` says whether a key is over its limit; ``hit`` counts one event."""

    def __init__(self, cache: Any, clock: Any) -> None:
        self.cache = cache
        self.clock = clock

    def _key(self, limit: Limit, subject: str) -> tuple[str, int]:
        now = self.clock()
        window = int(now // limit.window)
        # Hashed: usernames and addresses are not kept in clear in a shared Redis.
        digest = hashlib.sha256(subject.encode("utf-8", "replace")).hexdigest()[:32]
        left = max(1, int(limit.window - now % limit.window) + 1)
        return f"ratelimit:{limit.name}:{window}:{digest}", left

    def retry_after(self, limit: Limit, subject: str) -> int | None:
        """Seconds until ``subject`` may try again, or None while under the limit."""
        key, left = self._key(limit, subject)
        count = self.cache.get(key)
        if isinstance(count, int) and count >= limit.attempts:
            return left
        return None

    def hit(self, limit: Limit, subject: str) -> None:
        key, left = self._key(limit, subject)
        self.cache.incr(key, 1, expires=left)
