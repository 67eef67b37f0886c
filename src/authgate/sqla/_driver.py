"""Statements at the driver level: compiled once per dialect, run on a DBAPI cursor.

The machinery under :mod:`authgate.sqla.rows`: a statement's SQL and its bind
and result processors, looked up once per dialect; running it on the DBAPI
connection behind a SQLAlchemy :class:`~sqlalchemy.engine.Connection`, with
driver errors wrapped (and a dropped connection invalidated) as
``Connection.execute`` would do it; and the checks that say when nothing
listening to SQLAlchemy would be bypassed by doing so.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from sqlalchemy import Column, Connection, Engine
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Mapper, Session, scoped_session
from sqlalchemy.pool import Pool, SingletonThreadPool, StaticPool
from sqlalchemy.pool.base import reset_rollback

Processor = Callable[[Any], Any] | None


class Compiled:
    """The driver-level form of one statement for one dialect."""

    __slots__ = ("binds", "columns", "converters", "dialect", "fixed", "keeps_cursor",
                 "names", "needs_core", "positional", "slots", "sql", "wants_lastrowid")

    def __init__(self, statement: Any, names: Sequence[str], columns: Sequence[Any],
                 dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        self.sql: str = compiled.string
        self.names = tuple(names)
        self.positional: tuple[str, ...] | None = (
            tuple(compiled.positiontup) if compiled.positiontup is not None else None)
        binds = {}
        fixed = {}  # literals the statement carries (``col = 0``, a LIMIT), bound as given
        for name, bind in compiled.binds.items():
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if name not in names:
                fixed[name] = processor(bind.value) if processor is not None else bind.value
            elif processor is not None:
                binds[name] = processor
        self.binds: dict[str, Callable[[Any], Any]] = binds
        self.fixed: dict[str, Any] = fixed
        #: Python-side column defaults (or onupdate values) SQLAlchemy computes per
        #: execution: only ``Connection.execute`` gives them their values.
        #: So do IN lists and literal-rendered values (their SQL is finished per call).
        self.needs_core = bool(compiled.insert_prefetch or compiled.update_prefetch) or any(
            bind.expanding or bind.literal_execute for bind in compiled.binds.values())
        self.dialect = dialect
        self.columns = tuple(columns)
        #: Only an INSERT that returns nothing can need the driver's ``lastrowid``
        #: (psycopg's cursors have none: asking costs an AttributeError).
        self.wants_lastrowid = bool(compiled.isinsert) and not self.columns
        #: psycopg builds a cursor in Python (about 40,000 instructions, a third of
        #: what a prepared statement costs the client in all); one kept per
        #: connection serves every statement run on it. sqlite3's cursors are cheap,
        #: and closing one resets its statement, which a pending SELECT's read lock
        #: needs: they are made and closed per statement.
        self.keeps_cursor = dialect.driver == "psycopg"
        #: For a positional driver: each placeholder's argument index (or -1 for a
        #: literal), its bind processor and its literal, so a call fills the tuple
        #: directly.
        index = {name: i for i, name in enumerate(self.names)}
        self.slots: tuple[tuple[int, Processor, Any], ...] | None = None
        if self.positional is not None:
            self.slots = tuple((index.get(name, -1), binds.get(name), fixed.get(name))
                               for name in self.positional)
        #: Set on the first row: the (position, converter) of each column that has
        #: one. Some drivers' converters depend on the type the database reports
        #: (psycopg's numerics), as they do for SQLAlchemy's results.
        self.converters: tuple[tuple[int, Callable[[Any], Any]], ...] | None = None

    def process(self, row: Sequence[Any], cursor: Any) -> tuple[Any, ...]:
        """``row`` with each column's result converter applied; the cursor's
        ``description`` is read only the first time, to find the converters (psycopg
        builds it in Python, a column object each, on every read)."""
        converters = self.converters
        if converters is None:
            if len(row) != len(self.columns):
                raise ValueError(f"expected {len(self.columns)} columns, got {len(row)}")
            found = []
            for i, (column, item) in enumerate(zip(self.columns, cursor.description,
                                                   strict=True)):
                processor = column.type.dialect_impl(self.dialect).result_processor(
                    self.dialect, item[1])
                if processor is not None:
                    found.append((i, processor))
            converters = self.converters = tuple(found)
        if not converters:
            return tuple(row)
        values = list(row)
        for i, processor in converters:
            value = values[i]
            if value is not None:
                values[i] = processor(value)
        return tuple(values)

    def parameters(self, values: Sequence[Any]) -> Any:
        if len(values) != len(self.names):
            raise ValueError(f"expected {len(self.names)} values, got {len(values)}")
        slots = self.slots
        if slots is not None:
            return tuple([  # a list first: cheaper than feeding tuple() a generator
                literal if i < 0 else (values[i] if processor is None else processor(values[i]))
                for i, processor, literal in slots])
        named = dict(self.fixed)
        for name, value in zip(self.names, values, strict=True):
            processor = self.binds.get(name)
            named[name] = processor(value) if processor is not None else value
        return named


def compiled_for(cache: dict[int, Compiled], bind: Connection | Engine | Pooled,
                 statement: Any, names: Sequence[str], columns: Sequence[Any]) -> Compiled:
    """``statement`` compiled for the bind's dialect, once per dialect in ``cache``."""
    compiled = cache.get(id(bind.dialect))
    if compiled is None:
        compiled = cache[id(bind.dialect)] = Compiled(statement, names, columns, bind.dialect)
    return compiled


