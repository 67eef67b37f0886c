"""The cache helpers over MemoryCache, a real Redis, and a plain get/set/delete cache."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from authgate.cache import MemoryCache
from authgate.cache.oauth1 import (
    create_exists_nonce_func,
    register_temporary_credential_hooks,
)
from tests.oauth1.harness import FakeUser, RecordingRegistry


class PlainCache:
    """Only the three methods the seed documentation asks of a cache."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}

    def get(self, key: str) -> Any:
        return self.data.get(key)

    def set(self, key: str, value: Any, expires: int | None = None) -> None:
        self.data[key] = value

    def delete(self, key: str) -> None:
        self.data.pop(key, None)


@pytest.fixture(params=["memory", "redis", "plain"])
def cache(request: pytest.FixtureRequest, clock) -> Iterator[Any]:
    if request.param == "memory":
        yield MemoryCache(clock=clock)
    elif request.param == "plain":
        yield PlainCache()
    else:
        from authgate.cache import RedisCache

        backend = RedisCache.from_url(request.getfixturevalue("redis_url"),
                                      prefix=request.getfixturevalue("redis_prefix"))
        yield backend
        backend.clear()


def test_exists_nonce_records_and_scopes(cache) -> None:
    exists = create_exists_nonce_func(cache)
    assert exists("n", "100", "c", None) is False
    assert exists("n", "100", "c", None) is True
    assert exists("n", "101", "c", None) is False
    assert exists("n", "100", "c", "tok") is False
    assert exists("n", "100", "other", None) is False
    # Separators cannot be used to forge a collision.
    assert exists("x", "1", "a:b", "") is False
    assert exists("x", "1", "a", "b:") is False


def test_temporary_credential_life_cycle(cache) -> None:
    registry = RecordingRegistry()
    register_temporary_credential_hooks(registry, cache)
    hooks = registry.hooks
    hooks["create_temporary_credential"](
        {"oauth_token": "t1", "oauth_token_secret": "s1"}, "client", "oob")
    credential = hooks["get_temporary_credential"]("t1")
    assert credential.get_oauth_token_secret() == "s1"
    assert credential.get_client_id() == "client" and credential.get_redirect_uri() == "oob"
    assert "s1" not in repr(credential)
    assert not credential.check_verifier("")

    assert hooks["create_authorization_verifier"](credential, FakeUser(3), "v1") is True
    assert hooks["create_authorization_verifier"](credential, FakeUser(4), "v2") is False
    authorized = hooks["get_temporary_credential"]("t1")
    assert authorized.check_verifier("v1") and not authorized.check_verifier("v2")
    assert authorized.get_user_id() == 3

    assert hooks["delete_temporary_credential"]("t1") is True
    assert hooks["delete_temporary_credential"]("t1") is False
    assert hooks["get_temporary_credential"]("t1") is None


def test_secret_and_verifier_are_not_stored_in_clear(cache) -> None:
    registry = RecordingRegistry()
    register_temporary_credential_hooks(registry, cache, key_prefix="p:")
    registry.hooks["create_temporary_credential"](
        {"oauth_token": "t2", "oauth_token_secret": "very-secret"}, "client", "oob")
    credential = registry.hooks["get_temporary_credential"]("t2")
    registry.hooks["create_authorization_verifier"](credential, FakeUser(1), "the-verifier")
    stored = repr([cache.get("p:t2"), cache.get("p:t2:verifier")])
    assert "very-secret" not in stored and "the-verifier" not in stored


def test_single_use_is_atomic_under_concurrency(clock) -> None:
    backend = MemoryCache(clock=clock)
    registry = RecordingRegistry()
    register_temporary_credential_hooks(registry, backend)
    registry.hooks["create_temporary_credential"](
        {"oauth_token": "race", "oauth_token_secret": "s"}, "client", "oob")
    wins: list[bool] = []
    barrier = threading.Barrier(8)

    def consume() -> None:
        barrier.wait()
        wins.append(registry.hooks["delete_temporary_credential"]("race"))

    threads = [threading.Thread(target=consume) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(wins) == [False] * 7 + [True]
