"""SQLAlchemy 2.0 storage of device credentials (RFC 8628).

:class:`DeviceCodeMixin` adds the columns to an application's model (it adds
the primary key, and may redeclare ``user_id`` with its own foreign key);
:class:`SQLDeviceStore` implements
:class:`~authgate.core.oauth2.device.DeviceCodeStore` on it. Every state
change is one conditional ``UPDATE ... WHERE status = <expected> AND
expires_at > now`` whose row count says whether this call won, so concurrent
polls or approvals cannot both succeed, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Float,
    Integer,
    String,
    Text,
    bindparam,
    delete,
    inspect,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import (
    ColumnProperty,
    Mapped,
    Mapper,
    Session,
    mapped_column,
    sessionmaker,
)

from authgate.core.oauth2.device import (
    APPROVED,
    CONSUMED,
    DENIED,
    PENDING,
    DeviceCredential,
)
from authgate.sqla._driver import loads_plainly
from authgate.sqla.rows import RowInserter, Statement

__all__ = ["DeviceCodeMixin", "SQLDeviceStore"]


class DeviceCodeMixin:
    """Columns of a device credential; the device code itself is never stored."""

    #: SHA-256 hex of the device code.
    device_code_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    #: Normalised (``BCDFGHJK``): what people type is normalised before lookup.
    user_code: Mapped[str] = mapped_column(String(16), unique=True, index=True)
    client_id: Mapped[str] = mapped_column(String(48), index=True)
    scope: Mapped[str] = mapped_column(Text, default="")
    expires_at: Mapped[float] = mapped_column(Float)
    interval: Mapped[int] = mapped_column(Integer, default=5)
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    user_id: Mapped[str | None] = mapped_column(String(255), default=None)
    #: When the device last polled successfully (the pace itself is kept in the cache).
    last_poll: Mapped[float | None] = mapped_column(Float, default=None)

    def to_credential(self) -> DeviceCredential:
        # _CredentialReader builds the same value straight from a row: keep the two in step.
        return DeviceCredential(
            device_code_hash=self.device_code_hash, user_code=self.user_code,
            client_id=self.client_id, scope=self.scope or "", expires_at=self.expires_at,
            interval=self.interval, status=self.status, user_id=self.user_id,
        )

    def __repr__(self) -> str:
        return f"<{type(self).__name__} client_id={self.client_id!r} status={self.status!r}>"


class SQLDeviceStore:
    """Device credentials in ``model`` (a :class:`DeviceCodeMixin` model).

    ``session_factory`` makes a new session per operation (a ``sessionmaker``),
    so the store is safe to share between threads and each transition commits
    on its own. A poll is one indexed read, compiled once and read as a plain
    row, on a pooled connection of the factory's engine (through a session
    when the factory's sessions bring anything to it: several binds, their own
    ``get_bind``, transaction or statement listeners); a new credential is one
    ``INSERT`` when nothing hooks the model's inserts.
    """

    def __init__(self, session_factory: Callable[[], Session], model: type[Any]) -> None:
        self.session_factory = session_factory
        self.model = model
        self._mapper: Mapper[Any] = inspect(model)
        self._by_hash = _CredentialReader(model, "device_code_hash")
        self._by_user_code = _CredentialReader(model, "user_code")
        self._inserter = RowInserter(model)
        # Built once: an expired row frees its user code (the unique index guards live ones).
        self._free_user_code = delete(model).where(
            model.user_code == bindparam("user_code"),
            model.expires_at <= bindparam("now"),
        ).execution_options(synchronize_session=False)

    def __repr__(self) -> str:
        return f"<SQLDeviceStore {self.model.__name__}>"

    # -- new credentials --------------------------------------------------------------
    def save_device_credential(self, credential: DeviceCredential, now: float) -> bool:
        """Insert the credential; on a user-code clash, free the code if it expired, retry once.

        The expired row is deleted only when the INSERT actually clashes with it,
        so the common case is one statement and one commit. A clash with a live
        code (or a second clash after the delete) reports False, as before.
        """
        with self.session_factory() as session:
            try:
                self._insert(session, credential)
                session.commit()
                return True
            except IntegrityError:
                session.rollback()
            try:
                freed = session.execute(self._free_user_code,
                                        {"user_code": credential.user_code, "now": now})
                if _rowcount(freed) == 0:
                    session.rollback()
                    return False
                self._insert(session, credential)
                session.commit()
            except IntegrityError:
                session.rollback()
                return False
        return True

    def _insert(self, session: Session, credential: DeviceCredential) -> None:
        """One INSERT of the credential's row (:class:`~authgate.sqla.rows.RowInserter`:
        the ORM flushes it instead when something hooks the insert); the caller commits.

        The row is built by the model's constructor, so its ``__init__`` and
        validators apply as they did with ``session.add``.
        """
        self._inserter.insert(session, self.model(
            device_code_hash=credential.device_code_hash, user_code=credential.user_code,
            client_id=credential.client_id, scope=credential.scope,
            expires_at=credential.expires_at, interval=credential.interval,
            status=credential.status,
            user_id=None if credential.user_id is None else str(credential.user_id),
        ))

    # -- reads --------------------------------------------------------------------------
    def _one(self, reader: _CredentialReader, value: str) -> DeviceCredential | None:
        engine = _plain_engine(self.session_factory) if reader.plain else None
        if engine is not None:  # a read needs no unit of work: a pooled connection will do
            return reader.read_pooled(engine, value)
        with self.session_factory() as session:
            return reader.read(session, value)

    def query_device_credential(self, device_code_hash: str) -> DeviceCredential | None:
        return self._one(self._by_hash, device_code_hash)

    def query_user_code(self, user_code: str) -> DeviceCredential | None:
        return self._one(self._by_user_code, user_code)

    def _transition(self, credential: DeviceCredential, now: float, source: str,
                    **values: Any) -> bool:
        model = self.model
        statement = (
            update(model)
            .where(model.device_code_hash == credential.device_code_hash,
                   model.status == source, model.expires_at > now)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        with self.session_factory() as session:
            result = session.execute(statement)
            session.commit()
            return _rowcount(result) == 1

    def approve_device_credential(self, credential: DeviceCredential, user_id: Any,
                                  now: float) -> bool:
        return self._transition(credential, now, PENDING, status=APPROVED, user_id=str(user_id))

    def deny_device_credential(self, credential: DeviceCredential, now: float) -> bool:
        return self._transition(credential, now, PENDING, status=DENIED)

    def consume_device_credential(self, credential: DeviceCredential, now: float) -> bool:
        return self._transition(credential, now, APPROVED, status=CONSUMED, last_poll=now)


class _CredentialReader:
    """``read(session, value)``: the credential whose ``key`` column equals ``value``.

    The credential is a value object, so no ORM instance is needed on the way:
    a Core ``SELECT`` of the eight columns, built once, becomes the
    :class:`DeviceCredential` directly, as :meth:`DeviceCodeMixin.to_credential`
    would make it (about half the cost of an ORM query), by a :class:`Statement`
    on the DBAPI connection (through ``Connection.execute`` when cursor listeners
    or echo are on, through ``session.execute`` when the session has
    ``do_orm_execute`` listeners). A model whose instances the ORM must build
    (inheritance, a column that is not a plain column of its table, ``load``
    listeners, its own ``to_credential``) is read through the ORM and its
    ``to_credential``.
    """

    _FIELDS = ("device_code_hash", "user_code", "client_id", "scope", "expires_at",
               "interval", "status", "user_id")

    def __init__(self, model: type[Any], key: str) -> None:
        mapper: Mapper[Any] = inspect(model)
        self._mapper = mapper
        self._orm = select(model).where(getattr(model, key) == bindparam("value"))
        self._core: Statement | None = None
        found = [_plain_column(mapper, name) for name in (key, *self._FIELDS)]
        columns = [column for column in found if column is not None]
        if _reads_plainly(mapper, model) and len(columns) == len(found):
            where, *selected = columns
            self._core = Statement(select(*selected).where(where == bindparam("value")),
                                   "value")

    @property
    def plain(self) -> bool:
        """Whether a row is all it takes (no ORM instance to build)."""
        return self._core is not None

    def read(self, session: Session, value: str) -> DeviceCredential | None:
        if self._core is None:
            record = session.scalars(self._orm, {"value": value}).first()
            return None if record is None else record.to_credential()
        if session.dispatch.do_orm_execute:  # statement listeners see it, as they did
            row = session.execute(self._core.statement, {"value": value}).first()
            return self._credential(None if row is None else tuple(row))
        return self.read_row(session.connection(bind_arguments={"mapper": self._mapper}), value)

    def read_row(self, connection: Connection, value: str) -> DeviceCredential | None:
        assert self._core is not None
        return self._credential(self._core.first(connection, value))

    def read_pooled(self, engine: Engine, value: str) -> DeviceCredential | None:
        """The row, read on a pooled connection of its own (autocommit on PostgreSQL)."""
        assert self._core is not None
        return self._credential(self._core.read_first(engine, value))

    @staticmethod
    def _credential(row: tuple[Any, ...] | None) -> DeviceCredential | None:
        if row is None:
            return None
        code_hash, user_code, client_id, scope, expires_at, interval, status, user_id = row
        return DeviceCredential(
            device_code_hash=code_hash, user_code=user_code, client_id=client_id,
            scope=scope or "", expires_at=expires_at, interval=interval, status=status,
            user_id=user_id,
        )


def _plain_column(mapper: Mapper[Any], name: str) -> Column[Any] | None:
    """The table column behind attribute ``name``, if it is one column of the model's table."""
    prop = mapper.attrs.get(name)
    if not isinstance(prop, ColumnProperty) or len(prop.columns) != 1:
        return None
    column = prop.columns[0]
    if not isinstance(column, Column) or column.table is not mapper.local_table:
        return None
    return column