def session_of(session: Any) -> Session:
    """The :class:`Session` itself, for a ``scoped_session`` (Flask-SQLAlchemy's ``db.session``)."""
    return session.registry() if isinstance(session, scoped_session) else session  # type: ignore[no-any-return]


def loads_plainly(mapper: Mapper[Any]) -> bool:
    """Whether a row of ``mapper``'s table is all the ORM needs to build an instance."""
    if mapper.inherits is not None or mapper.polymorphic_on is not None or \
            len(mapper.tables) != 1:
        return False
    dispatch = mapper.class_manager.dispatch
    if dispatch.load or dispatch.refresh:
        return False
    table = mapper.local_table
    for prop in mapper.column_attrs:
        if prop.deferred or len(prop.columns) != 1:
            return False
        column = prop.columns[0]
        if not isinstance(column, Column) or column.table is not table:
            return False
    return True


def bypassable(connection: Connection) -> bool:
    """Whether nothing listens to this connection's statements (cursor and dialect
    execution events, echo)."""
    if connection._echo:
        return False
    if not (connection._has_events or connection.engine._has_events
            or connection.dialect._has_events):
        return True  # never listened to: SQLAlchemy's own flags, set by event.listen
    return not (connection.dispatch.before_cursor_execute
                or connection.dispatch.after_cursor_execute
                or _dialect_listened(connection.dialect))


#: The dialect events a statement run on the DBAPI cursor itself would not fire.
_DIALECT_EVENTS = ("do_execute", "do_execute_no_params", "do_setinputsizes", "handle_error")


def _dialect_listened(dialect: Dialect) -> bool:
    dispatch = dialect.dispatch
    return any(getattr(dispatch, name) for name in _DIALECT_EVENTS)


class Outcome(NamedTuple):
    row: tuple[Any, ...] | None  # the first row, processed
    lastrowid: int | None
    rowcount: int


def run(connection: Connection | Pooled, compiled: Compiled, values: Sequence[Any]) -> Outcome:
    """Run ``compiled`` on the connection's DBAPI connection.

    Driver errors become SQLAlchemy's, and a dropped connection is invalidated,
    as ``Connection.execute`` would do.
    """
    params = compiled.parameters(values)
    proxied = connection.connection
    keep = compiled.keeps_cursor
    cursor = kept_cursor(proxied) if keep else proxied.cursor()
    try:
        cursor.execute(compiled.sql, params)
        # Rows only when the statement asks for columns: an INSERT may come back with
        # the key the dialect returns implicitly, which nobody asked for here.
        row = cursor.fetchone() if compiled.columns else None
        if row is not None:
            row = compiled.process(row, cursor)
        lastrowid = getattr(cursor, "lastrowid", None) if compiled.wants_lastrowid else None
        rowcount = cursor.rowcount
    except connection.dialect.loaded_dbapi.Error as error:
        raise _wrapped(connection, error, compiled.sql, params, cursor) from error
    finally:
        if not keep:
            cursor.close()
    return Outcome(row, lastrowid, rowcount)


KEPT_CURSOR = "authgate.kept_cursor"  # the key in the pool record's info


