"""A Redis cache, so several server processes or hosts share one state."""

from __future__ import annotations

import json
from typing import Any

import redis as redis_lib

__all__ = ["RedisCache"]


class RedisCache:
    """A :class:`~authgate.cache.Cache` on Redis, every key under ``prefix``.

    Each operation is a single Redis command (``SET NX``, ``GETDEL``, ``INCRBY``
    with ``EXPIRE NX`` in one pipeline transaction), so it is atomic across
    processes.
    """

    def __init__(self, client: redis_lib.Redis, prefix: str = "authgate:") -> None:
        self._redis = client
        self._prefix = prefix

    @classmethod
    def from_url(cls, url: str, prefix: str = "authgate:", **kwargs: Any) -> RedisCache:
        return cls(redis_lib.Redis.from_url(url, **kwargs), prefix=prefix)

    def _key(self, key: str) -> str:
        return self._prefix + key

    def get(self, key: str) -> Any:
        raw = self._redis.get(self._key(key))
        return None if raw is None else json.loads(raw)

    def set(self, key: str, value: Any, expires: int | None = None) -> None:
        self._redis.set(self._key(key), json.dumps(value), ex=expires)

    def delete(self, key: str) -> None:
        self._redis.delete(self._key(key))

    def add(self, key: str, value: Any, expires: int | None = None) -> bool:
        return bool(self._redis.set(self._key(key), json.dumps(value), ex=expires, nx=True))

    def pop(self, key: str) -> Any:
        raw = self._redis.getdel(self._key(key))
        return None if raw is None else json.loads(raw)

    def incr(self, key: str, amount: int = 1, expires: int | None = None) -> int:
        name = self._key(key)
        pipe = self._redis.pipeline(transaction=True)
        pipe.incrby(name, amount)
        if expires is not None:
            pipe.expire(name, expires, nx=True)
        value = pipe.execute()[0]
        return int(value)

    def ping(self) -> bool:
        return bool(self._redis.ping())

    def clear(self) -> None:
        """Delete every key under this cache's prefix (tests, resets)."""
        cursor = 0
        while True:
            cursor, keys = self._redis.scan(cursor, match=self._prefix + "*", count=500)
            if keys:
                self._redis.delete(*keys)
            if cursor == 0:
                break
