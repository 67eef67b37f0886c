"""Alembic's head is exactly the models: upgrade fresh databases and diff them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from authgate.server import migrate
from authgate.server.database import Base, build_engine
from tests.support.postgres import fresh_postgres as new_postgres


def _diff(engine: sa.Engine) -> list:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))


@pytest.fixture
def fresh_postgres(postgres_url: str) -> Iterator[str]:
    """A database of its own: the run's shared one may hold other suites' tables."""
    with new_postgres(postgres_url, "authgate_server") as url:
        yield url


def _check(url: str) -> None:
    engine = build_engine(url)
    try:
        assert migrate.current_revision(engine) is None
        migrate.upgrade(engine)
        assert migrate.current_revision(engine) == migrate.head_revision(engine) == "0001"
        assert _diff(engine) == []
        migrate.upgrade(engine)  # a second upgrade is a no-op
        assert _diff(engine) == []
    finally:
        engine.dispose()


def test_sqlite_upgrade_matches_the_models(tmp_path: Path) -> None:
    _check(f"sqlite:///{tmp_path / 'fresh.sqlite'}")


@pytest.mark.postgres
def test_postgresql_upgrade_matches_the_models(fresh_postgres: str) -> None:
    _check(fresh_postgres)


def test_sqlite_runs_in_wal_mode(tmp_path: Path) -> None:
    engine = build_engine(f"sqlite:///{tmp_path / 'wal.sqlite'}")
    with engine.connect() as connection:
        assert connection.execute(sa.text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(sa.text("PRAGMA busy_timeout")).scalar() == 10_000
    engine.dispose()


@pytest.mark.postgres
def test_the_server_runs_on_postgresql(make_server, fresh_postgres: str) -> None:
    server = make_server(AUTHGATE_DATABASE_URL=fresh_postgres.replace("+psycopg", ""))
    assert server.state.db.backend == "postgresql"
    server.user()
    from tests.server.test_oauth2_flows import _tokens

    info = server.client()
    web = server.app.test_client()
    server.login(web)
    tokens = _tokens(server, web, info)
    me = web.get("/api/me", headers={"Authorization": "Bearer " + tokens["access_token"]})
    assert me.get_json()["username"] == "alice"
    assert server.app.test_client().get("/health/ready").status_code == 200