def kept_cursor(proxied: Any) -> Any:
    """The cursor kept for statements on this pooled DBAPI connection (see
    :attr:`Compiled.keeps_cursor`).

    It lives in the pool record's ``info``, which the pool clears when it replaces
    the connection; it is tied to the DBAPI connection it was made on all the same,
    so a connection swapped under the record never gets another's cursor.
    """
    info = proxied.info
    dbapi_connection = proxied.dbapi_connection
    kept = info.get(KEPT_CURSOR)
    if kept is None or kept[0] is not dbapi_connection:
        kept = info[KEPT_CURSOR] = (dbapi_connection, dbapi_connection.cursor())
    return kept[1]


def _wrapped(connection: Any, error: Exception, sql: str | None, params: Any,
             cursor: Any = None) -> Exception:
    """``error`` as SQLAlchemy raises it, the connection invalidated if it was dropped."""
    dialect = connection.dialect
    invalidated = dialect.is_disconnect(error, connection.connection, cursor)
    if invalidated:
        connection.invalidate(error)
    return DBAPIError.instance(sql, params, error, dialect.loaded_dbapi.Error,
                               connection_invalidated=invalidated, dialect=dialect)


# -- statements on the engine's own connections ------------------------------------------
def engine_bypassable(engine: Engine) -> bool:
    """Whether a statement may run on one of ``engine``'s pooled DBAPI connections with
    no :class:`~sqlalchemy.engine.Connection` around it: echo is off and nothing
    listens to the events a ``Connection`` would fire (pool events still fire)."""
    if engine._echo:
        return False
    if not (engine._has_events or engine.dialect._has_events):
        return True  # never listened to: SQLAlchemy's own flags, set by event.listen
    events = engine.dispatch
    return not (events.engine_connect or events.before_execute
                or events.after_execute or events.before_cursor_execute
                or events.after_cursor_execute or events.begin or events.commit
                or events.rollback or _dialect_listened(engine.dialect))


#: Pools that lend every caller the same connection (an in-memory SQLite database).
SHARED_POOLS = (StaticPool, SingletonThreadPool)


def require_own_connections(engine: Engine) -> Engine:
    """``engine``, if its pool lends each caller a connection of its own.

    A pool that shares one connection (``StaticPool``, ``SingletonThreadPool``: an
    in-memory SQLite database) would hand the application session's connection out
    again; committing or resetting it there would commit or roll back the session's
    own work. Such an engine is refused rather than used behind the session's back.
    """
    if isinstance(engine.pool, SHARED_POOLS):
        raise ValueError(f"{type(engine.pool).__name__} shares one connection; work outside "
                         "the session needs a pool that lends connections of their own "
                         "(an in-memory SQLite database: give the hooks the session)")
    return engine


class Pooled:
    """One DBAPI connection checked out of an engine's pool for one statement, in a
    transaction of its own; shaped as :func:`run` wants a connection (``dialect``,
    ``connection``, ``invalidate``).

    ``with Pooled(engine, write=...) as connection``: a write is committed when the
    block ends without an error; otherwise the pool's reset-on-return rolls back
    whatever the block left. On PostgreSQL the statement runs in autocommit: one
    statement is atomic by itself, and this way costs one round trip instead of
    three (BEGIN, the statement, then COMMIT or the pool's ROLLBACK). SQLite has no
    round trips to save, and its dialect sets an isolation level with a statement.

    With psycopg the connection's own ``autocommit`` flag is switched, and back
    only if it was off: that flag is all the dialect's AUTOCOMMIT level sets, and
    the isolation level's set and reset around it cost about 28,000 instructions
    a statement.
    """

    __slots__ = ("_autocommit", "_restore", "_write", "connection", "dialect")

    def __init__(self, engine: Engine, *, write: bool) -> None:
        require_own_connections(engine)
        self.dialect = engine.dialect
        self._write = write
        self._autocommit = self.dialect.name == "postgresql"
        #: What __exit__ calls on the DBAPI connection to undo __enter__'s autocommit.
        self._restore: Callable[[Any], None] | None = None
        pool = engine.pool
        try:
            self.connection: Any = _Lent.checkout(pool) if _Lent.serves(pool) else \
                pool.connect()
        except self.dialect.loaded_dbapi.Error as error:
            # The database refused a new connection: raised as SQLAlchemy's own error,
            # as ``engine.connect()`` raises it (a server maps OperationalError to 503).
            raise DBAPIError.instance(None, None, error, self.dialect.loaded_dbapi.Error,
                                      dialect=self.dialect) from error

    def invalidate(self, error: BaseException) -> None:
        self.connection.invalidate(error)

    def __enter__(self) -> Pooled:
        if self._autocommit:
            dbapi_connection = self.connection.dbapi_connection
            try:
                if self.dialect.driver != "psycopg":
                    self.dialect.set_isolation_level(dbapi_connection, "AUTOCOMMIT")
                    self._restore = self.dialect.reset_isolation_level
                elif not dbapi_connection.autocommit:  # else the engine's own level
                    dbapi_connection.autocommit = True
                    self._restore = _autocommit_off
            except BaseException:
                self.connection.close()
                raise
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        connection = self.connection
        try:
            if kind is None and self._write and not self._autocommit:
                try:
                    connection.commit()
                except self.dialect.loaded_dbapi.Error as error:
                    raise _wrapped(self, error, None, None) from error
        finally:
            try:
                if self._restore is not None and connection.is_valid:
                    self._restore(connection.dbapi_connection)
            finally:
                connection.close()


