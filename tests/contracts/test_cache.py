"""The cache contract, run against the memory backend and a real Redis."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from authgate.cache import Cache, MemoryCache


@pytest.fixture(params=["memory", "redis"])
def cache(request: pytest.FixtureRequest, clock) -> Iterator[Cache]:
    if request.param == "memory":
        yield MemoryCache(clock=clock)
        return
    from authgate.cache import RedisCache

    url = request.getfixturevalue("redis_url")
    prefix = request.getfixturevalue("redis_prefix")
    backend = RedisCache.from_url(url, prefix=prefix)
    yield backend
    backend.clear()


def test_is_a_cache(cache: Cache) -> None:
    assert isinstance(cache, Cache)


def test_set_get_delete_round_trip_json_values(cache: Cache) -> None:
    assert cache.get("k") is None
    cache.set("k", {"a": [1, "two"]})
    assert cache.get("k") == {"a": [1, "two"]}
    cache.delete("k")
    assert cache.get("k") is None
    cache.delete("k")  # deleting what is gone is not an error


def test_add_stores_only_once(cache: Cache) -> None:
    assert cache.add("nonce", 1, expires=60) is True
    assert cache.add("nonce", 2, expires=60) is False
    assert cache.get("nonce") == 1


def test_pop_is_single_use(cache: Cache) -> None:
    cache.set("cred", "value")
    assert cache.pop("cred") == "value"
    assert cache.pop("cred") is None


def test_incr_counts_from_amount(cache: Cache) -> None:
    assert cache.incr("n", expires=60) == 1
    assert cache.incr("n", 5) == 6


def test_add_is_atomic_under_threads(cache: Cache) -> None:
    wins: list[bool] = []
    barrier = threading.Barrier(20)

    def attempt() -> None:
        barrier.wait()
        wins.append(cache.add("race", "x", expires=60))

    threads = [threading.Thread(target=attempt) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wins.count(True) == 1


def test_memory_cache_expiry_follows_the_clock(clock) -> None:
    cache = MemoryCache(clock=clock)
    cache.set("short", "v", expires=10)
    cache.incr("counter", expires=10)
    clock.advance(9)
    assert cache.get("short") == "v"
    clock.advance(1)
    assert cache.get("short") is None
    assert cache.add("short", "again", expires=10) is True
    assert cache.incr("counter") == 1


def test_memory_cache_sweeps_expired_entries_nobody_reads_again(clock) -> None:
    cache = MemoryCache(clock=clock)
    for i in range(50):
        cache.set(f"poll:{i}", i, expires=10)
    cache.set("kept", "v")  # no expiry
    cache.set("later", "v", expires=3600)
    clock.advance(MemoryCache.SWEEP_INTERVAL - 1)
    cache.set("trigger", 1, expires=10)
    assert len(cache._data) == 53  # expired, but no sweep is due yet
    clock.advance(1)
    cache.set("trigger", 2, expires=10)  # a sweep is due: the expired ones go
    assert sorted(cache._data) == ["kept", "later", "trigger"]
    assert cache.get("kept") == "v" and cache.get("later") == "v" and cache.get("trigger") == 2


def test_redis_expiry_is_set(redis_url: str, redis_prefix: str) -> None:
    import redis

    from authgate.cache import RedisCache

    client = redis.Redis.from_url(redis_url)
    cache = RedisCache(client, prefix=redis_prefix)
    cache.set("a", 1, expires=30)
    cache.incr("b", expires=30)
    cache.incr("b", expires=999)  # expiry is set only when the counter is created
    assert 0 < client.ttl(redis_prefix + "a") <= 30
    assert 0 < client.ttl(redis_prefix + "b") <= 30
    cache.clear()