def _reads_plainly(mapper: Mapper[Any], model: type[Any]) -> bool:
    """Whether a row of the model's table says all its ``to_credential`` would."""
    return loads_plainly(mapper) and \
        getattr(model, "to_credential", None) is DeviceCodeMixin.to_credential


def _plain_engine(factory: Any) -> Engine | None:
    """The engine a plain ``sessionmaker`` binds, when a read may skip the session.

    Only for a factory whose sessions would add nothing to a read: one engine
    (no ``binds``), SQLAlchemy's own ``get_bind``, and no session listeners
    that act on a transaction or a statement (an ``after_begin`` hook that sets
    a PostgreSQL ``search_path`` or role, say). Anything else reads through a
    session, as before. The engine's own events (connect, checkout, cursor
    listeners) apply either way.
    """
    if not isinstance(factory, sessionmaker):
        return None
    bind = factory.kw.get("bind")
    cls = factory.class_
    if not isinstance(bind, Engine) or factory.kw.get("binds") or \
            cls.get_bind is not Session.get_bind:
        return None
    if any(_session_listeners(cls)):
        return None
    return bind


#: The session events whose listeners a read outside the session would bypass.
_READ_EVENTS = ("after_begin", "do_orm_execute", "after_transaction_create",
                "after_transaction_end", "after_soft_rollback")

#: Per session class, the listener collections of :data:`_READ_EVENTS` that an
#: instance of it would have (its own, its factory's and Session's).
_class_listeners: weakref.WeakKeyDictionary[type, tuple[Any, ...]] = \
    weakref.WeakKeyDictionary()


def _session_listeners(cls: type[Session]) -> tuple[Any, ...]:
    """Read off an uninitialised instance, as ``__init__`` is what costs, and kept:
    building them is about 40,000 instructions, 2 % of a device poll. Each stays
    current, as SQLAlchemy keeps one collection of a class's listeners, which later
    ``event.listen`` and ``event.remove`` calls on the class, its factory or
    ``Session`` change in place (tested)."""
    found = _class_listeners.get(cls)
    if found is None:
        events = object.__new__(cls).dispatch
        found = _class_listeners[cls] = tuple(getattr(events, name) for name in _READ_EVENTS)
    return found


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)