def _autocommit_off(dbapi_connection: Any) -> None:
    dbapi_connection.autocommit = False


class _Lent:
    """A connection taken from the pool's own record, without the proxy a checkout
    wraps around it, for :class:`Pooled` where nothing would notice the difference.

    ``pool.connect()`` builds a ``_ConnectionFairy`` around the pool's
    ``_ConnectionRecord`` (with a weak reference, so that garbage collection can
    return a forgotten connection) and, on the way back, resets the connection
    through it: about 45,000 instructions a statement of the 64,000 a checkout and
    return cost on SQLite, three times the indexed SELECT itself. :class:`Pooled`
    always returns its connection in ``__exit__``, so here the record is taken and
    given back directly: the pool's own ``_do_get`` (its queue, overflow and
    timeout), ``get_connection`` (recycling and reconnecting, with the ``connect``
    events), the same ``rollback`` on return, and ``checkin`` (the ``checkin``
    events, and the record back in the queue).

    Only where the proxy's steps would do nothing: no ``checkout`` or ``reset``
    listeners, no pre-ping, the default rollback on return, no debug logging of
    the pool, a synchronous driver (:meth:`serves`). Everything else goes through
    ``pool.connect()``.
    """

    __slots__ = ("_dialect", "_pool", "_record", "dbapi_connection", "info")

    def __init__(self, pool: Any, record: Any, dbapi_connection: Any) -> None:
        self._pool = pool
        self._dialect = pool._dialect
        self._record = record
        self.dbapi_connection = dbapi_connection
        self.info = record.info  # where the pool keeps what belongs to this connection

    @staticmethod
    def serves(pool: Pool) -> bool:
        events = pool.dispatch
        return not (events.checkout or events.reset or pool._pre_ping
                    or pool._reset_on_return is not reset_rollback
                    or pool._dialect.is_async or pool._should_log_debug())

    @classmethod
    def checkout(cls, pool: Any) -> _Lent:
        record = pool._do_get()
        try:
            dbapi_connection = record.get_connection()
        except BaseException as error:
            record._checkin_failed(error, _fairy_was_created=False)  # back in the pool
            raise
        return cls(pool, record, dbapi_connection)

    def __getattr__(self, name: str) -> Any:  # the DBAPI connection's, as the proxy does
        if name.startswith("_") or name in self.__slots__:  # not set yet: never forwarded
            raise AttributeError(name)
        return getattr(self.dbapi_connection, name)

    def cursor(self) -> Any:
        return self.dbapi_connection.cursor()

    def commit(self) -> None:
        self.dbapi_connection.commit()

    @property
    def is_valid(self) -> bool:
        return self.dbapi_connection is not None

    def invalidate(self, error: BaseException | None = None) -> None:
        """Close the DBAPI connection for good; the record reconnects on its next use."""
        self._record.invalidate(e=error)
        self.dbapi_connection = None

    def close(self) -> None:
        """Roll back whatever is left (the pool's reset on return) and give the record
        back; a connection that fails its rollback is replaced, as the pool does."""
        try:
            if self.dbapi_connection is not None:
                self._dialect.do_rollback(self.dbapi_connection)
        except Exception as error:
            self._pool.logger.error("Exception during reset or similar", exc_info=True)
            self._record.invalidate(e=error)
        finally:
            self.dbapi_connection = None
            self._record.checkin(_fairy_was_created=False)
