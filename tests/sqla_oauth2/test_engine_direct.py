"""Lookups and inserts on the engine's own pooled connections, outside any session.

``RowLoader.load_detached`` and ``RowInserter.insert_committed`` (what the hooks
do when given an engine) must give what the ORM gives, detached; commit a write
by itself; never leak a pooled connection, whatever fails; wrap driver errors
as SQLAlchemy does; leave PostgreSQL connections as they were lent (autocommit
only for the one statement); and go through the ORM when something listens to
the engine. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import String, create_engine, event, func, inspect, literal, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from sqlalchemy.orm.exc import DetachedInstanceError
from sqlalchemy.pool import SingletonThreadPool, StaticPool

from authgate.core.security import token_digest
from authgate.sqla._driver import KEPT_CURSOR, Pooled, engine_bypassable
from authgate.sqla.oauth2 import (
    create_bearer_token_validator,
    create_query_client_func,
    create_save_token_func,
    save_token_record,
)
from authgate.sqla.rows import RowInserter, RowLoader, Statement, new_record
from tests.sqla_oauth2.support import (
    Base,
    Client,
    Owned,
    Owner,
    Token,
    empty_tables,
    oauth_request,
)
from tests.sqla_oauth2.test_rows import TOKEN_ID, _seed


@pytest.fixture
def rows(engine) -> Any:
    return _seed(engine)


@contextmanager
def _statements_seen(engine: Any) -> Iterator[list[str]]:
    """The SQL run on ``engine`` inside the block (a listener: the fast paths step aside)."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _detached(instance: Any) -> bool:
    state = inspect(instance)
    return state.detached and state.key is not None and not state.modified


# -- RowLoader.load_detached ---------------------------------------------------------------
def test_a_detached_load_matches_the_orm(rows):
    loader = RowLoader(Client, Client.client_id)
    client = loader.load_detached(rows, "app")
    assert _detached(client)
    with Session(rows) as session:
        orm = session.execute(loader.orm_statement, {"p0": "app"}).scalar_one()
        expected = {c.key: getattr(orm, c.key) for c in Client.__table__.columns}
    assert {c.key: getattr(client, c.key) for c in Client.__table__.columns} == expected
    assert client.client_metadata == {"scope": "profile"}
    assert loader.load_detached(rows, "nobody") is None
    assert rows.pool.checkedout() == 0


def test_a_detached_token_is_found_by_its_clear_value(rows):
    token = RowLoader(Token, Token.access_token).load_detached(rows, "clear-access")
    assert token.id == TOKEN_ID and token.access_token == token_digest("clear-access")
    assert RowLoader(Token, Token.access_token).load_detached(rows, token_digest(
        "clear-access")) is None  # a stored digest is not a token


def test_a_detached_instance_can_join_a_session_later(rows):
    client = RowLoader(Client, Client.client_id).load_detached(rows, "app")
    with Session(rows) as session:
        client = session.merge(client, load=False)
        client.client_id_issued_at = 6
        session.commit()
    with rows.connect() as conn:
        assert conn.execute(select(Client.__table__.c.client_id_issued_at)).scalar() == 6


def _related_come_detached(owned: Any) -> None:
    loader = RowLoader(Owned, Owned.label, related=["owner", "keeper"])
    item = loader.load_detached(owned, "a")
    assert _detached(item) and item.owner.name == "alice" and _detached(item.owner)
    assert "keeper" not in item.__dict__  # lazy="raise" is left as configured
    assert loader.load_detached(owned, "b").owner is None
    plain = RowLoader(Owned, Owned.label).load_detached(owned, "a")
    with pytest.raises(DetachedInstanceError):
        _ = plain.owner  # not asked for, and there is no session to load it
    assert owned.pool.checkedout() == 0


def test_related_rows_come_detached_with_the_row(owned):
    _related_come_detached(owned)


def test_a_listened_engine_loads_related_rows_through_the_orm(owned):
    """There is no session to load them later: the ORM path loads them now."""
    with _statements_seen(owned) as seen:
        _related_come_detached(owned)
    assert seen


