"""RowLoader: the hot-path lookup must give what the ORM statement gives, on both databases."""

from __future__ import annotations

import datetime
import decimal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Numeric,
    String,
    bindparam,
    create_engine,
    delete,
    event,
    func,
    insert,
    inspect,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.exc import DBAPIError, IntegrityError, InvalidRequestError, OperationalError
from sqlalchemy.orm import (
    Mapped,
    Session,
    mapped_column,
    relationship,
    sessionmaker,
)
from sqlalchemy.pool import StaticPool

from authgate.core.security import token_digest
from authgate.sqla.oauth2 import rotate_refresh_token
from authgate.sqla.rows import RowInserter, RowLoader, Statement
from tests.sqla_oauth2.support import (
    Base,
    Client,
    OwnBase,
    Owned,
    Owner,
    Token,
    User,
    empty_tables,
    sqlite_engine,
)

#: Far above what PostgreSQL's sequence hands out to rows inserted without a key.
TOKEN_ID = 900_003


@pytest.fixture
def rows(engine) -> Any:
    return _seed(engine)


def _seed(engine: Any) -> Any:
    with engine.begin() as conn:
        conn.execute(insert(User.__table__), [{"id": 1, "username": "alice",
                                               "password_hash": "x"}])
        conn.execute(insert(Client.__table__), [{
            "id": 7, "client_id": "app", "client_secret": "sha256$" + "0" * 64,
            "client_id_issued_at": 5, "client_secret_expires_at": 0,
            "client_metadata": '{"scope": "profile"}', "user_id": 1}])
        conn.execute(insert(Token.__table__), [{
            "id": TOKEN_ID, "client_id": "app", "token_type": "Bearer",
            "access_token": "clear-access", "scope": "profile",  # the type hashes it
            "issued_at": 100, "expires_in": 3600, "user_id": 1}])
    return engine


def _session(engine) -> Session:
    return sessionmaker(engine, expire_on_commit=False)()


def test_direct_load_matches_the_orm_and_is_persistent(rows):
    loader = RowLoader(Client, Client.client_id)
    assert "direct" in repr(loader)
    with _session(rows) as session:
        client = loader.load(session, "app")
        assert inspect(client).persistent and client in session
        assert (client.id, client.client_id, client.scope, client.client_id_issued_at) == \
            (7, "app", "profile", 5)
        assert loader.load(session, "app") is client  # one identity per session
        assert loader.load(session, "nobody") is None
    with _session(rows) as session:
        orm = session.execute(loader.orm_statement, {"p0": "app"}).scalar_one()
        assert {c.key: getattr(orm, c.key) for c in inspect(Client).column_attrs} == \
            {c.key: getattr(client, c.key) for c in inspect(Client).column_attrs}


def test_hashed_column_is_looked_up_by_its_clear_value(rows):
    loader = RowLoader(Token, Token.access_token)
    with _session(rows) as session:
        token = loader.load(session, "clear-access")
        assert token.id == TOKEN_ID and token.access_token == token_digest("clear-access")
        assert loader.load(session, token_digest("clear-access")) is None  # no double hash


def test_instance_held_by_the_session_is_refreshed_from_the_row(rows):
    loader = RowLoader(Token, Token.access_token)
    with _session(rows) as session:
        held = session.get(Token, TOKEN_ID)
        assert held.access_token_revoked_at is None
        with rows.begin() as other:  # another process revokes it
            other.execute(update(Token.__table__).values(access_token_revoked_at=9))
        session.commit()  # a new transaction sees the other's commit
        assert loader.load(session, "clear-access") is held
        assert held.access_token_revoked_at == 9 and held.is_revoked()
        assert not session.dirty  # refreshed as committed state, nothing to flush


def test_changes_to_a_loaded_instance_are_flushed_and_relationships_load(rows):
    with _session(rows) as session:
        token = RowLoader(Token, Token.access_token).load(session, "clear-access")
        assert session.get(User, token.user_id).username == "alice"
        token.scope = "profile email"
        session.commit()
    with _session(rows) as session:
        assert session.get(Token, TOKEN_ID).scope == "profile email"


