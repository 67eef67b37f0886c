"""SQLDeviceStore's fast paths on real SQLite and PostgreSQL: what each call sends, and
the ORM fallbacks when a model or session hooks into loading or inserting."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from authgate.core.http import Request
from authgate.core.oauth2.device import PENDING, DeviceCredential
from authgate.server.legacy_devices import legacy_poll
from authgate.sqla.device import DeviceCodeMixin, SQLDeviceStore

from .conftest import ISSUER, Harness, make_harness

NOW = 1_800_000_000.0


class Base(DeclarativeBase):
    pass


class DeviceCode(Base, DeviceCodeMixin):
    __tablename__ = "sql_store_device_code"
    id: Mapped[int] = mapped_column(primary_key=True)


class HookedDeviceCode(Base, DeviceCodeMixin):
    """A model with an insert listener: the store must let the ORM flush it."""

    __tablename__ = "sql_store_hooked_device_code"
    id: Mapped[int] = mapped_column(primary_key=True)
    note: Mapped[str | None] = mapped_column(sa.String(32), default=None)


@sa.event.listens_for(HookedDeviceCode, "before_insert")
def _note_insert(_mapper: Any, _connection: Any, target: HookedDeviceCode) -> None:
    target.note = "hooked"


class OwnCredentialDeviceCode(Base, DeviceCodeMixin):
    """A model with its own ``to_credential``: reads must go through it."""

    __tablename__ = "sql_store_own_device_code"
    id: Mapped[int] = mapped_column(primary_key=True)

    def to_credential(self) -> DeviceCredential:
        return super().to_credential().with_(scope="own " + (self.scope or ""))


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[sa.Engine]:
    url = f"sqlite:///{tmp_path / 'devices.db'}" if request.param == "sqlite" \
        else request.getfixturevalue("postgres_url")
    engine = sa.create_engine(url)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    try:
        yield engine
    finally:
        Base.metadata.drop_all(engine)
        engine.dispose()


@pytest.fixture
def statements(engine: sa.Engine) -> Iterator[list[str]]:
    """The SQL the engine sends, first word upper-cased (SELECT, INSERT, ...)."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement.split(None, 1)[0].upper())

    sa.event.listen(engine, "before_cursor_execute", record)
    yield seen
    sa.event.remove(engine, "before_cursor_execute", record)


def _credential(code_hash: str = "a" * 64, user_code: str = "BCDFGHJK",
                expires_at: float = NOW + 600) -> DeviceCredential:
    return DeviceCredential(device_code_hash=code_hash, user_code=user_code, client_id="tv",
                            scope="profile", expires_at=expires_at, interval=5)


def _store(engine: sa.Engine, model: type[Any]) -> SQLDeviceStore:
    return SQLDeviceStore(sessionmaker(engine, expire_on_commit=False), model)


def test_save_is_one_insert_and_read_gives_the_credential(
        engine: sa.Engine, statements: list[str]) -> None:
    store = _store(engine, DeviceCode)
    assert store.save_device_credential(_credential(), NOW)
    assert statements == ["INSERT"]
    statements.clear()
    found = store.query_device_credential("a" * 64)
    assert statements == ["SELECT"]
    assert found == _credential()
    assert isinstance(found.expires_at, float) and found.status == PENDING
    assert store.query_user_code("BCDFGHJK") == found
    assert store.query_device_credential("b" * 64) is None
    assert store.query_user_code("MNPQRSTV") is None
    with Session(engine) as session:  # the column defaults of the INSERT were applied
        row = session.scalars(sa.select(DeviceCode)).one()
        assert (row.status, row.user_id, row.last_poll) == (PENDING, None, None)


def test_user_code_clash(engine: sa.Engine, statements: list[str]) -> None:
    store = _store(engine, DeviceCode)
    assert store.save_device_credential(_credential(expires_at=NOW - 1), NOW - 700)
    statements.clear()
    # A live holder keeps its user code: no row is deleted.
    assert not store.save_device_credential(_credential("b" * 64), NOW - 2)
    assert "INSERT" in statements
    # An expired holder is deleted only now that the INSERT clashes with it.
    statements.clear()
    assert store.save_device_credential(_credential("c" * 64), NOW)
    assert statements.count("INSERT") == 2 and statements.count("DELETE") == 1
    assert store.query_device_credential("a" * 64) is None
    assert store.query_user_code("BCDFGHJK") == _credential("c" * 64)
    # The same device code twice is refused too (the unique index on its hash).
    assert not store.save_device_credential(_credential("c" * 64, "MNPQRSTV"), NOW)
    assert store.query_user_code("MNPQRSTV") is None


