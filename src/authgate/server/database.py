"""The engine and the per-request session, in plain SQLAlchemy 2.0.

One ``scoped_session`` per app, removed at app-context teardown, so each
request (thread) gets its own Session and never sees another's half-done
work. SQLite runs in WAL mode with a busy timeout, which lets readers and a
writer proceed together and makes concurrent writers wait instead of failing;
PostgreSQL goes through psycopg with a connect timeout, so a database that is
down answers 503 quickly rather than hanging a worker.

Every PostgreSQL connection is checked before the pool hands it out: after a
database restart the pooled connections are dead, and unchecked each would
fail one request before being replaced. The check is local, not a round trip
(``pool_pre_ping`` would send ``SELECT 1`` on every checkout, two or three
times a request): an idle connection whose socket has become readable has been
closed by the server or the network, since PostgreSQL never speaks unasked
except to say goodbye; such a connection is replaced before use. The server
thus recovers by itself as soon as the database is back
(``tests/server/test_faults.py``). A SQLite file has no connection to lose.
"""

from __future__ import annotations

import select
from typing import Any

from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.exc import DisconnectionError
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
    backend = parsed.get_backend_name()
    # A backend the local check below does not know gets the round trip instead.
    kwargs: dict[str, Any] = {"pool_pre_ping": backend not in ("sqlite", "postgresql")}
    if backend == "sqlite":
        kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000,
                                  "check_same_thread": False}
    elif backend == "postgresql":
        kwargs["connect_args"] = {"connect_timeout": CONNECT_TIMEOUT_S}
    engine = create_engine(parsed, **kwargs)
    if backend == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    elif backend == "postgresql":
        event.listen(engine, "checkout", _refuse_closed)
    return engine


def _refuse_closed(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """Hand out no connection the server has closed (the pool then takes another).

    An idle connection has nothing to read unless the server has sent its last
    words (``terminating connection``) or the socket was shut: either way it
    is gone. ``select`` with a zero timeout asks the kernel, not the server.
    """
    if dbapi_connection.closed or getattr(dbapi_connection, "broken", False):
        raise DisconnectionError("connection closed")
    try:
        readable, _, _ = select.select([dbapi_connection.fileno()], [], [], 0)
    except (OSError, ValueError) as error:
        raise DisconnectionError(f"connection unusable: {error}") from error
    if readable:
        raise DisconnectionError("the server closed the connection while it was idle")


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