def test_takes_part_in_the_session_transaction(rows):
    loader = RowLoader(Client, Client.client_id)
    with _session(rows) as session:
        session.execute(update(Client.__table__).values(client_metadata='{"scope": "x"}'))
        assert loader.load(session, "app").scope == "x"  # sees its own uncommitted write
        session.rollback()
        assert loader.load(session, "app").scope == "profile"


def test_cursor_listeners_see_the_statement(rows):
    """With cursor events hooked (query logging, Flask-SQLAlchemy's recording), the ORM
    statement runs, so nothing that listens is bypassed."""
    seen: list[str] = []

    def listen(conn, cursor, statement, *args):
        seen.append(statement)

    event.listen(rows, "before_cursor_execute", listen)
    try:
        with _session(rows) as session:
            assert RowLoader(Client, Client.client_id).load(session, "app").id == 7
    finally:
        event.remove(rows, "before_cursor_execute", listen)
    assert any("client_id" in statement for statement in seen)


def test_model_with_load_listener_goes_through_the_orm(rows):
    loaded: list[Any] = []

    def on_load(target: Any, context: Any) -> None:
        loaded.append(target)

    event.listen(Client, "load", on_load)
    try:
        loader = RowLoader(Client, Client.client_id)
        assert "orm" in repr(loader)
        with _session(rows) as session:
            client = loader.load(session, "app")
        assert loaded == [client]
    finally:
        event.remove(Client, "load", on_load)
    assert "direct" in repr(RowLoader(Client, Client.client_id))


def test_driver_errors_are_sqlalchemy_errors(rows):
    with _session(rows) as session:
        session.execute(text("DROP TABLE " + Token.__tablename__))
        with pytest.raises(DBAPIError) as raised:
            RowLoader(Token, Token.access_token).load(session, "clear-access")
        assert raised.value.orig is not None
        session.rollback()


def test_a_dropped_connection_is_invalidated(pg_engine):
    """A PostgreSQL backend killed under the session: the SQLAlchemy error a Core
    statement gives (which the server answers with 503), and a fresh connection next."""
    empty_tables(pg_engine)
    rows = _seed(pg_engine)
    loader = RowLoader(Client, Client.client_id)
    with _session(rows) as session:
        pid = session.execute(text("SELECT pg_backend_pid()")).scalar()
        with rows.connect() as admin:
            admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        with pytest.raises(OperationalError) as raised:
            loader.load(session, "app")
        assert raised.value.connection_invalidated
        session.rollback()
        assert loader.load(session, "app").id == 7  # a fresh connection serves again


# -- RowInserter ----------------------------------------------------------------------
def test_insert_stores_what_a_flush_would_and_leaves_the_record_persistent(engine):
    inserter = RowInserter(Token)
    assert "direct" in repr(inserter)
    _seed(engine)
    with _session(engine) as session:
        record = Token(client_id="app", access_token="clear-2", scope="profile", user_id=1)
        inserter.insert(session, record)
        session.commit()
        assert inspect(record).persistent and record.id is not None and record.id != TOKEN_ID
        # Python-side defaults, as a flush fills them: a scalar, and a zero-argument callable.
        assert record.token_type == "Bearer" and record.expires_in == 0
        assert abs(record.issued_at - time.time()) < 5
    with engine.connect() as conn:
        stored = conn.execute(select(Token.__table__).where(Token.__table__.c.id == record.id)
                              ).mappings().one()
    assert stored["access_token"] == token_digest("clear-2")  # hashed at bind, once
    assert (stored["token_type"], stored["scope"], stored["user_id"]) == ("Bearer", "profile", 1)


def test_insert_errors_are_sqlalchemy_errors_and_write_nothing(engine):
    _seed(engine)
    with _session(engine) as session:
        with pytest.raises(IntegrityError):  # the unique access token
            RowInserter(Token).insert(session, Token(client_id="app", access_token="clear-access"))
        session.rollback()
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Token.__table__)).scalar() == 1


