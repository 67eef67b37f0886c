"""The engine and the per-request session, in plain SQLAlchemy 2.0.

One ``scoped_session`` per app, removed at app-context teardown, so each
request (thread) gets its own Session and never sees another's half-done
work. SQLite runs in WAL mode with a busy timeout, which lets readers and a
writer proceed together and makes concurrent writers wait instead of failing;
PostgreSQL goes through psycopg with a connect timeout, so a database that is
down answers 503 quickly rather than hanging a worker.

Every pool checks a connection before handing it out (``pool_pre_ping``): after
a database restart the pooled connections are dead, and without the ping each
would fail one request before being replaced. With it the server recovers by
itself, as soon as the database is back (``tests/server/test_faults.py``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.orm import DeclarativeBase, Session, scoped_session, sessionmaker

__all__ = ["Base", "Database"]

SQLITE_BUSY_TIMEOUT_MS = 10_000
CONNECT_TIMEOUT_S = 5


class Base(DeclarativeBase):
    """The declarative base of every server model (one metadata for Alembic)."""


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def build_engine(url: str) -> Engine:
    """An engine for ``url``; ``postgresql://`` URLs are routed to psycopg 3."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    kwargs: dict[str, Any] = {"pool_pre_ping": True}
    if parsed.get_backend_name() == "sqlite":
        kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000,
                                  "check_same_thread": False}
    elif parsed.get_backend_name() == "postgresql":
        kwargs["connect_args"] = {"connect_timeout": CONNECT_TIMEOUT_S}
    engine = create_engine(parsed, **kwargs)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


class Database:
    """The engine, a session factory for stand-alone units of work, and the scoped session."""

    def __init__(self, url: str) -> None:
        self.engine = build_engine(url)
        self.session_factory = sessionmaker(self.engine, expire_on_commit=False)
        self.session: scoped_session[Session] = scoped_session(self.session_factory)

    @property
    def backend(self) -> str:
        return self.engine.dialect.name

    def remove(self, _exc: BaseException | None = None) -> None:
        """Roll back and close this thread's Session (app-context teardown)."""
        self.session.remove()

    def dispose(self) -> None:
        self.session.remove()
        self.engine.dispose()

    def __repr__(self) -> str:
        return f"<Database {self.engine.url.render_as_string(hide_password=True)}>"
