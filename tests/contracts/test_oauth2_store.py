"""The OAuth 2.0 store contract, run against the memory store, SQLite and PostgreSQL.

Whatever store backs ``create_server``, codes and tokens are found by their
clear value but kept only as digests, and single use holds under concurrency.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from tests.sqla_oauth2.support import (
    REDIRECT,
    MemoryBackend,
    SQLBackend,
    empty_tables,
    oauth_request,
    postgres_engine,
    sqlite_engine,
)

from authgate.core.oauth2.storage import AuthorizationCodeStore, ClientStore, TokenStore, UserStore
from authgate.core.security import token_digest

THREADS = 50


@pytest.fixture(scope="module")
def pg_engine(postgres_url: str) -> Iterator[Any]:
    engine = postgres_engine(postgres_url)
    yield engine
    engine.dispose()


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, clock, tmp_path) -> Iterator[Any]:
    if request.param == "memory":
        yield MemoryBackend(clock)
        return
    if request.param == "sqlite":
        engine = sqlite_engine(tmp_path / "store.db")
    else:
        engine = request.getfixturevalue("pg_engine")
        empty_tables(engine)
    sql = SQLBackend(request.param, engine, clock)
    yield sql
    sql.close()
    if request.param == "sqlite":
        engine.dispose()


@pytest.fixture
def alice(backend) -> Any:
    return backend.add_user("alice", "wonderland")


@pytest.fixture
def client(backend) -> Any:
    client, _secret = backend.add_client(
        client_id="client-1", redirect_uris=[REDIRECT], scope="profile email",
        grant_types=["authorization_code", "refresh_token"])
    return client


def save_code(store, code, client, user, **data) -> Any:
    request = oauth_request(client=client, user=user, scope="profile",
                            redirect_uri=REDIRECT, data={"response_type": "code", **data})
    return store.save_authorization_code(code, request)


def save_token(store, client, user, *, access="at-" + "a" * 40, refresh="rt-" + "r" * 40,
               family="fam-1") -> Any:
    token = {"token_type": "Bearer", "access_token": access, "expires_in": 3600,
             "scope": "profile"}
    if refresh:
        token["refresh_token"] = refresh
    request = oauth_request(client=client, user=user, token_family=family)
    return store.save_token(token, request)


# -- clients and users --------------------------------------------------------------------
def test_implements_every_storage_protocol(backend):
    for protocol in (ClientStore, UserStore, AuthorizationCodeStore, TokenStore):
        assert isinstance(backend.store, protocol)


def test_query_client_and_its_secret(backend):
    _client, secret = backend.add_client(client_id="c-secret")
    found = backend.store.query_client("c-secret")
    assert found.get_client_id() == "c-secret"
    assert found.check_client_secret(secret) and not found.check_client_secret(secret + "x")
    assert backend.store.query_client("nobody") is None


def test_users_by_id_and_by_password(backend, alice):
    store = backend.store
    assert store.get_user(alice.get_user_id()).get_user_id() == alice.get_user_id()
    assert store.get_user(None) is None
    assert store.authenticate_user("alice", "wonderland").get_user_id() == alice.get_user_id()
    assert store.authenticate_user("alice", "wrong") is None
    assert store.authenticate_user("bob", "wonderland") is None


# -- authorization codes ----------------------------------------------------------------------
def test_saved_code_is_found_by_value_and_stored_as_digest(backend, client, alice, clock):
    code = "code-" + "c" * 43
    save_code(backend.store, code, client, alice, code_challenge="x" * 43,
              code_challenge_method="S256", nonce="n-1")
    record = backend.store.query_authorization_code(code, client)
    assert record.get_redirect_uri() == REDIRECT and record.get_scope() == "profile"
    assert record.get_auth_time() == int(clock())
    assert record.user_id == alice.get_user_id()
    assert record.code_challenge == "x" * 43 and record.code_challenge_method == "S256"
    assert record.nonce == "n-1"
    assert backend.stored_codes() == [token_digest(code)]


def test_code_of_another_client_or_unknown_is_none(backend, client, alice):
    other, _ = backend.add_client(client_id="client-2")
    save_code(backend.store, "code-1" * 8, client, alice)
    assert backend.store.query_authorization_code("code-1" * 8, other) is None
    assert backend.store.query_authorization_code("code-2" * 8, client) is None


def test_code_is_consumed_once(backend, client, alice):
    save_code(backend.store, "once" * 12, client, alice)
    record = backend.store.query_authorization_code("once" * 12, client)
    assert backend.store.delete_authorization_code(record) is True
    assert backend.store.delete_authorization_code(record) is False
    assert backend.store.query_authorization_code("once" * 12, client) is None
    assert record.get_scope() == "profile"  # still readable after consumption
    assert backend.stored_codes() == []


# -- tokens ---------------------------------------------------------------------------------
def test_token_found_by_access_and_refresh_and_stored_as_digests(backend, client, alice):
    save_token(backend.store, client, alice, access="A" * 48, refresh="R" * 48)
    store = backend.store
    for value, hint in [("A" * 48, None), ("A" * 48, "refresh_token"), ("R" * 48, None),
                        ("R" * 48, "refresh_token"), ("R" * 48, "access_token")]:
        record = store.query_token(value, hint)
        assert record is not None and record.check_client(client), (value, hint)
    assert store.query_refresh_token("R" * 48).get_family() == "fam-1"
    assert store.query_refresh_token("A" * 48) is None
    assert store.query_token("unknown") is None
    assert backend.stored_tokens() == [(token_digest("A" * 48), token_digest("R" * 48))]


def test_token_record_answers_the_core(backend, client, alice, clock):
    record = save_token(backend.store, client, alice)
    record = backend.store.query_token("at-" + "a" * 40)
    assert record.get_scope() == "profile" and not record.is_revoked()
    assert record.get_expires_at() == int(clock()) + 3600
    assert record.user_id == alice.get_user_id()
    assert record.introspection_claims() == {
        "client_id": "client-1", "token_type": "Bearer", "scope": "profile",
        "iat": int(clock()), "exp": int(clock()) + 3600, "sub": str(alice.get_user_id()),
    }


def test_token_without_user_or_family(backend, client):
    token = {"token_type": "Bearer", "access_token": "cc" * 24, "expires_in": 60}
    backend.store.save_token(token, oauth_request(client=client))
    record = backend.store.query_token("cc" * 24)
    assert record.user_id is None and "sub" not in record.introspection_claims()
    # A token outside any family starts its own, so its descendants stay linked.
    assert record.get_family()


def test_revoke_token_revokes_both(backend, client, alice):
    save_token(backend.store, client, alice)
    backend.store.revoke_token(backend.store.query_token("at-" + "a" * 40))
    assert backend.store.query_token("at-" + "a" * 40).is_revoked()
    assert backend.store.query_refresh_token("rt-" + "r" * 40).is_revoked()


def test_refresh_token_rotates_once(backend, client, alice):
    save_token(backend.store, client, alice)
    record = backend.store.query_refresh_token("rt-" + "r" * 40)
    assert backend.store.rotate_refresh_token(record) is True
    assert backend.store.rotate_refresh_token(record) is False
    again = backend.store.query_refresh_token("rt-" + "r" * 40)
    assert again is not None and again.is_revoked()  # still found: replay is recognisable
    assert backend.store.query_token("at-" + "a" * 40).is_revoked()


def test_family_revocation(backend, client, alice):
    store = backend.store
    save_token(store, client, alice, access="a1" * 24, refresh="r1" * 24, family="fam-A")
    save_token(store, client, alice, access="a2" * 24, refresh="r2" * 24, family="fam-A")
    save_token(store, client, alice, access="a3" * 24, refresh="r3" * 24, family="fam-A")
    save_token(store, client, alice, access="b1" * 24, refresh="s1" * 24, family="fam-B")
    store.revoke_token(store.query_token("a3" * 24))
    assert store.revoke_token_family("fam-A") == 2  # the revoked one is not counted
    assert store.revoke_token_family("fam-A") == 0
    assert store.revoke_token_family("fam-unknown") == 0
    assert all(store.query_token(v * 24).is_revoked() for v in ("a1", "a2", "a3"))
    assert not store.query_token("b1" * 24).is_revoked()


# -- concurrency --------------------------------------------------------------------------------
def race(backend, prepare, act) -> list[bool]:
    """Each thread prepares (looks its record up), all wait, then all act at once."""
    barrier = threading.Barrier(THREADS, timeout=60)

    def worker(_: int) -> bool:
        try:
            record = prepare()
            barrier.wait()
            return bool(act(record))
        finally:
            backend.end_thread()

    with ThreadPoolExecutor(THREADS) as pool:
        return list(pool.map(worker, range(THREADS)))


def test_concurrent_code_consumption_has_one_winner(backend, client, alice):
    code = "race" * 12
    save_code(backend.store, code, client, alice)
    client_id = client.get_client_id()
    store = backend.store

    def prepare() -> Any:
        record = store.query_authorization_code(code, store.query_client(client_id))
        assert record is not None
        release_connection(backend)
        return record

    results = race(backend, prepare, store.delete_authorization_code)
    assert results.count(True) == 1
    assert backend.stored_codes() == []


def test_concurrent_rotation_has_one_winner(backend, client, alice):
    save_token(backend.store, client, alice)
    store = backend.store

    def prepare() -> Any:
        record = store.query_refresh_token("rt-" + "r" * 40)
        assert record is not None and not record.is_revoked()
        release_connection(backend)
        return record

    results = race(backend, prepare, store.rotate_refresh_token)
    assert results.count(True) == 1
    assert store.query_refresh_token("rt-" + "r" * 40).is_revoked()


def release_connection(backend) -> None:
    """End the read transaction so threads at the barrier hold no pooled connection
    (fifty of them would exhaust the pool before anyone reached the barrier)."""
    session = getattr(backend, "session", None)
    if session is not None:
        session.commit()