class _ContextDefault(Base):
    """A default that reads the execution context: only the ORM can give it that."""

    __tablename__ = "ag_test_context_default"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(20))
    shout: Mapped[str] = mapped_column(
        String(20), default=lambda context: context.get_current_parameters()["name"].upper())


def test_context_defaults_and_related_objects_go_through_the_orm(tmp_path):
    engine = sqlite_engine(tmp_path / "ctx.db")
    Base.metadata.create_all(engine)
    inserter = RowInserter(_ContextDefault)
    assert "orm" in repr(inserter)
    with _session(engine) as session:
        record = _ContextDefault(name="hi")
        inserter.insert(session, record)
        session.commit()
        assert record.shout == "HI" and inspect(record).persistent
    engine.dispose()


class _Typed(Base):
    """Columns whose values the driver or SQLAlchemy converts on the way out."""

    __tablename__ = "ag_test_typed_rows"
    id: Mapped[int] = mapped_column(primary_key=True)
    ratio: Mapped[float] = mapped_column(Float)
    amount: Mapped[decimal.Decimal] = mapped_column(Numeric(10, 3))
    at: Mapped[datetime.datetime] = mapped_column(DateTime)
    flag: Mapped[bool] = mapped_column(Boolean)
    doc: Mapped[dict[str, Any]] = mapped_column(JSON)


def test_typed_columns_load_as_the_orm_loads_them(engine):
    _Typed.__table__.create(engine, checkfirst=True)
    values = {"id": 1, "ratio": 0.25, "amount": decimal.Decimal("12.345"),
              "at": datetime.datetime(2026, 12, 6, 23, 30, 1), "flag": True, "doc": {"a": [1]}}
    with engine.begin() as conn:
        conn.execute(_Typed.__table__.delete())
        conn.execute(insert(_Typed.__table__), [values])
    loader = RowLoader(_Typed, _Typed.id)
    for _ in range(2):  # the converters are set on the first row, then reused
        with _session(engine) as session:
            loaded = loader.load(session, 1)
            assert {k: getattr(loaded, k) for k in values} == values
            assert isinstance(loaded.amount, decimal.Decimal) and loaded.flag is True
        with _session(engine) as session:
            orm = session.execute(loader.orm_statement, {"p0": 1}).scalar_one()
            assert {k: getattr(orm, k) for k in values} == values


# -- related many-to-one objects ------------------------------------------------------
# The models and the ``owned`` fixture: tests/sqla_oauth2/support.py and conftest.py.


def test_relationships_not_asked_for_load_lazily_as_configured(owned):
    loader = RowLoader(Owned, Owned.label)
    with _session(owned) as session:
        item = loader.load(session, "a")
        state = inspect(item)
        assert state.persistent and not state.modified and not session.dirty
        assert "owner" not in item.__dict__
        assert item.owner.name == "alice"  # a lazy load, as for an ORM-loaded row
        assert inspect(item.owner).persistent and item.owner is session.get(Owner, 1)
        with pytest.raises(InvalidRequestError):
            _ = item.keeper  # lazy="raise" still raises
        assert loader.load(session, "b").owner is None


def test_related_many_to_one_is_loaded_with_the_row(owned):
    loader = RowLoader(Owned, Owned.label, related=["owner", "keeper"])
    with _session(owned) as session:
        item = loader.load(session, "a")
        assert "owner" in item.__dict__  # set with the row, no lazy load pending
        assert item.owner.name == "alice" and inspect(item.owner).persistent
        assert "keeper" not in item.__dict__  # lazy="raise": left as configured
        with pytest.raises(InvalidRequestError):
            _ = item.keeper
        assert loader.load(session, "b").owner is None  # a NULL key is no object


def test_related_object_held_by_the_session_is_reused_as_a_lazy_load_would(owned):
    loader = RowLoader(Owned, Owned.label, related=["owner"])
    with _session(owned) as session:
        held = session.get(Owner, 1)
        held.name = "changed, not flushed"
        item = loader.load(session, "a")
        assert item.owner is held and held.name == "changed, not flushed"