def test_a_listened_engine_goes_through_the_orm(rows):
    record = Token(client_id="app", access_token="listened", scope="profile", user_id=1)
    with _statements_seen(rows) as seen:
        assert not engine_bypassable(rows)
        client = RowLoader(Client, Client.client_id).load_detached(rows, "app")
        assert _detached(client) and client.client_id == "app"
        RowInserter(Token).insert_committed(rows, record)
    assert _detached(record) and record.id is not None and record.token_type == "Bearer"
    assert any("SELECT" in s for s in seen) and any("INSERT" in s for s in seen)
    assert rows.pool.checkedout() == 0


def test_echo_and_dialect_listeners_also_keep_the_fast_path_away(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'e.db'}")
    assert engine_bypassable(engine)
    event.listen(engine, "handle_error", lambda context: None)
    assert not engine_bypassable(engine)
    assert not engine_bypassable(create_engine(f"sqlite:///{tmp_path / 'e.db'}", echo=True))


class _MissingBase(DeclarativeBase):
    pass


class _Missing(_MissingBase):
    """Mapped, never created: every statement on it fails in the database."""

    __tablename__ = "ag_test_never_created"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(20))


def test_driver_errors_are_sqlalchemy_errors_and_the_connection_goes_back(rows):
    with pytest.raises(DBAPIError) as raised:
        RowLoader(_Missing, _Missing.name).load_detached(rows, "x")
    assert raised.value.orig is not None and rows.pool.checkedout() == 0
    with pytest.raises(DBAPIError):
        RowInserter(_Missing).insert_committed(rows, _Missing(name="x"))
    assert rows.pool.checkedout() == 0
    assert RowLoader(Client, Client.client_id).load_detached(rows, "app").id == 7


def test_a_dropped_connection_is_invalidated_and_replaced(postgres_url):
    engine = create_engine(postgres_url, pool_size=1, max_overflow=0)
    try:
        empty_tables(engine)
        _seed(engine)
        loader = RowLoader(Client, Client.client_id)
        raw = engine.raw_connection()
        pid = raw.cursor().execute("SELECT pg_backend_pid()").fetchone()[0]
        raw.close()
        admin = create_engine(postgres_url)
        with admin.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        admin.dispose()
        with pytest.raises(OperationalError) as raised:
            loader.load_detached(engine, "app")
        assert raised.value.connection_invalidated
        assert loader.load_detached(engine, "app").id == 7  # the pool's one slot serves again
        assert engine.pool.checkedout() == 0
    finally:
        engine.dispose()


# -- RowInserter.insert_committed --------------------------------------------------------
def test_an_insert_commits_by_itself_and_leaves_the_record_detached(rows):
    record = Token(client_id="app", access_token="clear-2", scope="profile", user_id=1)
    RowInserter(Token).insert_committed(rows, record)
    assert _detached(record) and record.id is not None and record.id != TOKEN_ID
    assert record.token_type == "Bearer" and abs(record.issued_at - time.time()) < 5
    with rows.connect() as conn:  # another connection sees it: committed
        stored = conn.execute(select(Token.__table__).where(
            Token.__table__.c.id == record.id)).mappings().one()
    assert stored["access_token"] == token_digest("clear-2")
    assert (stored["token_type"], stored["user_id"]) == ("Bearer", 1)
    assert rows.pool.checkedout() == 0


def test_a_failed_insert_writes_nothing_and_the_next_one_works(rows):
    with pytest.raises(IntegrityError):  # the unique access token
        RowInserter(Token).insert_committed(rows, Token(client_id="app",
                                                        access_token="clear-access"))
    assert rows.pool.checkedout() == 0
    RowInserter(Token).insert_committed(rows, Token(client_id="app", access_token="fresh"))
    with rows.connect() as conn:
        stored = conn.execute(select(Token.__table__.c.access_token).order_by(
            Token.__table__.c.id)).scalars().all()
    assert sorted(stored) == sorted([token_digest("clear-access"), token_digest("fresh")])


def test_a_record_with_a_related_object_is_flushed_with_it(owned):
    item = Owned(label="c", owner=Owner(id=2, name="carol"))
    RowInserter(Owned).insert_committed(owned, item)
    assert _detached(item) and item.owner_id == 2 and _detached(item.owner)
    with owned.connect() as conn:
        assert conn.execute(text("SELECT name FROM ag_test_rows_owner WHERE id = 2")
                            ).scalar() == "carol"


