"""The SQLAlchemy mixins and hooks on a SQLite file and on PostgreSQL."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import ForeignKey, Integer, String, create_engine, event, inspect, text
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    mapped_column,
    relationship,
    scoped_session,
    sessionmaker,
)

from authgate.core.oauth1 import SecretCipher
from authgate.sqla.oauth1 import (
    OAuth1ClientMixin,
    OAuth1TemporaryCredentialMixin,
    OAuth1TimestampNonceMixin,
    OAuth1TokenCredentialMixin,
    add_secret_cipher_provider,
    create_exists_nonce_func,
    create_query_client_func,
    create_query_token_func,
    purge_nonces,
    register_temporary_credential_hooks,
    register_token_credential_hooks,
    remove_secret_cipher_provider,
)
from tests.oauth1.harness import FakeUser, RecordingRegistry
from tests.support.concurrency import race


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "o1_user"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(40))


class Client(Base, OAuth1ClientMixin):
    __tablename__ = "o1_client"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)


class TemporaryCredential(Base, OAuth1TemporaryCredentialMixin):
    __tablename__ = "o1_temporary"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("o1_user.id"), nullable=True)


class TokenCredential(Base, OAuth1TokenCredentialMixin):
    __tablename__ = "o1_token"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("o1_user.id"), nullable=True)
    user: Mapped[User | None] = relationship()


class TimestampNonce(Base, OAuth1TimestampNonceMixin):
    __tablename__ = "o1_nonce"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)


CIPHER = SecretCipher("sqla test key")


def _provider() -> SecretCipher:
    return CIPHER


@pytest.fixture(params=["sqlite", "postgres"])
def session_factory(request: pytest.FixtureRequest, tmp_path) -> Iterator[Any]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/oauth1.db"
    else:
        url = request.getfixturevalue("postgres_url")
    engine = create_engine(url)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    add_secret_cipher_provider(_provider)
    factory = scoped_session(sessionmaker(engine))
    with factory() as session:
        session.add(User(id=1, name="alice"))
        session.commit()
    yield factory
    factory.remove()
    remove_secret_cipher_provider(_provider)
    Base.metadata.drop_all(engine)
    engine.dispose()


def test_client_secret_is_encrypted_at_rest(session_factory) -> None:
    session: Session = session_factory()
    session.add(Client(client_id="c1", client_secret="clear-secret",
                       default_redirect_uri="https://c/cb"))
    session.commit()
    raw = session.execute(text("SELECT client_secret FROM o1_client")).scalar_one()
    assert raw.startswith("ag1.") and "clear-secret" not in raw
    session.expunge_all()
    client = create_query_client_func(session, Client)("c1")
    assert client.get_client_secret() == "clear-secret"
    assert "clear-secret" not in repr(client)
    assert create_query_client_func(session, Client)("nobody") is None


def test_nonce_is_recorded_once(session_factory) -> None:
    exists = create_exists_nonce_func(session_factory, TimestampNonce)
    assert exists("n", "100", "c", None) is False
    assert exists("n", "100", "c", None) is True
    assert exists("n", "100", "c", "tok") is False
    assert exists("n", "101", "c", None) is False
    assert purge_nonces(session_factory, TimestampNonce, older_than=101) == 2
    assert exists("n", "100", "c", None) is False


def test_temporary_and_token_credential_hooks(session_factory) -> None:
    registry = RecordingRegistry()
    register_temporary_credential_hooks(registry, session_factory, TemporaryCredential)
    register_token_credential_hooks(registry, session_factory, TokenCredential)
    hooks = registry.hooks
    hooks["create_temporary_credential"](
        {"oauth_token": "t1", "oauth_token_secret": "s1"}, "c1", "https://c/cb")
    raw = session_factory.execute(text("SELECT oauth_token_secret FROM o1_temporary")).scalar_one()
    assert raw.startswith("ag1.")
    credential = hooks["get_temporary_credential"]("t1")
    assert credential.get_oauth_token_secret() == "s1"
    assert hooks["create_authorization_verifier"](credential, FakeUser(1), "v1") is True
    assert hooks["create_authorization_verifier"](credential, FakeUser(1), "v2") is False
    authorized = hooks["get_temporary_credential"]("t1")
    assert authorized.check_verifier("v1") and not authorized.check_verifier("v2")
    stored = session_factory.execute(text("SELECT oauth_verifier FROM o1_temporary")).scalar_one()
    assert stored != "v1"

    assert hooks["delete_temporary_credential"]("t1") is True
    assert hooks["delete_temporary_credential"]("t1") is False
    token = hooks["create_token_credential"]({"oauth_token": "a1", "oauth_token_secret": "as1"},
                                              authorized)
    assert token.user_id == 1
    found = create_query_token_func(session_factory, TokenCredential)("c1", "a1")
    assert found.get_oauth_token_secret() == "as1"
    assert create_query_token_func(session_factory, TokenCredential)("c2", "a1") is None


def test_expired_temporary_credential_is_gone(session_factory) -> None:
    registry = RecordingRegistry()
    register_temporary_credential_hooks(registry, session_factory, TemporaryCredential,
                                        expires=60)
    registry.hooks["create_temporary_credential"](
        {"oauth_token": "old", "oauth_token_secret": "s"}, "c1", "oob")
    session_factory.execute(text("UPDATE o1_temporary SET issued_at = issued_at - 61"))
    session_factory.commit()
    assert registry.hooks["get_temporary_credential"]("old") is None


def test_concurrent_consumption_has_one_winner(session_factory) -> None:
    registry = RecordingRegistry()
    register_temporary_credential_hooks(registry, session_factory, TemporaryCredential)
    token = "race-" + uuid.uuid4().hex
    registry.hooks["create_temporary_credential"](
        {"oauth_token": token, "oauth_token_secret": "s"}, "c1", "oob")
    factory = sessionmaker(session_factory.get_bind())
    wins: list[bool] = []
    barrier = threading.Barrier(4)

    def consume() -> None:
        local = RecordingRegistry()
        with factory() as session:
            register_temporary_credential_hooks(local, session, TemporaryCredential)
            barrier.wait()
            try:
                wins.append(local.hooks["delete_temporary_credential"](token))
            except Exception:  # SQLite may refuse a writer while another holds the lock
                wins.append(False)

    threads = [threading.Thread(target=consume) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wins.count(True) == 1


def _nonce_rows(session: Any) -> int:
    return int(session.execute(text("SELECT count(*) FROM o1_nonce")).scalar_one())


def test_replayed_nonce_is_refused_and_leaves_one_row(session_factory) -> None:
    exists = create_exists_nonce_func(session_factory, TimestampNonce)
    assert exists("replay", "100", "c", "tok") is False
    assert exists("replay", "100", "c", "tok") is True
    assert exists("replay", "100", "c", "tok") is True
    assert _nonce_rows(session_factory) == 1
    session_factory.rollback()
    row = session_factory.execute(
        text("SELECT nonce, timestamp, client_id, oauth_token FROM o1_nonce")).one()
    assert tuple(row) == ("replay", 100, "c", "tok")


def test_concurrent_identical_nonces_have_one_winner(session_factory) -> None:
    factory = sessionmaker(session_factory.get_bind())
    outcomes: list[object] = []
    barrier = threading.Barrier(6)

    def attempt() -> None:
        with factory() as session:
            exists = create_exists_nonce_func(session, TimestampNonce)
            barrier.wait()
            try:
                outcomes.append(exists("race", "100", "c", "tok"))
            except Exception as error:  # SQLite may refuse a writer after its busy timeout
                outcomes.append(error)

    threads = [threading.Thread(target=attempt) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count(False) == 1  # exactly one request is accepted
    assert _nonce_rows(session_factory) == 1


def test_nonce_insert_is_seen_by_cursor_listeners(session_factory) -> None:
    """An engine with cursor events gets the Core statement, so its listeners see it."""
    engine = session_factory.get_bind()
    seen: list[str] = []

    def listen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", listen)
    try:
        exists = create_exists_nonce_func(session_factory, TimestampNonce)
        assert exists("heard", "100", "c", None) is False
        assert exists("heard", "100", "c", None) is True
    finally:
        event.remove(engine, "before_cursor_execute", listen)
    assert sum("INSERT INTO o1_nonce" in statement for statement in seen) == 2
    assert _nonce_rows(session_factory) == 1


class StampedNonce(Base, OAuth1TimestampNonceMixin):
    """A nonce table with a further column filled by a Python-side default."""

    __tablename__ = "o1_stamped_nonce"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    stamp: Mapped[int] = mapped_column(Integer, default=lambda: 42)


def test_nonce_table_with_python_defaults_gets_them(session_factory) -> None:
    exists = create_exists_nonce_func(session_factory, StampedNonce)
    assert exists("d", "100", "c", None) is False
    assert exists("d", "100", "c", None) is True
    stamps = session_factory.execute(text("SELECT stamp FROM o1_stamped_nonce")).scalars()
    assert list(stamps) == [42]


def test_nonce_commit_leaves_the_credential_current(session_factory) -> None:
    """The credential read before the nonce's commit is reloaded by it: the database's
    values, not expired, as an access after an expiring commit would have found them."""
    session: Session = session_factory()
    session.add(TokenCredential(client_id="c1", oauth_token="live", oauth_token_secret="s1",
                                user_id=1))
    session.commit()
    query_token = create_query_token_func(session_factory, TokenCredential)
    exists = create_exists_nonce_func(session_factory, TimestampNonce)
    credential = query_token("c1", "live")
    assert credential.get_oauth_token_secret() == "s1"
    with sessionmaker(session_factory.get_bind())() as other:  # changed meanwhile
        other.get(TokenCredential, credential.id).oauth_token_secret = "s2"
        other.commit()
    statements: list[str] = []
    engine = session_factory.get_bind()

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    assert exists("fresh", "100", "c1", "live") is False
    state = inspect(credential)
    assert not state.expired and "oauth_token_secret" in state.dict
    assert "user" in state.dict  # loaded with it: no lazy load left for the view
    event.listen(engine, "before_cursor_execute", record)
    try:
        assert credential.get_oauth_token_secret() == "s2"
        assert credential.user.name == "alice"
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert statements == []

    # A replay commits nothing of its own and reloads nothing: expire-on-commit holds.
    assert query_token("c1", "live") is credential
    assert exists("fresh", "100", "c1", "live") is True
    assert inspect(credential).expired
    assert credential.get_oauth_token_secret() == "s2"  # the ORM refreshes it on access


def test_nonce_commit_ignores_a_credential_of_an_earlier_transaction(session_factory) -> None:
    session: Session = session_factory()
    session.add(TokenCredential(client_id="c1", oauth_token="old", oauth_token_secret="s1"))
    session.commit()
    credential = create_query_token_func(session_factory, TokenCredential)("c1", "old")
    session.commit()  # the application ends that transaction itself
    assert inspect(credential).expired
    assert create_exists_nonce_func(session_factory, TimestampNonce)("x", "1", "c1", "old") \
        is False
    assert inspect(credential).expired  # not reloaded behind the application's back


def test_session_that_keeps_objects_gets_the_user_with_the_credential(session_factory) -> None:
    """Without expire-on-commit nothing is reloaded, so the lookup brings the user itself."""
    keeping = sessionmaker(session_factory.get_bind(), expire_on_commit=False)()
    try:
        keeping.add(TokenCredential(client_id="c1", oauth_token="kept", oauth_token_secret="s",
                                    user_id=1))
        keeping.commit()
        keeping.expunge_all()
        credential = create_query_token_func(keeping, TokenCredential)("c1", "kept")
        assert create_exists_nonce_func(keeping, TimestampNonce)("k", "1", "c1", "kept") \
            is False
        state = inspect(credential)
        assert not state.expired and "user" in state.dict
        assert credential.user.name == "alice"
        assert create_query_token_func(keeping, TokenCredential)("c1", "nope") is None
    finally:
        keeping.close()


# -- the engine forms: lookups and the nonce outside the application's session ------------
def test_engine_lookups_come_back_detached_with_the_user(session_factory) -> None:
    session: Session = session_factory()
    session.add(Client(client_id="c1", client_secret="clear-secret"))
    session.add(TokenCredential(client_id="c1", oauth_token="live", oauth_token_secret="s1",
                                user_id=1))
    session.add(TokenCredential(client_id="c1", oauth_token="orphan", oauth_token_secret="s2"))
    session.commit()
    engine = session_factory.get_bind()
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    client = create_query_client_func(engine, Client)("c1")
    assert inspect(client).detached and client.get_client_secret() == "clear-secret"
    query_token = create_query_token_func(engine, TokenCredential)
    credential = query_token("c1", "live")
    assert inspect(credential).detached
    event.listen(engine, "before_cursor_execute", record)
    try:  # everything the view reads is there already: no lazy load, no session
        assert credential.get_oauth_token_secret() == "s1"
        assert credential.user.name == "alice"
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert statements == []
    assert query_token("c1", "orphan").user is None
    assert query_token("other-client", "live") is None  # another client's token is not found
    assert query_token("c1", "nope") is None
    assert create_query_client_func(engine, Client)("nobody") is None


@pytest.mark.parametrize("model", [TimestampNonce, StampedNonce])
@pytest.mark.parametrize("listened", [False, True])
def test_engine_nonce_is_recorded_once(session_factory, model: Any, listened: bool) -> None:
    """On the engine's own connections, or through Core where a listener or a Python-side
    default needs it: first use accepted, every replay refused, one row."""
    engine = session_factory.get_bind()
    seen: list[str] = []

    def listen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    if listened:
        event.listen(engine, "before_cursor_execute", listen)
    try:
        exists = create_exists_nonce_func(engine, model)
        assert exists("e", "100", "c", "tok") is False
        assert exists("e", "100", "c", "tok") is True
        assert exists("e", "100", "c", None) is False  # another credential, another nonce
    finally:
        if listened:
            event.remove(engine, "before_cursor_execute", listen)
    table = model.__tablename__
    count = session_factory.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
    assert count == 2
    if listened:
        assert sum(f"INSERT INTO {table}" in statement for statement in seen) == 3


def test_engine_nonce_leaves_the_application_session_alone(session_factory) -> None:
    """The nonce commits by itself: the session's pending work is neither committed
    nor flushed by it, and rolls back as the application decides."""
    session: Session = session_factory()
    session.add(User(id=2, name="pending"))
    exists = create_exists_nonce_func(session_factory.get_bind(), TimestampNonce)
    assert exists("apart", "100", "c", None) is False
    session.rollback()
    assert session.get(User, 2) is None
    assert _nonce_rows(session_factory) == 1


def test_concurrent_identical_nonces_on_the_engine_have_one_winner(session_factory) -> None:
    exists = create_exists_nonce_func(session_factory.get_bind(), TimestampNonce)
    outcomes = race(6, lambda: exists("race", "100", "c", "tok"))
    assert outcomes.count(False) == 1
    assert _nonce_rows(session_factory) == 1


@pytest.mark.parametrize(("make", "model"), [(create_query_client_func, Client),
                                             (create_query_token_func, TokenCredential),
                                             (create_exists_nonce_func, TimestampNonce)])
def test_engine_that_shares_one_connection_is_refused(make: Any, model: Any) -> None:
    """An in-memory SQLite engine would lend the session's own connection out again."""
    from sqlalchemy.pool import StaticPool

    with pytest.raises(ValueError, match="shares one connection"):
        make(create_engine("sqlite://", poolclass=StaticPool), model)
