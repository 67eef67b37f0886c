"""Storing new rows: :class:`RowInserter` and :func:`new_record`.

The insert side of :mod:`authgate.sqla.rows` (which re-exports both): one INSERT
compiled once per dialect, run on the session's DBAPI connection or, for a row
committed by itself, on a pooled connection of the engine's own.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Column, Connection, Engine, Table, bindparam, insert, inspect
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Mapper, Session, configure_mappers, make_transient_to_detached
from sqlalchemy.orm.attributes import instance_state

from authgate.sqla._driver import (
    Compiled,
    Pooled,
    bypassable,
    engine_bypassable,
    loads_plainly,
    require_own_connections,
    run,
    session_of,
)

__all__ = ["RowInserter", "new_record"]


class RowInserter:
    """``insert(session, record)``: one INSERT of a newly built ``record``, leaving it
    persistent in ``session``, without the unit of work (flush plan, cascades).

    The values are the record's own, so ``__init__`` and validators apply as with
    ``Session.add``; a column the record leaves unset gets its Python-side
    default as a flush would give it (scalars and zero-argument callables), or
    the database's. A mapping or record the plain INSERT cannot store exactly
    (inheritance, a version counter, insert or session flush listeners, a
    related object to cascade, a default that reads the execution context) is
    added to the session instead, for the ORM to flush. The caller commits.
    """

    def __init__(self, model: type[Any]) -> None:
        mapper: Mapper[Any] = inspect(model)
        self.model = model
        self._mapper = mapper
        self._table = cast(Table, mapper.local_table)
        self._props = tuple((prop.key, prop.columns[0]) for prop in mapper.column_attrs
                            if isinstance(prop.columns[0], Column)
                            and prop.columns[0].table is self._table)
        self._pk = tuple(mapper.primary_key)
        self._plain = (loads_plainly(mapper) and mapper.version_id_col is None
                       and not mapper.dispatch.before_insert
                       and not mapper.dispatch.after_insert
                       and all(_default_is_plain(column) for _, column in self._props))
        self._compiled: dict[tuple[int, tuple[str, ...]], Compiled] = {}

    def __repr__(self) -> str:
        return f"<RowInserter {self.model.__name__} {'direct' if self._plain else 'orm'}>"

    def insert(self, session: Any, record: Any) -> None:
        connection: Connection = session.connection(bind_arguments={"mapper": self._mapper})
        flush_events = session_of(session).dispatch
        if not self._plain or not bypassable(connection) or flush_events.before_flush or \
                flush_events.after_flush or flush_events.after_flush_postexec or \
                self._cascades(record):
            session.add(record)  # the caller's commit flushes it
            return
        self._run(connection, record)
        make_transient_to_detached(record)
        session.add(record)

    def insert_committed(self, engine: Engine, record: Any) -> None:
        """Store ``record`` in a transaction of its own on one of ``engine``'s pooled
        connections, outside any session, and leave it detached with its key set.

        For a row written alone (a token on the token endpoint): no session is
        built for it, and on PostgreSQL the INSERT is one round trip. What the plain
        INSERT cannot store exactly goes through a short-lived session instead. An
        engine whose pool shares one connection is refused (``ValueError``).
        """
        require_own_connections(engine)
        if not self._plain or not engine_bypassable(engine) or self._cascades(record):
            with Session(engine, expire_on_commit=False) as session:
                session.add(record)
                session.commit()
            return
        with Pooled(engine, write=True) as connection:
            self._run(connection, record)
        self._detach(record)

    def insert_on(self, connection: Connection, record: Any) -> None:
        """Store ``record`` on ``connection``, inside its transaction, outside any
        session, and leave it detached with its key set; the caller commits.

        For a row that must commit together with other writes on the same
        connection (a token and its audit entry). What the plain INSERT cannot
        store exactly is flushed by a session joined to the connection's
        transaction, then closed (which leaves the transaction to the caller).
        """
        if not self._plain or not bypassable(connection) or self._cascades(record):
            with Session(bind=connection) as session:
                session.add(record)
                session.flush()
            return
        self._run(connection, record)
        self._detach(record)

    def _detach(self, record: Any) -> None:
        """Make a record stored by :meth:`_run` detached, its key set."""
        state = instance_state(record)
        if state.modified:
            make_transient_to_detached(record)
        else:  # built by new_record: nothing to commit, only the key to set
            values = record.__dict__
            state.key = self._mapper.identity_key_from_primary_key(tuple(
                values[self._mapper.get_property_by_column(column).key]
                for column in self._pk))

    def _cascades(self, record: Any) -> bool:
        """Whether ``record`` holds a related object a flush would have to save too."""
        state = record.__dict__
        return any(rel.key in state for rel in self._mapper.relationships)

    def _run(self, connection: Any, record: Any) -> None:
        """The INSERT of ``record``'s values (and the defaults a flush would give it);
        a generated primary key is set on the record."""
        state = record.__dict__
        row: dict[str, Any] = {}
        for key, column in self._props:
            if key in state:
                row[column.key] = state[key]
            elif column.default is not None:
                default = column.default
                value = default.arg(None) if default.is_callable else default.arg  # type: ignore[attr-defined]
                row[column.key] = state[key] = value
        names = tuple(row)
        dialect = connection.dialect
        compiled = self._compiled.get((id(dialect), names))
        if compiled is None:
            compiled = self._compiled[(id(dialect), names)] = self._compile(names, dialect)
        outcome = run(connection, compiled, tuple(row.values()))
        missing = [column for column in self._pk if column.key not in row]
        if missing:
            keys = outcome.row if outcome.row is not None else (outcome.lastrowid,)
            for key_column, value in zip(missing, keys, strict=True):
                state[self._mapper.get_property_by_column(key_column).key] = value

    def _compile(self, names: tuple[str, ...], dialect: Dialect) -> Compiled:
        columns = self._table.c
        statement = insert(self._table).values(
            {columns[name]: bindparam(name, type_=columns[name].type) for name in names})
        missing = [column for column in self._pk if column.key not in names]
        if missing and dialect.insert_returning:
            statement = statement.returning(*missing)
            return Compiled(statement, names, missing, dialect)
        if len(missing) > 1:
            raise NotImplementedError("a composite key the database generates needs RETURNING")
        return Compiled(statement, names, (), dialect)


def new_record(model: type[Any], values: dict[str, Any]) -> Any:
    """``model(**values)``, for values that are all columns, without the attribute
    events of construction when nothing can observe their absence.

    The declarative constructor sets each value through the instrumented attribute,
    recording history the insert then commits away: several times the cost of the
    insert's own Python work. A model with its own ``__init__``, ``init`` listeners,
    validators or attribute ``set`` listeners is constructed as usual.
    """
    mapper: Mapper[Any] = inspect(model)
    plain = _plain_constructors.get(mapper)
    if plain is None:
        plain = _plain_constructors[mapper] = _constructs_plainly(mapper)
    if not plain or not plain.issuperset(values):
        return model(**values)
    record = mapper.class_manager.new_instance()
    record.__dict__.update(values)
    return record


#: Per mapper: the column keys a record can be built from directly (empty: none).
_plain_constructors: dict[Mapper[Any], frozenset[str]] = {}


def _constructs_plainly(mapper: Mapper[Any]) -> frozenset[str]:
    manager = mapper.class_manager
    # SQLAlchemy's own init listener configures the mappers and sets a polymorphic
    # identity: done here once, and refused, instead.
    own_listeners = [fn for fn in manager.dispatch.init
                     if getattr(fn, "__qualname__", None) != "_event_on_init"]
    if getattr(manager.original_init, "__qualname__", None) != "_declarative_constructor" \
            or own_listeners or manager.dispatch.init_failure \
            or mapper.polymorphic_on is not None or mapper.inherits is not None:
        return frozenset()
    configure_mappers()
    keys = [prop.key for prop in mapper.column_attrs]
    if any(getattr(mapper.class_, key).dispatch.set for key in keys):  # @validates too
        return frozenset()
    return frozenset(keys)


def _default_is_plain(column: Column[Any]) -> bool:
    """Whether a flush would fill ``column`` from a scalar or a zero-argument callable
    (SQLAlchemy wraps the latter, keeping it as ``__wrapped__``), or leave it to the
    database; a default reading the execution context, a SQL expression or a sequence
    needs the ORM."""
    default = column.default
    if default is None:
        return True
    if getattr(default, "is_scalar", False):
        return True
    return bool(getattr(default, "is_callable", False)
                and hasattr(default.arg, "__wrapped__"))  # type: ignore[attr-defined]