def test_insert_listener_gets_the_orm_flush(engine: sa.Engine) -> None:
    store = _store(engine, HookedDeviceCode)
    assert store.save_device_credential(_credential(), NOW)
    with Session(engine) as session:
        assert session.scalars(sa.select(HookedDeviceCode.note)).one() == "hooked"
    # A clash on the ORM path is still a refusal, and the store still works after it.
    assert not store.save_device_credential(_credential("b" * 64), NOW)
    assert store.query_device_credential("a" * 64) == _credential()


def test_session_flush_listener_gets_the_orm_flush(engine: sa.Engine) -> None:
    flushed: list[int] = []
    factory = sessionmaker(engine, expire_on_commit=False)
    sa.event.listen(factory, "before_flush", lambda session, *_: flushed.append(
        len(session.new)))
    store = SQLDeviceStore(factory, DeviceCode)
    assert store.save_device_credential(_credential(), NOW)
    assert flushed == [1]
    assert store.query_user_code("BCDFGHJK") == _credential()


def test_own_to_credential_is_used(engine: sa.Engine) -> None:
    store = _store(engine, OwnCredentialDeviceCode)
    assert store.save_device_credential(_credential(), NOW)
    assert store.query_device_credential("a" * 64) == _credential().with_(scope="own profile")
    assert store.query_user_code("BCDFGHJK") == _credential().with_(scope="own profile")


# -- how many reads a poll costs ------------------------------------------------------
@pytest.fixture
def harness_over_sql(engine: sa.Engine, clock: Any) -> Harness:
    # Clients and users are in memory: every statement is the device store's.
    return make_harness(clock, devices=_store(engine, DeviceCode))


def test_pending_poll_is_one_read(harness_over_sql: Harness, statements: list[str]) -> None:
    data = harness_over_sql.start()
    statements.clear()
    answer = harness_over_sql.poll(data["device_code"])
    assert answer.json()["error"] == "authorization_pending"
    assert statements == ["SELECT"]


def test_legacy_poll_reads_the_credential_once(harness_over_sql: Harness, clock: Any,
                                               statements: list[str]) -> None:
    """The legacy poll identifies the client by the codes, then checks the same read."""
    harness = harness_over_sql
    data = harness.start()

    def legacy(**headers: str) -> Any:
        request = Request.build("POST", ISSUER + "/oauth/device/authorize", headers=headers,
                                form={"auth_code": data["user_code"],
                                      "device_code": data["device_code"]})
        return legacy_poll(harness.server, harness.flow, request)

    statements.clear()
    assert legacy().json()["error"] == "authorization_pending"
    assert statements == ["SELECT"]
    clock.advance(5)
    statements.clear()
    assert legacy(**harness.basic()).json()["error"] == "authorization_pending"
    assert statements == ["SELECT"]
    # Approved: one read, then the consuming UPDATE; the token is issued once.
    harness.flow.approve(data["user_code"], harness.alice)
    clock.advance(5)
    statements.clear()
    assert legacy().status == 200
    assert statements == ["SELECT", "UPDATE"]
    clock.advance(5)
    assert legacy().json()["error"] == "invalid_grant"


class _CountingFactory(sessionmaker):  # type: ignore[type-arg]
    """A sessionmaker that counts the sessions it makes."""

    made = 0

    def __call__(self, **local_kw: Any) -> Session:
        self.made += 1
        return super().__call__(**local_kw)


class _OwnBindSession(Session):
    """Chooses its bind itself (as Flask-SQLAlchemy's session does)."""

    def get_bind(self, *args: Any, **kwargs: Any) -> Any:
        return super().get_bind(*args, **kwargs)


