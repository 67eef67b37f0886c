from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import insert

from tests.sqla_oauth2.support import (
    OwnBase,
    Owned,
    Owner,
    SQLBackend,
    empty_tables,
    postgres_engine,
    sqlite_engine,
)


@pytest.fixture(scope="session")
def pg_engine(postgres_url: str) -> Iterator[Any]:
    engine = postgres_engine(postgres_url)
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest, tmp_path) -> Iterator[Any]:
    """A SQLite file of this test, or the run's PostgreSQL emptied for it."""
    if request.param == "sqlite":
        engine = sqlite_engine(tmp_path / "oauth2.db")
        yield engine
        engine.dispose()
        return
    engine = request.getfixturevalue("pg_engine")
    empty_tables(engine)
    yield engine


@pytest.fixture
def sql(engine, clock) -> Iterator[SQLBackend]:
    backend = SQLBackend(engine.dialect.name, engine, clock)
    yield backend
    backend.close()


@pytest.fixture
def owned(tmp_path) -> Iterator[Any]:
    """A SQLite file with two owned rows: one with its owner, one with none."""
    engine = sqlite_engine(tmp_path / "owned.db")
    OwnBase.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(insert(Owner.__table__), [{"id": 1, "name": "alice"}])
        conn.execute(insert(Owned.__table__), [
            {"id": 1, "label": "a", "owner_id": 1, "keeper_id": 1},
            {"id": 2, "label": "b", "owner_id": None, "keeper_id": None}])
    yield engine
    engine.dispose()