def test_postgres_statements_run_in_autocommit_and_the_connection_is_restored(pg_engine):
    engine = pg_engine
    for write in (False, True):
        with Pooled(engine, write=write) as connection:
            assert connection.connection.dbapi_connection.autocommit is True
        raw = engine.raw_connection()
        try:
            assert raw.dbapi_connection.autocommit is False
        finally:
            raw.close()


@pytest.mark.parametrize("level", ["SERIALIZABLE", "AUTOCOMMIT"])
def test_postgres_connections_keep_the_engines_own_isolation_level(postgres_url, level):
    """Only autocommit is switched for the statement: an engine made SERIALIZABLE
    lends SERIALIZABLE transactions afterwards, one made AUTOCOMMIT stays so."""
    engine = create_engine(postgres_url, pool_size=1, max_overflow=0, isolation_level=level)
    try:
        empty_tables(engine)
        _seed(engine)
        assert RowLoader(Client, Client.client_id).load_detached(engine, "app").id == 7
        RowInserter(Token).insert_committed(engine, Token(client_id="app",
                                                          access_token="level"))
        with engine.connect() as conn:  # the pool's one connection, the one just used
            assert conn.connection.dbapi_connection.autocommit is (level == "AUTOCOMMIT")
            if level == "SERIALIZABLE":
                shown = conn.execute(text("SHOW transaction_isolation")).scalar()
                assert shown == "serializable"
    finally:
        engine.dispose()


def test_a_postgres_connection_keeps_one_cursor_and_a_new_connection_gets_its_own(
        postgres_url):
    engine = create_engine(postgres_url, pool_size=1, max_overflow=0)
    try:
        empty_tables(engine)
        _seed(engine)
        loader = RowLoader(Client, Client.client_id)
        assert loader.load_detached(engine, "app").id == 7
        raw = engine.raw_connection()
        kept = raw.info[KEPT_CURSOR]
        assert kept[0] is raw.dbapi_connection and not kept[1].closed
        raw.close()
        assert loader.load_detached(engine, "app").client_id == "app"
        assert loader.load_detached(engine, "nobody") is None
        raw = engine.raw_connection()
        assert raw.info[KEPT_CURSOR] is kept  # the same cursor, reused
        raw.invalidate()  # the connection is replaced: its cursor goes with it
        raw.close()
        assert loader.load_detached(engine, "app").id == 7
        raw = engine.raw_connection()
        try:
            renewed = raw.info[KEPT_CURSOR]
            assert renewed[0] is raw.dbapi_connection and renewed[1] is not kept[1]
        finally:
            raw.close()
    finally:
        engine.dispose()


def test_sqlite_writes_commit_and_an_error_rolls_back(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'w.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
    with Pooled(engine, write=True) as connection:
        connection.connection.cursor().execute("INSERT INTO t VALUES (1)")
    with pytest.raises(RuntimeError), Pooled(engine, write=True) as connection:
        connection.connection.cursor().execute("INSERT INTO t VALUES (2)")
        raise RuntimeError("before the commit")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT x FROM t")).scalars().all() == [1]
    assert engine.pool.checkedout() == 0


# -- the hooks given an engine -----------------------------------------------------------
def test_the_hooks_given_an_engine_use_no_session(rows):
    sessions: list[Any] = []

    def began(session: Any, *_: Any) -> None:
        sessions.append(session)

    event.listen(Session, "after_begin", began)
    try:
        client = create_query_client_func(rows, Client)("app")
        assert _detached(client) and client.client_id == "app"
        record = create_save_token_func(rows, Token)(
            {"token_type": "Bearer", "access_token": "a" * 40, "refresh_token": "r" * 40,
             "scope": "profile", "expires_in": 60}, oauth_request(client=client))
        assert _detached(record) and record.access_token == token_digest("a" * 40)
        assert record.refresh_token == token_digest("r" * 40) and record.family
        validator = create_bearer_token_validator(rows, Token)()
        found = validator.authenticate_token("a" * 40)
        assert _detached(found) and found.id == record.id and found.scope == "profile"
        assert validator.authenticate_token("unknown") is None
    finally:
        event.remove(Session, "after_begin", began)
    assert sessions == []
    assert rows.pool.checkedout() == 0


def test_before_commit_needs_a_session(rows):
    client = create_query_client_func(rows, Client)("app")
    with pytest.raises(TypeError):
        save_token_record(rows, Token, {"token_type": "Bearer", "access_token": "b" * 40},
                          oauth_request(client=client), before_commit=lambda record: None)
    with rows.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Token.__table__)).scalar() == 1


