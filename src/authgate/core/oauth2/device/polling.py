"""Shared counters of the device flow: polling pace (RFC 8628 §3.5) and wrong entries (§5.1).

Both live in a :class:`~.credential.DeviceCache` so that every server process
sees the same state: a device told to ``slow_down`` by one process is held to
the longer interval by all of them. Times come from the flow's injected clock
and are stored as values; the cache's own expiry only cleans up.
"""

from __future__ import annotations

from collections.abc import Iterable

from authgate.core.oauth2.device.credential import DeviceCache, DeviceCredential
from authgate.core.oauth2.errors import RateLimitedError, SlowDownError

__all__ = ["SLOW_DOWN_STEP", "AttemptLimiter", "PollingPace"]

#: §3.5: on ``slow_down`` the interval grows by five seconds, for good.
SLOW_DOWN_STEP = 5


class PollingPace:
    """Remembers when a device last polled and how much it was slowed down."""

    def __init__(self, cache: DeviceCache, prefix: str = "device:") -> None:
        self.cache = cache
        self.prefix = prefix

    def _keys(self, credential: DeviceCredential) -> tuple[str, str]:
        digest = credential.device_code_hash
        return f"{self.prefix}last-poll:{digest}", f"{self.prefix}slow-down:{digest}"

    def interval(self, credential: DeviceCredential) -> int:
        """The interval the device must keep now: the issued one plus every slow-down."""
        _, slow_key = self._keys(credential)
        return credential.interval + int(self.cache.get(slow_key) or 0)

    def check(self, credential: DeviceCredential, now: float) -> None:
        """Record this poll; raise :class:`SlowDownError` if it came too soon after the last."""
        last_key, slow_key = self._keys(credential)
        ttl = max(1, int(credential.expires_at - now) + 60)
        interval = self.interval(credential)
        last = self.cache.get(last_key)
        self.cache.set(last_key, now, expires=ttl)
        if last is not None and now - float(last) < interval:
            self.cache.incr(slow_key, SLOW_DOWN_STEP, expires=ttl)
            raise SlowDownError()


class AttemptLimiter:
    """Counts wrong user-code entries per subject (client address, session) in fixed windows.

    Once a subject reaches ``limit`` misses in a window, every entry from it
    is refused with 429 and ``Retry-After`` until the window ends, right or
    wrong, so guessing is bounded to ``limit`` tries per window and subject.
    """

    def __init__(self, cache: DeviceCache, *, limit: int = 10, window: int = 900,
                 prefix: str = "device:misses:") -> None:
        if limit < 1 or window < 1:
            raise ValueError("limit and window must be positive")
        self.cache = cache
        self.limit = limit
        self.window = window
        self.prefix = prefix

    def _key(self, subject: str, now: float) -> str:
        return f"{self.prefix}{int(now // self.window)}:{subject}"

    def retry_after(self, now: float) -> int:
        return max(1, int(self.window - now % self.window))

    def check(self, subjects: Iterable[str], now: float) -> None:
        for subject in subjects:
            if int(self.cache.get(self._key(subject, now)) or 0) >= self.limit:
                raise RateLimitedError(retry_after=self.retry_after(now))

    def record_miss(self, subjects: Iterable[str], now: float) -> None:
        for subject in subjects:
            self.cache.incr(self._key(subject, now), 1, expires=self.window + 60)