class _Node(OwnBase):
    """A model related to its own table: the join must alias it."""

    __tablename__ = "ag_test_rows_node"
    id: Mapped[int] = mapped_column(primary_key=True)
    label: Mapped[str] = mapped_column(String(20), unique=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("ag_test_rows_node.id"))
    parent: Mapped[_Node | None] = relationship(remote_side=[id])


def _sql_seen(engine: Any) -> list[str]:
    """Every statement SQLite itself runs (its trace callback: below SQLAlchemy's events,
    which would turn the direct path off)."""
    seen: list[str] = []

    @event.listens_for(engine, "connect")
    def trace(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.set_trace_callback(seen.append)

    engine.dispose()  # new connections, traced
    return seen


def test_related_rows_come_in_the_same_select(owned):
    seen = _sql_seen(owned)
    loader = RowLoader(Owned, Owned.label, related=["owner"])
    with _session(owned) as session:
        session.connection()
        seen.clear()
        item = loader.load(session, "a")
        assert item.owner.name == "alice" and inspect(item.owner).persistent
        selects = [sql for sql in seen if sql.lstrip().upper().startswith("SELECT")]
        assert len(selects) == 1 and "JOIN" in selects[0].upper()


def test_a_key_without_a_row_is_no_object(owned):
    with owned.begin() as conn:  # SQLite does not enforce the foreign key here
        conn.execute(insert(Owned.__table__), [
            {"id": 3, "label": "dangling", "owner_id": 99, "keeper_id": None}])
    loader = RowLoader(Owned, Owned.label, related=["owner"])
    with _session(owned) as session:
        item = loader.load(session, "dangling")
        assert item.owner_id == 99 and item.owner is None
        assert session.get(Owner, 99) is None


def test_a_relationship_to_its_own_table_is_joined_through_an_alias(owned):
    with owned.begin() as conn:
        conn.execute(insert(_Node.__table__), [
            {"id": 1, "label": "root", "parent_id": None},
            {"id": 2, "label": "leaf", "parent_id": 1}])
    loader = RowLoader(_Node, _Node.label, related=["parent"])
    with _session(owned) as session:
        leaf = loader.load(session, "leaf")
        assert leaf.label == "leaf" and leaf.parent.label == "root"
        assert leaf.parent.parent_id is None
        assert loader.load(session, "root").parent is None


def test_a_related_model_on_another_database_is_loaded_by_its_own_query(owned, tmp_path):
    elsewhere = sqlite_engine(tmp_path / "owners.db")
    OwnBase.metadata.create_all(elsewhere)
    with elsewhere.begin() as conn:
        conn.execute(insert(Owner.__table__), [{"id": 1, "name": "alice elsewhere"}])
    loader = RowLoader(Owned, Owned.label, related=["owner"])
    try:
        with Session(binds={Owned: owned, Owner: elsewhere}) as session:
            item = loader.load(session, "a")
            assert item.owner.name == "alice elsewhere"
    finally:
        elsewhere.dispose()


# -- Statement ------------------------------------------------------------------------
def test_statement_counts_rows_and_binds_its_literals(rows):
    table = Token.__table__
    live = or_(table.c.access_token_revoked_at.is_(None), table.c.access_token_revoked_at == 0)
    revoke = Statement(update(table).where(table.c.id == bindparam("k"), live)
                       .values(access_token_revoked_at=bindparam("at")), "at", "k")
    with rows.connect() as conn:
        assert revoke.execute(conn, 50, TOKEN_ID) == 1
        assert revoke.execute(conn, 60, 3) == 0  # the literal 0 and NULL test bound right
        assert revoke.execute(conn, 70, 404) == 0
        conn.commit()
        assert conn.execute(select(table.c.access_token_revoked_at)).scalar() == 50


def test_statement_runs_through_core_when_listened_to(rows):
    seen: list[str] = []

    def listen(conn, cursor, statement, *args):
        seen.append(statement)

    table = Token.__table__
    drop = Statement(delete(table).where(table.c.id == bindparam("k")), "k")
    event.listen(rows, "before_cursor_execute", listen)
    try:
        with rows.begin() as conn:
            assert drop.execute(conn, TOKEN_ID) == 1
    finally:
        event.remove(rows, "before_cursor_execute", listen)
    assert any(statement.startswith("DELETE") for statement in seen)


def test_a_losing_rotation_reads_the_winners_time(rows):
    """Two sessions hold the same token; the second to rotate loses and its record
    shows what the winner wrote, not its own stale view."""
    with _session(rows) as first, _session(rows) as second:
        mine = first.get(Token, TOKEN_ID)
        theirs = second.get(Token, TOKEN_ID)
        assert rotate_refresh_token(first, mine, now=100)
        assert (mine.refresh_token_revoked_at, mine.access_token_revoked_at) == (100, 100)
        assert not rotate_refresh_token(second, theirs, now=200)
        assert theirs.refresh_token_revoked_at == 100 and theirs.is_revoked()


def test_statement_insert_ignores_a_key_the_dialect_returns_by_itself(rows):
    """PostgreSQL compiles a plain INSERT with ``RETURNING id``: the row count still
    comes back, and nothing breaks on the unasked-for row. Columns left to their
    Python-side defaults get them (through Core, which computes them)."""
    table = Token.__table__
    add = Statement(insert(table).values(access_token=bindparam("a"), client_id="app"), "a")
    with rows.begin() as conn:
        assert not add.direct(conn)  # the defaults need Core
        assert add.execute(conn, "clear-new") in (1, -1)  # -1: the driver does not say
    with _session(rows) as session:
        added = RowLoader(Token, Token.access_token).load(session, "clear-new")
        assert (added.client_id, added.token_type, added.expires_in) == ("app", "Bearer", 0)
    complete = Statement(insert(table).values(
        {column: bindparam(column.key) for column in table.c if column.key != "id"}),
        *(column.key for column in table.c if column.key != "id"))
    with rows.begin() as conn:  # every column given: the direct path, an exact count
        assert complete.direct(conn)
        assert complete.execute(conn, 1, "app", "Bearer", "clear-3", None, "", 1, None, None,
                                60, None) == 1
    with _session(rows) as session:
        assert RowLoader(Token, Token.access_token).load(session, "clear-3").expires_in == 60


def test_statement_with_an_in_list_runs_through_core(rows):
    """An IN list's SQL is finished per call (one placeholder per item): Core does it."""
    table = Token.__table__
    drop = Statement(delete(table).where(table.c.id.in_(bindparam("ids", expanding=True))),
                     "ids")
    with rows.begin() as conn:
        assert drop.execute(conn, [TOKEN_ID, 404, 405]) == 1
    with rows.connect() as conn:
        assert conn.execute(select(func.count()).select_from(table)).scalar() == 0


def test_insert_with_session_flush_listeners_goes_through_the_flush(rows):
    """A session's flush listeners see every insert: then the ORM flushes the record."""
    flushed: list[Any] = []
    with _session(rows) as session:
        event.listen(session, "before_flush", lambda s, ctx, objs: flushed.extend(s.new))
        record = Token(client_id="app", access_token="clear-flushed", user_id=1)
        RowInserter(Token).insert(session, record)
        session.commit()
        assert flushed == [record] and inspect(record).persistent


def test_statement_first_is_the_first_row_converted_as_core_converts_it(rows):
    """``first``: the SELECT's first row as a tuple, typed as ``Connection.execute``
    types it (the digest column hashes its bound value), on the direct path and
    through Core when a cursor listener is on."""
    table = Token.__table__
    find = Statement(select(table.c.id, table.c.scope, table.c.issued_at, table.c.expires_in)
                     .where(table.c.access_token == bindparam("a")), "a")
    expected = (TOKEN_ID, "profile", 100, 3600)
    seen: list[str] = []

    def listen(conn, cursor, statement, *args):
        seen.append(statement)

    with rows.connect() as conn:
        core = conn.execute(find.statement, {"a": "clear-access"}).first()
        assert find.first(conn, "clear-access") == tuple(core) == expected
        assert find.first(conn, "unknown") is None
    event.listen(rows, "before_cursor_execute", listen)
    try:
        with rows.connect() as conn:
            assert find.first(conn, "clear-access") == expected
            assert find.first(conn, "unknown") is None
    finally:
        event.remove(rows, "before_cursor_execute", listen)
    assert len(seen) == 2


@contextmanager
def _seen_if(engine: Any, listened: bool) -> Iterator[list[str]]:
    """The SQL a cursor listener sees inside the block, if ``listened`` puts one there."""
    seen: list[str] = []

    def listen(conn, cursor, statement, *args):
        seen.append(statement)

    if listened:
        event.listen(engine, "before_cursor_execute", listen)
    try:
        yield seen
    finally:
        if listened:
            event.remove(engine, "before_cursor_execute", listen)


def _revoke_statement() -> Statement:
    table = Token.__table__
    return Statement(update(table).where(table.c.id == bindparam("k"))
                     .values(access_token_revoked_at=bindparam("at")), "at", "k")


def _revoked_at(engine: Any) -> Any:
    with engine.connect() as conn:
        return conn.execute(select(Token.__table__.c.access_token_revoked_at).where(
            Token.__table__.c.id == TOKEN_ID)).scalar()


@pytest.mark.parametrize("listened", [False, True])
def test_statement_committed_by_itself(rows, listened):
    """``execute_committed`` commits alone, on a pooled connection of its own (through
    ``engine.begin()`` when something listens), and lends nothing it does not return."""
    with _seen_if(rows, listened) as seen:
        assert _revoke_statement().execute_committed(rows, 50, TOKEN_ID) == 1
        assert _revoke_statement().execute_committed(rows, 60, 404) == 0
    assert _revoked_at(rows) == 50  # another connection sees it: committed
    assert rows.pool.checkedout() == 0
    assert any(statement.startswith("UPDATE") for statement in seen) is listened


def test_statement_committed_by_itself_on_a_shared_connection():
    """An in-memory database's one connection: through ``engine.begin()``, not refused."""
    engine = create_engine("sqlite://", poolclass=StaticPool)
    Base.metadata.create_all(engine)
    _seed(engine)
    assert _revoke_statement().execute_committed(engine, 70, TOKEN_ID) == 1
    assert _revoked_at(engine) == 70


def test_statement_committed_by_itself_rolls_back_a_failure(rows):
    table = Token.__table__
    clash = Statement(update(table).where(table.c.id == bindparam("k"))
                      .values(client_id=bindparam("c")), "c", "k")
    with pytest.raises(IntegrityError):  # client_id is NOT NULL
        clash.execute_committed(rows, None, TOKEN_ID)
    assert rows.pool.checkedout() == 0
    assert _revoke_statement().execute_committed(rows, 80, TOKEN_ID) == 1


@pytest.mark.parametrize("listened", [False, True])
def test_statement_read_first_by_itself(rows, listened):
    """``read_first`` reads what ``first`` reads, on a connection it gives back, and the
    listeners see the SELECT when there are some."""
    table = Token.__table__
    scope_of = Statement(select(table.c.scope, table.c.expires_in).where(
        table.c.id == bindparam("k")), "k")
    with _seen_if(rows, listened) as seen:
        assert scope_of.read_first(rows, TOKEN_ID) == ("profile", 3600)
        assert scope_of.read_first(rows, 404) is None
    assert rows.pool.checkedout() == 0
    assert len(seen) == (2 if listened else 0)


def test_statement_committed_by_itself_through_core_when_it_needs_defaults(rows):
    """A statement whose Python-side defaults only Core computes runs through
    ``engine.begin()``: the defaults are there, and nothing stays checked out."""
    table = Token.__table__
    add = Statement(insert(table).values(access_token=bindparam("a"), client_id="app"), "a")
    assert add.execute_committed(rows, "clear-core") in (1, -1)
    assert rows.pool.checkedout() == 0
    with _session(rows) as session:
        added = RowLoader(Token, Token.access_token).load(session, "clear-core")
        assert (added.token_type, added.expires_in) == ("Bearer", 0)