@pytest.mark.parametrize("pool", [StaticPool, SingletonThreadPool])
def test_an_engine_sharing_one_connection_is_refused(pool):
    """Its one connection is the session's too: a commit or reset there would land on
    the session's work."""
    engine = create_engine("sqlite://", poolclass=pool)
    Base.metadata.create_all(engine)
    try:
        for factory in (create_query_client_func, create_save_token_func,
                        create_bearer_token_validator):
            with pytest.raises(ValueError, match="shares one connection"):
                factory(engine, Client if factory is create_query_client_func else Token)
        with pytest.raises(ValueError):
            RowLoader(Client, Client.client_id).load_detached(engine, "app")
        with pytest.raises(ValueError):
            RowInserter(Token).insert_committed(engine, Token(client_id="app",
                                                              access_token="x"))
        assert create_query_client_func(Session(engine), Client)("app") is None
    finally:
        engine.dispose()


# -- new_record ---------------------------------------------------------------------------
class _Built(_MissingBase):
    """A plain model: built directly, without the constructor's attribute events."""

    __tablename__ = "ag_test_built"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(20))


class _OwnInit(_MissingBase):
    __tablename__ = "ag_test_own_init"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(20))

    def __init__(self, **values: Any) -> None:
        values["name"] = values["name"].upper()
        super().__init__(**values)


class _Listened(_MissingBase):
    __tablename__ = "ag_test_set_listened"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(20))


@event.listens_for(_Listened.name, "set", retval=True)
def _shout(_target: Any, value: str, *_: Any) -> str:
    return value.upper()


class _InitListened(_MissingBase):
    __tablename__ = "ag_test_init_listened"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(20))


@event.listens_for(_InitListened, "init")
def _init_shouts(_target: Any, _args: Any, kwargs: dict[str, Any]) -> None:
    kwargs["name"] = kwargs["name"].upper()


def test_new_record_builds_a_plain_model_without_history():
    record = new_record(_Built, {"name": "x"})
    assert isinstance(record, _Built) and record.name == "x"
    state = inspect(record)
    assert state.transient and not state.modified


@pytest.mark.parametrize("model", [_OwnInit, _Listened, _InitListened])
def test_new_record_constructs_what_could_observe_construction(model):
    assert new_record(model, {"name": "x"}).name == "X"


def test_new_record_applies_validators_and_refuses_unknown_names():
    client = new_record(Client, {"client_id": "c", "client_secret": "clear"})
    assert client.client_secret.startswith("sha256$")  # the mixin's validator ran
    with pytest.raises(TypeError):
        new_record(_Built, {"name": "x", "nickname": "y"})


@pytest.mark.parametrize("listened", [False, True])
def test_a_directly_built_token_is_stored_whole_either_way(rows, listened):
    """Built without history, the record still inserts every value, on the fast path
    and through the session the listened engine takes."""
    values = {"client_id": "app", "access_token": "built", "scope": "profile",
              "token_type": "Bearer", "issued_at": 7, "expires_in": 60, "user_id": 1}
    record = new_record(Token, values)
    assert not inspect(record).modified
    if listened:
        with _statements_seen(rows):
            RowInserter(Token).insert_committed(rows, record)
    else:
        RowInserter(Token).insert_committed(rows, record)
    assert _detached(record) and record.id is not None
    with rows.connect() as conn:
        stored = conn.execute(select(Token.__table__).where(
            Token.__table__.c.id == record.id)).mappings().one()
    assert {k: stored[k] for k in values} == {**values, "access_token": token_digest("built")}
    assert stored["access_token_revoked_at"] is None and stored["refresh_token"] is None