def test_reads_skip_the_session_only_when_it_would_add_nothing(engine: sa.Engine) -> None:
    plain = _CountingFactory(engine, expire_on_commit=False)
    store = SQLDeviceStore(plain, DeviceCode)
    assert store.save_device_credential(_credential(), NOW)
    made = plain.made
    assert store.query_device_credential("a" * 64) == _credential()
    assert store.query_user_code("BCDFGHJK") == _credential()
    assert store.query_device_credential("b" * 64) is None
    assert plain.made == made  # a pooled connection, no session

    # Sessions that bring something to a read are used for it.
    begun: list[Any] = []
    hooked = _CountingFactory(engine, expire_on_commit=False)
    sa.event.listen(hooked, "after_begin", lambda *args: begun.append(args))
    own_bind = _CountingFactory(engine, class_=_OwnBindSession, expire_on_commit=False)
    several = _CountingFactory(binds={DeviceCode: engine}, expire_on_commit=False)
    executed: list[Any] = []
    watched = _CountingFactory(engine, expire_on_commit=False)
    sa.event.listen(watched, "do_orm_execute", lambda state: executed.append(state.statement))
    for factory in (hooked, own_bind, several, watched):
        other = SQLDeviceStore(factory, DeviceCode)
        assert other.query_device_credential("a" * 64) == _credential()
        assert other.query_user_code("BCDFGHJK") == _credential()
        assert factory.made == 2
    assert len(begun) == 2  # the hook saw both reads' transactions
    assert len(executed) == 2  # and a statement listener both reads


def test_a_sessionless_read_on_postgresql_is_one_statement(engine: sa.Engine) -> None:
    """On PostgreSQL in autocommit: no BEGIN before the SELECT, no ROLLBACK after it,
    and the pooled connection goes back to the engine's own isolation for everything
    else. SQLite (no round trips to save) reads on the engine as it is."""
    postgres = engine.dialect.name == "postgresql"
    store = SQLDeviceStore(sessionmaker(engine, expire_on_commit=False), DeviceCode)
    assert store.save_device_credential(_credential(), NOW)
    seen: list[tuple[str, Any, Any]] = []

    def note(connection: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        driver = connection.connection.dbapi_connection
        seen.append((statement.split()[0], connection.get_execution_options().get(
            "isolation_level"), driver.autocommit if postgres else None))

    sa.event.listen(engine, "before_cursor_execute", note)
    try:
        assert store.query_device_credential("a" * 64) == _credential()
        assert store.query_user_code("BCDFGHJK") == _credential()
        assert store.approve_device_credential(_credential(), "7", NOW)  # a write: a session
    finally:
        sa.event.remove(engine, "before_cursor_execute", note)
    if postgres:
        assert seen == [("SELECT", "AUTOCOMMIT", True), ("SELECT", "AUTOCOMMIT", True),
                        ("UPDATE", None, False)]
        with engine.connect() as connection:
            assert connection.connection.dbapi_connection.autocommit is False
    else:
        assert seen == [("SELECT", None, None), ("SELECT", None, None), ("UPDATE", None, None)]


def test_a_listener_on_every_session_keeps_reads_in_a_session(engine: sa.Engine) -> None:
    store = _store(engine, DeviceCode)
    assert store.save_device_credential(_credential(), NOW)
    begun: list[Any] = []

    def hook(*args: Any) -> None:
        begun.append(args)

    sa.event.listen(Session, "after_begin", hook)
    try:
        assert store.query_device_credential("a" * 64) == _credential()
    finally:
        sa.event.remove(Session, "after_begin", hook)
    assert len(begun) == 1


@pytest.mark.parametrize("where", ["factory", "Session"])
def test_a_listener_added_after_reads_skipped_the_session_is_honoured(
        engine: sa.Engine, where: str) -> None:
    """The listeners are looked up once per session class, but a hook added later
    (on the factory or on every Session) still keeps reads in a session, and
    removing it lets them skip the session again."""
    factory = _CountingFactory(engine, expire_on_commit=False)
    store = SQLDeviceStore(factory, DeviceCode)
    assert store.save_device_credential(_credential(), NOW)
    made = factory.made
    assert store.query_device_credential("a" * 64) == _credential()
    assert factory.made == made  # no session yet
    begun: list[Any] = []

    def hook(*args: Any) -> None:
        begun.append(args)

    target: Any = factory if where == "factory" else Session
    sa.event.listen(target, "after_begin", hook)
    try:
        assert store.query_device_credential("a" * 64) == _credential()
        assert factory.made == made + 1 and len(begun) == 1
    finally:
        sa.event.remove(target, "after_begin", hook)
    assert store.query_device_credential("a" * 64) == _credential()
    assert factory.made == made + 1 and len(begun) == 1  # skipping the session again
