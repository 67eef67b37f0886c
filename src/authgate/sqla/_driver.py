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

from sqlalchemy import Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, scoped_session

Processor = Callable[[Any], Any] | None


class Compiled:
    """The driver-level form of one statement for one dialect."""

    __slots__ = ("binds", "columns", "converters", "dialect", "fixed", "names", "needs_core",
                 "positional", "slots", "sql")

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

    def process(self, row: Sequence[Any], description: Sequence[Any]) -> tuple[Any, ...]:
        converters = self.converters
        if converters is None:
            if len(row) != len(self.columns):
                raise ValueError(f"expected {len(self.columns)} columns, got {len(row)}")
            found = []
            for i, (column, item) in enumerate(zip(self.columns, description, strict=True)):
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
            return tuple(
                literal if i < 0 else (values[i] if processor is None else processor(values[i]))
                for i, processor, literal in slots)
        named = dict(self.fixed)
        for name, value in zip(self.names, values, strict=True):
            processor = self.binds.get(name)
            named[name] = processor(value) if processor is not None else value
        return named


def compiled_for(cache: dict[int, Compiled], connection: Connection, statement: Any,
                 names: Sequence[str], columns: Sequence[Any]) -> Compiled:
    """``statement`` compiled for the connection's dialect, once per dialect in ``cache``."""
    compiled = cache.get(id(connection.dialect))
    if compiled is None:
        compiled = cache[id(connection.dialect)] = Compiled(statement, names, columns,
                                                            connection.dialect)
    return compiled


def session_of(session: Any) -> Session:
    """The :class:`Session` itself, for a ``scoped_session`` (Flask-SQLAlchemy's ``db.session``)."""
    return session.registry() if isinstance(session, scoped_session) else session  # type: ignore[no-any-return]


def bypassable(connection: Connection) -> bool:
    """Whether nothing listens to this connection's statements (cursor events, echo)."""
    return not (connection._echo or connection.dispatch.before_cursor_execute
                or connection.dispatch.after_cursor_execute)


class Outcome(NamedTuple):
    row: tuple[Any, ...] | None  # the first row, processed
    lastrowid: int | None
    rowcount: int


def run(connection: Connection, compiled: Compiled, values: Sequence[Any]) -> Outcome:
    """Run ``compiled`` on the connection's DBAPI connection.

    Driver errors become SQLAlchemy's, and a dropped connection is invalidated,
    as ``Connection.execute`` would do.
    """
    dialect = connection.dialect
    params = compiled.parameters(values)
    proxied = connection.connection
    cursor = proxied.cursor()
    try:
        cursor.execute(compiled.sql, params)
        description = cursor.description
        # Rows only when the statement asks for columns: an INSERT may come back with
        # the key the dialect returns implicitly, which nobody asked for here.
        row = cursor.fetchone() if description is not None and compiled.columns else None
        lastrowid = getattr(cursor, "lastrowid", None)  # psycopg has none: RETURNING serves
        rowcount = cursor.rowcount
    except dialect.loaded_dbapi.Error as error:
        invalidated = dialect.is_disconnect(error, proxied, cursor)
        if invalidated:
            connection.invalidate(error)
        raise DBAPIError.instance(compiled.sql, params, error, dialect.loaded_dbapi.Error,
                                  connection_invalidated=invalidated,
                                  dialect=dialect) from error
    finally:
        cursor.close()
    return Outcome(None if row is None else compiled.process(row, description),
                    lastrowid, rowcount)
