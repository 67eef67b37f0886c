"""Hot-path statements, compiled once per dialect and run on the session's DBAPI connection.

:class:`RowLoader` reads one row as an ORM instance, :class:`RowInserter`
stores a new instance with one INSERT, :class:`Statement` runs a single-use
UPDATE or DELETE and returns its row count. What follows is about the loader;
the other two share its compilation, fallbacks and error handling. The loader's
``load_detached`` and the inserter's ``insert_committed`` (in
:mod:`authgate.sqla._insert`, with :func:`new_record`) do the same outside any
session, on a pooled connection of the engine's own.

An ORM ``session.execute(select(Model)...)`` costs about ten times the SQL it
runs (ORM compile state, result metadata, the loading pipeline): on the token
endpoint and on every bearer-protected request that is most of the time spent
beyond Flask. :class:`RowLoader` keeps the ORM's result, a persistent instance
in the caller's session, and skips the machinery in between:

- the statement is compiled once per dialect, with the column types' bind and
  result processors looked up at the same time (so a :class:`HashedToken`
  column still hashes the clear value it is given);
- it runs on the DBAPI connection of the session's current transaction, so it
  sees what that transaction sees and takes part in its commit or rollback;
- the row becomes an instance the way ``make_transient_to_detached`` and
  ``Session.add`` make one: persistent, with relationships and any column left
  unloaded loading lazily on first access. An instance the session already
  holds is refreshed instead, as ``populate_existing`` would.

A model whose loading the ORM must see (inheritance, deferred or SQL-expression
columns, ``load`` / ``refresh`` listeners), or an engine with cursor listeners
or ``echo`` on, goes through the ordinary ORM statement, so nothing that hooks
into SQLAlchemy is bypassed. Driver errors are wrapped as SQLAlchemy's
(``OperationalError`` and friends) and a dropped connection is invalidated,
exactly as a Core statement would do it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, cast

from sqlalchemy import Column, Connection, Engine, and_, bindparam, inspect, select
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import MANYTOONE, ColumnProperty, Mapper, Session
from sqlalchemy.orm.attributes import instance_state, set_committed_value

from authgate.sqla._driver import (
    SHARED_POOLS,
    Compiled,
    Outcome,
    Pooled,
    bypassable,
    compiled_for,
    engine_bypassable,
    loads_plainly,
    require_own_connections,
    run,
)
from authgate.sqla._insert import RowInserter, new_record

__all__ = ["RowInserter", "RowLoader", "Statement", "new_record"]


class Statement:
    """``execute(connection, *values)``: one UPDATE, DELETE or INSERT with bound
    parameters ``names``, compiled once per dialect; returns the matched row count.
    ``first(connection, *values)``: the first row of a SELECT, as a tuple.

    For the single-use decisions of the hot paths (consume a code, rotate a
    refresh token), where the row count says who won and building the statement
    anew each time costs more than running it. With cursor listeners or echo on,
    it runs through ``Connection.execute`` like any Core statement, and so does one
    that leaves a column with a Python-side default (or ``onupdate``) unset, since
    SQLAlchemy computes those per execution.
    """

    def __init__(self, statement: Any, *names: str) -> None:
        # An INSERT asks for no generated key back (PostgreSQL would add RETURNING,
        # and then report no row count): the count is what this class is for.
        self.statement = statement.inline() if getattr(statement, "is_insert", False) \
            else statement
        self._names = names
        self._compiled: dict[int, Compiled] = {}

    def direct(self, connection: Connection) -> bool:
        """Whether :meth:`execute` runs on the DBAPI connection itself for this
        connection, and so reports the exact row count of an INSERT too."""
        return not self._compile(connection).needs_core and bypassable(connection)

    def execute(self, connection: Connection, *values: Any) -> int:
        """The row count; -1 where the driver does not report it (an INSERT that
        runs through Core: ``direct`` says beforehand)."""
        compiled = self._compile(connection)
        if compiled.needs_core or not bypassable(connection):
            result = connection.execute(self.statement,
                                        dict(zip(self._names, values, strict=True)))
            return int(cast(CursorResult[Any], result).rowcount)
        return run(connection, compiled, values).rowcount

    def execute_committed(self, engine: Engine, *values: Any) -> int:
        """Run the statement in a transaction of its own and commit it; the row count.

        For a write that stands alone (an audit entry): on one of the engine's
        pooled DBAPI connections, in autocommit on PostgreSQL (one round trip), with
        no :class:`~sqlalchemy.engine.Connection` built for it. Where something
        listens to the engine, the pool shares one connection, or the statement
        needs Core, it runs as ``engine.begin()`` would run it.
        """
        count = self.try_committed(engine, *values)
        if count is not None:
            return count
        with engine.begin() as connection:
            return self.execute(connection, *values)

    def try_committed(self, engine: Engine, *values: Any) -> int | None:
        """:meth:`execute_committed` where it runs on a pooled DBAPI connection by
        itself (so the row count of an INSERT is exact too); None, and nothing run,
        where it would have to go through Core."""
        outcome = self._run_pooled(engine, values, write=True)
        return None if outcome is None else outcome.rowcount

    def first(self, connection: Connection, *values: Any) -> tuple[Any, ...] | None:
        """The first row of a SELECT (values converted as SQLAlchemy would), or None.

        For a lookup whose answer is a value rather than an ORM instance: no
        result object, no row class, just the tuple.
        """
        compiled = self._compile(connection)
        if compiled.needs_core or not bypassable(connection):
            row = connection.execute(self.statement,
                                     dict(zip(self._names, values, strict=True))).first()
            return None if row is None else tuple(row)
        return run(connection, compiled, values).row

    def read_first(self, engine: Engine, *values: Any) -> tuple[Any, ...] | None:
        """:meth:`first`, read on one of the engine's pooled connections by itself (in
        autocommit on PostgreSQL: one round trip), with no Connection built for it;
        through ``engine.connect()`` where something listens, the pool shares one
        connection, or the statement needs Core."""
        outcome = self._run_pooled(engine, values, write=False)
        if outcome is not None:
            return outcome.row
        with engine.connect() as connection:
            if engine.dialect.name == "postgresql":  # one round trip there too
                connection.execution_options(isolation_level="AUTOCOMMIT")
            return self.first(connection, *values)

    def _run_pooled(self, engine: Engine, values: Sequence[Any], *, write: bool
                    ) -> Outcome | None:
        """The statement run on a pooled connection by itself, or None where it may not
        be (listeners, a shared pool, a statement that needs Core)."""
        if not engine_bypassable(engine) or isinstance(engine.pool, SHARED_POOLS):
            return None
        compiled = self._compile(engine)
        if compiled.needs_core:
            return None
        with Pooled(engine, write=write) as connection:
            return run(connection, compiled, values)

    def _compile(self, bind: Connection | Engine) -> Compiled:
        return compiled_for(self._compiled, bind, self.statement, self._names,
                            tuple(getattr(self.statement, "selected_columns", ())))


class RowLoader:
    """``load(session, *values)``: the instance of ``model`` whose ``columns`` equal
    ``values``, or None; built once, used on every request.

    ``columns`` should identify at most one row (a unique key); if several match,
    the first the database returns is used. ``related`` names many-to-one
    relationships to load with it (a token's ``user``, read on every protected
    request): in the same SELECT, by a LEFT JOIN on the target's primary key,
    when the target lives in the same database (else by its own query); the
    session's own instance is kept if it holds the target, as the lazy load
    would do.
    """

    def __init__(self, model: type[Any], *columns: Any, related: Sequence[str] = ()) -> None:
        mapper: Mapper[Any] = inspect(model)
        self.model = model
        self._mapper = mapper
        self._names = tuple(f"p{i}" for i in range(len(columns)))
        where = and_(*(column == bindparam(name)
                       for column, name in zip(columns, self._names, strict=True)))
        #: The ORM statement: the fallback, and what the fast path must agree with.
        self.orm_statement = select(model).where(where).execution_options(
            populate_existing=True)
        self._plain = loads_plainly(mapper)
        props: list[ColumnProperty[Any]] = list(mapper.column_attrs)
        self._keys = tuple(prop.key for prop in props)
        self._columns: tuple[Column[Any], ...] = tuple(
            prop.columns[0] for prop in props)  # type: ignore[misc]
        pk: dict[Any, int] = {column: i for i, column in enumerate(self._columns)}
        self._pk_positions = tuple(pk[column] for column in mapper.primary_key) \
            if self._plain and all(c in pk for c in mapper.primary_key) else None
        self._statement = select(*self._columns).where(where)
        self._compiled: dict[int, Compiled] = {}
        self._related = tuple(filter(None, (self._to_one(name) for name in related)))
        self._joined: Any = None  # the row and its related rows in one SELECT
        self._slices: tuple[tuple[int, int], ...] = ()
        self._joined_compiled: dict[int, Compiled] = {}
        if self._related and self._direct:
            self._build_join(where)

    def _to_one(self, name: str) -> tuple[str, tuple[int, ...], RowLoader] | None:
        """How to load relationship ``name`` from a row: the positions of its foreign
        key and a loader of the target by primary key; None when it is not a plain
        lazy many-to-one (the ORM then loads it as it is configured to)."""
        rel = self._mapper.relationships[name]
        if rel.direction is not MANYTOONE or rel.uselist or rel.secondary is not None or \
                rel.lazy != "select" or not self._direct:
            return None
        target = rel.mapper
        remote_to_local = {remote: local for local, remote in rel.local_remote_pairs}
        if set(remote_to_local) != set(target.primary_key):
            return None
        positions: dict[Any, int] = {column: i for i, column in enumerate(self._columns)}
        locals_ = [remote_to_local[column] for column in target.primary_key]
        if not all(column in positions for column in locals_):
            return None
        return (name, tuple(positions[column] for column in locals_),
                RowLoader(target.class_, *target.primary_key))

    def _build_join(self, where: Any) -> None:
        """``SELECT row, related rows FROM t LEFT JOIN target ON target.pk = t.fk``: one
        statement for what would be one query per relationship; each target is
        aliased, so a relationship to the model's own table joins as well."""
        selected: list[Any] = list(self._columns)
        joined: Any = self._mapper.local_table
        slices = []
        for _name, positions, loader in self._related:
            target = loader._mapper.local_table.alias()
            assert loader._pk_positions is not None
            pk = [loader._columns[i] for i in loader._pk_positions]  # the mapper's order
            joined = joined.outerjoin(target, and_(*(
                target.c[column.key] == self._columns[position]
                for column, position in zip(pk, positions, strict=True))))
            start = len(selected)
            selected.extend(target.c[column.key] for column in loader._columns)
            slices.append((start, len(selected)))
        self._joined = select(*selected).select_from(joined).where(where)
        self._joined_columns = tuple(selected)
        self._slices = tuple(slices)

    def __repr__(self) -> str:
        return f"<RowLoader {self.model.__name__} {'direct' if self._direct else 'orm'}>"

    @property
    def _direct(self) -> bool:
        return self._pk_positions is not None

    def load(self, session: Any, *values: Any) -> Any:
        connection: Connection = session.connection(bind_arguments={"mapper": self._mapper})
        if not self._direct or not bypassable(connection):
            params = dict(zip(self._names, values, strict=True))
            return session.execute(self.orm_statement, params).scalars().first()
        if self._joined is not None and self._related_share(session, connection):
            return self._load_joined(session, connection, values)
        row = self._fetch(connection, values)
        if row is None:
            return None
        instance = self._instance(session, row)
        for name, positions, loader in self._related:
            key = [row[i] for i in positions]
            set_committed_value(instance, name, None if None in key else
                                loader.get(session, key))
        return instance

    def _related_share(self, session: Any, connection: Connection) -> bool:
        """Whether every related model is read from this connection's database (the
        join cannot reach across binds)."""
        for _name, _positions, loader in self._related:
            bind = session.get_bind(mapper=loader._mapper)
            if bind is not connection.engine and bind is not connection:
                return False
        return True

    def _load_joined(self, session: Any, connection: Connection, values: Sequence[Any]) -> Any:
        compiled = compiled_for(self._joined_compiled, connection, self._joined, self._names,
                                self._joined_columns)
        full = run(connection, compiled, values).row
        if full is None:
            return None
        row = full[:len(self._columns)]
        instance = self._instance(session, row)
        for (name, positions, loader), (start, end) in zip(self._related, self._slices,
                                                           strict=True):
            key = tuple(row[i] for i in positions)
            value = None
            if None not in key:
                # As a lazy load: the session's own instance if it holds one, as it is.
                mapper = loader._mapper
                value = session.identity_map.get(mapper.identity_key_from_primary_key(key))
                if value is None:
                    target = full[start:end]
                    assert loader._pk_positions is not None
                    if None not in map(target.__getitem__, loader._pk_positions):  # found
                        value = loader._instance(session, target)
            set_committed_value(instance, name, value)
        return instance

    def get(self, session: Any, key: Sequence[Any]) -> Any:
        """The instance with primary key ``key``: the session's own if it holds it (as a
        lazy load would take it), else loaded."""
        held = session.identity_map.get(self._mapper.identity_key_from_primary_key(tuple(key)))
        return held if held is not None else self.load(session, *key)

    def _fetch(self, connection: Connection | Pooled, values: Sequence[Any]) -> Any:
        compiled = compiled_for(self._compiled, connection, self._statement, self._names,
                                self._columns)
        return run(connection, compiled, values).row

    def _instance(self, session: Any, row: tuple[Any, ...]) -> Any:
        key = self._key(row)
        existing = session.identity_map.get(key)
        if existing is not None:  # populate_existing: the row wins over what was held
            for name, value in zip(self._keys, row, strict=True):
                set_committed_value(existing, name, value)
            return existing
        instance = self._detached(row, key)
        session.add(instance)
        return instance

    def _key(self, row: tuple[Any, ...]) -> Any:
        assert self._pk_positions is not None
        return self._mapper.identity_key_from_primary_key(
            tuple(map(row.__getitem__, self._pk_positions)))

    def _detached(self, row: tuple[Any, ...], key: Any = None) -> Any:
        """A detached instance of ``row``: every column loaded, no history.

        What make_transient_to_detached would make of it: only the identity key is
        left to set (the relationships it would mark expired load lazily on first
        access either way, once the instance is in a session).
        """
        instance = self._mapper.class_manager.new_instance()
        instance.__dict__.update(zip(self._keys, row, strict=True))
        instance_state(instance).key = self._key(row) if key is None else key
        return instance

    def lookup(self, bind: Any) -> Callable[..., Any]:
        """``lookup(*values)`` bound to ``bind``: :meth:`load` in a session, or
        :meth:`load_detached` given an :class:`~sqlalchemy.Engine` (one whose pool
        shares one connection is refused here, with ``ValueError``). What the
        ``query_*`` hook factories return."""
        if isinstance(bind, Engine):
            return partial(self.load_detached, require_own_connections(bind))
        return partial(self.load, bind)

    # -- on the engine's own connections -----------------------------------------------
    def load_detached(self, engine: Engine, *values: Any) -> Any:
        """The instance as :meth:`load` finds it, read on one of ``engine``'s pooled
        connections outside any session, and returned detached, ``related`` included.

        For a lookup that needs no unit of work (the client on the token endpoint,
        the token of a bearer request): no session is built, begun, committed and
        closed for it, and on PostgreSQL the SELECT is its own transaction (one
        round trip). A relationship not named in ``related`` cannot load later
        (the instance has no session) unless the caller adds it to one. An engine
        whose pool shares one connection is refused (``ValueError``).
        """
        require_own_connections(engine)
        if not self._direct or not engine_bypassable(engine) or \
                (self._related and self._joined is None):
            return self._load_in_own_session(engine, values)
        with Pooled(engine, write=False) as connection:
            if self._joined is None:
                row = self._fetch(connection, values)
                return None if row is None else self._detached(row)
            compiled = compiled_for(self._joined_compiled, connection, self._joined,
                                    self._names, self._joined_columns)
            full = run(connection, compiled, values).row
        if full is None:
            return None
        instance = self._detached(full[:len(self._columns)])
        # Set as a load sets them: the fresh instance has no history or expired
        # attributes for set_committed_value to clear.
        loaded = instance.__dict__
        for (name, _positions, loader), (start, end) in zip(self._related, self._slices,
                                                            strict=True):
            target = full[start:end]
            assert loader._pk_positions is not None
            found = None not in map(target.__getitem__, loader._pk_positions)
            loaded[name] = loader._detached(target) if found else None
        return instance

    def _load_in_own_session(self, engine: Engine, values: Sequence[Any]) -> Any:
        """:meth:`load_detached` through the ORM, for what the fast path must not bypass."""
        with Session(engine) as session:  # closing detaches it, loaded as it is
            instance = self.load(session, *values)
            if instance is not None:
                for name, _positions, _loader in self._related:
                    getattr(instance, name)  # loaded now: there is no session later
        return instance
