"""The device store behind the same flow: memory, SQLite file and PostgreSQL; the pace in Redis."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker

from authgate.cache import MemoryCache, RedisCache
from authgate.core.oauth2.device import APPROVED, CONSUMED, DeviceFlow, MemoryDeviceStore
from authgate.sqla.device import DeviceCodeMixin, SQLDeviceStore

from .conftest import Harness, make_harness


class Base(DeclarativeBase):
    pass


class DeviceCode(Base, DeviceCodeMixin):
    __tablename__ = "device_code"
    id: Mapped[int] = mapped_column(primary_key=True)


def _sql_store(url: str) -> Iterator[SQLDeviceStore]:
    engine = sa.create_engine(url)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    try:
        yield SQLDeviceStore(sessionmaker(engine, expire_on_commit=False), DeviceCode)
    finally:
        Base.metadata.drop_all(engine)
        engine.dispose()


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def device_store(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[Any]:
    if request.param == "memory":
        yield MemoryDeviceStore()
    elif request.param == "sqlite":
        yield from _sql_store(f"sqlite:///{tmp_path / 'devices.db'}")
    else:
        yield from _sql_store(request.getfixturevalue("postgres_url"))


@pytest.fixture
def stored(clock: Any, device_store: Any) -> Harness:
    return make_harness(clock, devices=device_store)


def _concurrently(count: int, call: Callable[[], Any]) -> list[Any]:
    barrier = threading.Barrier(count)

    def run() -> Any:
        barrier.wait()
        return call()

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(lambda _: run(), range(count)))


def test_flow_over_store(stored: Harness, clock: Any) -> None:
    data = stored.start()
    assert stored.poll(data["device_code"]).json()["error"] == "authorization_pending"
    stored.flow.approve(data["user_code"].lower().replace("-", " "), stored.alice)
    clock.advance(5)
    token = stored.poll(data["device_code"])
    assert token.status == 200, token.text
    assert stored.store.query_token(token.json()["access_token"]).user_id == stored.alice.id
    clock.advance(5)
    assert stored.poll(data["device_code"]).json()["error"] == "invalid_grant"
    assert stored.flow.find(data["device_code"]).status == CONSUMED


def test_ten_concurrent_polls_get_one_token(stored: Harness) -> None:
    data = stored.start()
    stored.flow.approve(data["user_code"], stored.alice)
    responses = _concurrently(10, lambda: stored.poll(data["device_code"]))
    assert [r.status for r in responses].count(200) == 1
    assert len(stored.store.tokens) == 1
    errors = {r.json()["error"] for r in responses if r.status != 200}
    assert errors <= {"invalid_grant", "slow_down"}


def test_ten_concurrent_consumes_one_wins(stored: Harness) -> None:
    # Past the polling pace: the store's conditional update alone decides.
    data = stored.start()
    credential = stored.flow.approve(data["user_code"], stored.alice)
    outcomes = _concurrently(10, lambda: stored.flow.consume(credential))
    assert outcomes.count(True) == 1


def test_concurrent_approvals_one_user_wins(stored: Harness) -> None:
    data = stored.start()
    credential = stored.flow.find(data["device_code"])
    users = [stored.alice, stored.bob] * 5
    outcomes = _concurrently(10, lambda: stored.devices.approve_device_credential(
        credential, users[threading.get_ident() % 2].id, stored.flow.clock()))
    assert outcomes.count(True) == 1
    assert stored.flow.find(data["device_code"]).status == APPROVED


def test_expired_user_code_is_reusable(stored: Harness, clock: Any) -> None:
    data = stored.start()
    old = stored.flow.find(data["device_code"])
    clock.advance(601)
    fresh = old.with_(device_code_hash="f" * 64, expires_at=clock() + 600)
    assert stored.devices.save_device_credential(fresh, clock())
    live = fresh.with_(device_code_hash="e" * 64)
    assert not stored.devices.save_device_credential(live, clock())


@pytest.fixture(params=["memory", "redis"])
def shared_cache(request: pytest.FixtureRequest) -> Callable[[], Any]:
    """A factory of cache handles that all see the same state, like two server processes."""
    if request.param == "memory":
        cache = MemoryCache()
        return lambda: cache
    url = request.getfixturevalue("redis_url")
    prefix = request.getfixturevalue("redis_prefix")
    handles: list[Any] = []

    def make() -> Any:
        handle = RedisCache.from_url(url, prefix=prefix)
        handles.append(handle)
        return handle

    request.addfinalizer(lambda: [h.clear() for h in handles[:1]])
    return make


def test_slow_down_is_shared_between_processes(clock: Any, shared_cache: Callable[[], Any]
                                               ) -> None:
    devices = MemoryDeviceStore()
    first = make_harness(clock, devices=devices, cache=shared_cache())
    second_flow = DeviceFlow(devices, shared_cache(), query_client=first.store.query_client,
                             get_user=first.store.get_user, clock=clock)
    data = first.start()
    code = data["device_code"]
    assert first.poll(code).json()["error"] == "authorization_pending"
    clock.advance(1)
    assert first.poll(code).json()["error"] == "slow_down"
    # The other process holds the device to the grown interval ...
    assert second_flow.current_interval(code) == 10
    credential = devices.query_device_credential(first.flow.find(code).device_code_hash)
    clock.advance(6)
    with pytest.raises(Exception) as caught:
        second_flow.check_poll(first.client, code)
    assert getattr(caught.value, "error", None) == "slow_down"
    assert first.flow.current_interval(code) == 15
    clock.advance(15)
    with pytest.raises(Exception) as caught:
        second_flow.check_poll(first.client, code)
    assert getattr(caught.value, "error", None) == "authorization_pending"
    assert credential is not None