def test_a_database_that_refuses_connections_raises_sqlalchemys_error(tmp_path):
    """A connection refused at checkout is an OperationalError, as ``engine.connect()``
    would raise it (what a server answers 503 for), not the driver's own."""
    engine = create_engine(f"sqlite:///{tmp_path / 'missing' / 'nowhere.db'}")
    with pytest.raises(OperationalError) as raised:
        create_query_client_func(engine, Client)("app")
    assert isinstance(raised.value, DBAPIError) and raised.value.orig is not None
    with pytest.raises(OperationalError):
        RowInserter(Token).insert_committed(engine, Token(client_id="app", access_token="x"))


# -- the pool's record lent directly (authgate.sqla._driver._Lent) ------------------------
def test_pool_events_fire_and_listeners_that_need_the_proxy_get_it(rows):
    """``checkin`` and ``connect`` listeners still hear every statement's connection;
    a ``checkout`` or ``reset`` listener (which receive the proxy) gets the ordinary
    checkout, and so does a pre-pinging pool."""
    loader = RowLoader(Client, Client.client_id)
    heard: list[str] = []
    for name in ("checkin", "checkout", "reset"):
        def listener(*_args: Any, _name: str = name) -> None:
            heard.append(_name)

        event.listen(rows.pool, name, listener)
        try:
            heard.clear()
            assert loader.load_detached(rows, "app").id == 7
            assert name in heard
        finally:
            event.remove(rows.pool, name, listener)
    assert rows.pool.checkedout() == 0


def test_a_pre_pinging_engine_still_pings(tmp_path):
    pinging = create_engine(f"sqlite:///{tmp_path / 'p.db'}", pool_pre_ping=True)
    pings: list[Any] = []
    original = pinging.dialect.do_ping

    def ping(dbapi_connection: Any) -> bool:
        pings.append(dbapi_connection)
        return original(dbapi_connection)

    pinging.dialect.do_ping = ping  # type: ignore[method-assign]
    try:
        with pinging.begin() as conn:
            conn.execute(text("CREATE TABLE t (x INTEGER)"))
        pings.clear()
        assert Statement(select(literal(0))).read_first(pinging) == (0,)
        assert pings  # checked before use, as the engine asks
    finally:
        pinging.dispose()


def test_lent_connections_return_to_a_one_slot_pool_whatever_happens(engine):
    """A pool of one connection and no overflow serves statement after statement,
    errors included: every connection went back, rolled back."""
    url = engine.url
    small = create_engine(url, pool_size=1, max_overflow=0, pool_timeout=2)
    try:
        if small.dialect.name == "postgresql":
            empty_tables(small)
        _seed(small)
        loader = RowLoader(Client, Client.client_id)
        for _ in range(20):
            assert loader.load_detached(small, "app").id == 7
            with pytest.raises(DBAPIError):
                RowLoader(_Missing, _Missing.name).load_detached(small, "x")
            with pytest.raises(RuntimeError), Pooled(small, write=True) as lent:
                lent.connection.cursor().execute(
                    f"UPDATE {Client.__tablename__} SET client_id_issued_at = 99")
                raise RuntimeError("before the commit")
        assert small.pool.checkedout() == 0
        if small.dialect.name == "sqlite":  # PostgreSQL's ran in autocommit: nothing to undo
            with small.connect() as conn:  # the failed writes were rolled back on return
                issued = conn.execute(select(Client.client_id_issued_at))
                assert 99 not in issued.scalars().all()
    finally:
        small.dispose()


def test_a_recycled_connection_is_replaced_with_its_connect_events(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'r.db'}", pool_recycle=1)
    connects: list[Any] = []
    event.listen(engine, "connect", lambda dbapi_connection, _record:
                 connects.append(dbapi_connection))
    try:
        select_one = Statement(select(literal(1)))
        assert select_one.read_first(engine) == (1,)
        assert select_one.read_first(engine) == (1,)
        assert len(connects) == 1  # the same connection, lent twice
        time.sleep(1.1)
        assert select_one.read_first(engine) == (1,)
        assert len(connects) == 2 and connects[1] is not connects[0]
    finally:
        engine.dispose()
