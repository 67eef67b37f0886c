"""The audit log: sign-ins, authorizations, registrations, token issues, refreshes, revocations.

Every event goes two ways: a row of the ``audit_event`` table (what the home
page and an operator's queries read) and one JSON line on the
``authgate.audit`` logger (what a log shipper forwards to a SIEM). Rows are
written by one precompiled INSERT. Most events are a transaction of their own
(autocommit), so such an entry never rides on (or is rolled back with) the
request's unit of work. The exceptions are the events that record a write
(a token issued or refreshed, a code issued): their row joins the transaction
that stores the token or code (:meth:`AuditLog.joining`), so the two commit
together or not at all, with one commit instead of two. No event costs an ORM
unit of work.

Nothing secret is ever written: callers pass names, ids, scopes and grant
types, and :func:`redact` drops any detail whose name says it could be a
credential, as a second line of defence against a careless caller.

Event kinds in use: ``user.login`` / ``user.login_failed`` (pages, through
:meth:`AuditLog.sign_in`), ``authorization.granted`` / ``.denied`` /
``.refused`` (consent), ``authorization.code_issued``, ``client.registered``,
``token.issued``, ``token.refreshed``, ``token.revoked``, ``keys.rotated``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from typing import Any, cast

from sqlalchemy import Connection, Engine, Table, bindparam, insert

from authgate.server.models import AuditEvent
from authgate.sqla.rows import Statement

__all__ = ["AUDIT_LOGGER", "AuditLog", "JoiningEvent", "redact"]

log = logging.getLogger(__name__)
AUDIT_LOGGER = "authgate.audit"
audit_lines = logging.getLogger(AUDIT_LOGGER)

#: Detail names that never reach the log, whatever their value.
SECRET_NAMES = ("secret", "password", "assertion", "verifier", "credential", "cookie",
                "authorization")
SECRET_EXACT = frozenset({"token", "access_token", "refresh_token", "code", "device_code",
                          "user_code", "id_token", "initial_access_token", "jwt"})


def redact(detail: Mapping[str, Any]) -> dict[str, Any]:
    """``detail`` without anything whose name marks it as a credential."""
    return {k: v for k, v in detail.items()
            if k.lower() not in SECRET_EXACT and not any(s in k.lower() for s in SECRET_NAMES)}


_COLUMNS = ("at", "kind", "actor", "client_id", "detail")


class AuditLog:
    """Writes events; ``record`` for any kind, ``sign_in`` for the pages' sign-in form."""

    def __init__(self, engine: Engine, clock: Callable[[], float]) -> None:
        self._engine = engine
        self._clock = clock
        self._insert = Statement(insert(cast(Table, AuditEvent.__table__)).values(
            {name: bindparam(name) for name in _COLUMNS}), *_COLUMNS)

    def record(self, kind: str, *, actor: str | None = None, client_id: str | None = None,
               **detail: Any) -> None:
        """Write the event now, in a transaction of its own, and log its line.

        The INSERT runs on a pooled connection by itself (in autocommit on
        PostgreSQL: one round trip instead of three), not through a Connection
        or a session: an entry costs about a third of what it did that way.
        """
        row, log_line = self._event(kind, actor, client_id, detail)
        self._insert.execute_committed(self._engine, *row)
        log_line()

    def write(self, connection: Connection, kind: str, *, actor: str | None = None,
              client_id: str | None = None, **detail: Any) -> Callable[[], None]:
        """Insert the event's row on ``connection``, inside its transaction if it has one,
        and return what logs its line: call that once the row has committed.

        For an event that is the very write it records (a token issued), so the
        row commits with that write or not at all, in the same transaction.
        """
        row, log_line = self._event(kind, actor, client_id, detail)
        self._insert.execute(connection, *row)
        return log_line

    def joining(self, kind: str, *, actor: str | None = None, client_id: str | None = None,
                **detail: Any) -> JoiningEvent:
        """An event for another write's transaction: give its ``write`` as that write's
        ``write_with(record, connection)`` hook, and call its ``log`` once committed."""
        return JoiningEvent(self, kind, actor, client_id, detail)

    def _event(self, kind: str, actor: str | None, client_id: str | None,
               detail: Mapping[str, Any]) -> tuple[tuple[Any, ...], Callable[[], None]]:
        """The event's row (values in ``_COLUMNS`` order) and what logs its line."""
        at = self._clock()
        clean = redact(detail)

        def log_line() -> None:
            audit_lines.info(json.dumps({"at": round(at, 3), "event": kind, "actor": actor,
                                         "client_id": client_id, **clean},
                                        default=str, sort_keys=True))

        return (at, kind[:40], _cut(actor, 120), _cut(client_id, 48),
                json.dumps(clean, default=str)), log_line

    def sign_in(self, username: str, *, success: bool, remote_addr: str | None,
                method: str = "password") -> None:
        """A sign-in attempt, for the pages: never pass the password, only the outcome.

        A failed attempt names the username as typed (cut to 80 characters), so
        a guessing campaign against one account shows up in the log.
        """
        self.record("user.login" if success else "user.login_failed",
                    actor=username[:80], remote_addr=remote_addr, method=method)


class JoiningEvent:
    """An audit event written inside the transaction of the write it records (a token
    or a code issued), and logged only if that transaction wrote it."""

    __slots__ = ("_audit", "_detail", "_log_line", "actor", "client_id", "kind")

    def __init__(self, audit: AuditLog, kind: str, actor: str | None, client_id: str | None,
                 detail: dict[str, Any]) -> None:
        self._audit = audit
        self.kind, self.actor, self.client_id = kind, actor, client_id
        self._detail = detail
        self._log_line: Callable[[], None] | None = None

    def write(self, _record: Any, connection: Connection) -> None:
        self._log_line = self._audit.write(connection, self.kind, actor=self.actor,
                                           client_id=self.client_id, **self._detail)

    def log(self) -> None:
        """Log the event's line, if its row was written (call once the write committed)."""
        if self._log_line is not None:
            self._log_line()


def _cut(value: str | None, limit: int) -> str | None:
    return None if value is None else str(value)[:limit]
