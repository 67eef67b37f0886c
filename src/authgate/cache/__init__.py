"""Caches for short-lived shared state: nonces, temporary credentials, polling state, rate limits.

A cache offers the three methods the seed documentation asks of one (``get``,
``set(key, value, expires=None)``, ``delete``) and three atomic operations the
protocols need so that several server processes can share it safely:
``add`` (set only if absent: nonce replay), ``pop`` (get and delete: single-use
credentials) and ``incr`` (counters for rate limits and polling intervals).
Values are JSON-serialisable; both backends store them the same way.
"""

from typing import TYPE_CHECKING

from authgate.cache.base import Cache
from authgate.cache.memory import MemoryCache

if TYPE_CHECKING:
    from authgate.cache.redis import RedisCache

__all__ = ["Cache", "MemoryCache", "RedisCache"]


def __getattr__(name: str) -> object:
    # RedisCache needs the optional ``redis`` package: import it on first use.
    if name == "RedisCache":
        from authgate.cache.redis import RedisCache

        return RedisCache
    raise AttributeError(name)
