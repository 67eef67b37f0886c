"""Shared fixtures: real PostgreSQL and Redis, a frozen clock, free loopback ports.

PostgreSQL and Redis tests read ``AUTHGATE_TEST_DATABASE_URL`` and
``AUTHGATE_TEST_REDIS_URL``. Outside CI a missing service skips them; under
``CI=true`` they must run, so a missing service fails instead. Every test run
gets its own PostgreSQL database and its own Redis key prefix.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Iterator

import pytest

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
RUN_ID = uuid.uuid4().hex[:10]


def _unavailable(what: str, why: object) -> None:
    if IN_CI:
        pytest.fail(f"{what} is required under CI=true but unavailable: {why}")
    pytest.skip(f"{what} unavailable: {why}")


class FrozenClock:
    """An injectable clock: ``clock()`` returns the current time, ``advance`` moves it."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    @classmethod
    def at_hour_start(cls) -> FrozenClock:
        """Frozen one second into the current hour, the start of every rate-limit window.

        The limiters' counters expire after the window's remaining seconds by the
        cache's own, real clock: frozen near a window's end they would expire in
        a second or two, while the test still runs (seen once under load).
        """
        return cls(time.time() // 3600 * 3600 + 1)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL database created for this test run (and xdist worker), dropped after."""
    base = os.environ.get("AUTHGATE_TEST_DATABASE_URL")
    if not base:
        _unavailable("PostgreSQL", "AUTHGATE_TEST_DATABASE_URL is not set")
    try:
        import sqlalchemy as sa
    except ImportError as exc:  # pragma: no cover
        _unavailable("PostgreSQL", exc)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"authgate_test_{RUN_ID}_{worker}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        admin.dispose()
        _unavailable("PostgreSQL", exc)
    url = sa.engine.make_url(base).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def redis_url() -> str:
    url = os.environ.get("AUTHGATE_TEST_REDIS_URL")
    if not url:
        _unavailable("Redis", "AUTHGATE_TEST_REDIS_URL is not set")
    try:
        import redis

        redis.Redis.from_url(url).ping()
    except Exception as exc:
        _unavailable("Redis", exc)
    return url


@pytest.fixture
def redis_prefix(request: pytest.FixtureRequest) -> str:
    """A key prefix unique to this run and test, so runs cannot collide."""
    return f"authgate-test:{RUN_ID}:{uuid.uuid4().hex[:8]}:"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
