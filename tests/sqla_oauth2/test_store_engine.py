"""``SQLAlchemyStore(..., engine=)``: the token endpoint's side out of the session.

The flows themselves run in both forms in ``test_flows.py``; here is what the
engine form promises besides: the token endpoint opens no session
transaction, never holds one connection while it waits for another (a pool of
one connection serves every grant), and hands out detached records.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import create_engine, event, inspect
from sqlalchemy.pool import StaticPool

from authgate.core.http import Request
from authgate.core.security import token_digest
from authgate.sqla.oauth2 import SQLAlchemyStore
from tests.sqla_oauth2.support import (
    ISSUER,
    REDIRECT,
    AuthorizationCode,
    Base,
    Client,
    SQLBackend,
    Token,
    User,
    basic,
    oauth_request,
)
from tests.sqla_oauth2.test_flows import World


@pytest.fixture
def one_connection(engine) -> Iterator[Any]:
    """The test's database behind a pool of exactly one connection, and a short wait:
    anything that holds a connection while asking for another times out."""
    url = engine.url.render_as_string(hide_password=False)
    args = {"timeout": 30} if engine.dialect.name == "sqlite" else {}
    narrow = create_engine(url, pool_size=1, max_overflow=0, pool_timeout=3,
                           connect_args=args)
    Base.metadata.create_all(narrow)
    yield narrow
    narrow.dispose()


@pytest.fixture
def world(one_connection, clock) -> Iterator[World]:
    backend = SQLBackend(one_connection.dialect.name, one_connection, clock, on_engine=True)
    yield World(backend, clock)
    backend.close()


def _session_transactions(world: World) -> list[Any]:
    begun: list[Any] = []
    event.listen(world.sql.session.session_factory, "after_begin",
                 lambda session, transaction, connection: begun.append(connection))
    return begun


def test_every_grant_runs_on_a_pool_of_one_connection(world):
    code, verifier = world.authorize()
    world.sql.end_thread()  # the application's session lets its connection go
    first = world.redeem(code, verifier)
    assert first.status == 200, first.body
    renewed = world.token({"grant_type": "refresh_token",
                           "refresh_token": first.json()["refresh_token"]}, "pub")
    assert renewed.status == 200, renewed.body
    password = world.token({"grant_type": "password", "username": "alice",
                            "password": "wonderland"})
    assert password.status == 200, password.body
    machine = world.token({"grant_type": "client_credentials", "scope": "email"})
    assert machine.status == 200, machine.body


def test_the_token_endpoint_begins_no_session_transaction(world):
    code, verifier = world.authorize()
    world.sql.end_thread()
    begun = _session_transactions(world)
    first = world.redeem(code, verifier)
    assert first.status == 200, first.body
    refreshed = world.token({"grant_type": "refresh_token",
                             "refresh_token": first.json()["refresh_token"]}, "pub")
    assert refreshed.status == 200, refreshed.body
    replayed = world.redeem(code, verifier)
    assert replayed.status == 400 and replayed.json()["error"] == "invalid_grant"
    assert begun == []


def test_refused_exchanges_on_the_engine_change_nothing(world):
    """A wrong client secret, another client's code, an unknown code or refresh token:
    each refused with the RFC's error, and the code is still there, unspent, with no
    token written."""
    code, verifier = world.authorize(client_id="conf")
    exchange = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
                "code_verifier": verifier}
    world.sql.end_thread()
    wrong_secret = world.server.create_token_response(Request.build(
        "POST", ISSUER + "/token", headers=basic("conf", "not-the-secret"), form=exchange))
    assert wrong_secret.status == 401 and wrong_secret.json()["error"] == "invalid_client"
    stolen = world.redeem(code, verifier, "pub")  # the public client presents conf's code
    assert stolen.status == 400 and stolen.json()["error"] == "invalid_grant"
    unknown = world.token({**exchange, "code": "no-such-code"})
    assert unknown.status == 400 and unknown.json()["error"] == "invalid_grant"
    refresh = world.token({"grant_type": "refresh_token", "refresh_token": "no-such-token"})
    assert refresh.status == 400 and refresh.json()["error"] == "invalid_grant"
    assert world.sql.stored_codes() == [token_digest(code)]
    assert world.count(Token) == 0
    assert world.token(exchange).status == 200  # still good for its own client


def test_records_come_back_detached_and_whole(world):
    code, _verifier = world.authorize()
    user_id = world.user.id
    world.sql.end_thread()
    store = world.sql.store
    public, confidential = store.query_client("pub"), store.query_client("conf")
    assert inspect(public).detached and public.client_id == "pub"
    found = store.query_authorization_code(code, public)
    assert found is not None and inspect(found).detached
    assert found.client_id == "pub" and found.user_id == user_id  # loaded, no session
    user = store.get_user(found.user_id)
    assert inspect(user).detached and user.username == "alice"
    assert store.query_authorization_code(code, confidential) is None  # another's code
    assert store.delete_authorization_code(found) is True
    assert store.delete_authorization_code(found) is False  # spent once only
    assert store.get_user(None) is None


def test_before_commit_keeps_the_token_in_the_session(world):
    """``before_commit`` writes through the session: the token goes that way too."""
    store = world.sql.store
    world.sql.end_thread()
    request = oauth_request(client=store.query_client("conf"), user=None,
                            data={"grant_type": "client_credentials", "scope": "email"})
    token = {"access_token": "an-access-token-of-forty-characters-or-so", "token_type": "Bearer",
             "expires_in": 60, "scope": "email"}
    begun = _session_transactions(world)
    alone = store.save_token(token, request)  # on the engine: no session transaction
    assert begun == [] and inspect(alone).detached
    seen: list[Any] = []
    saved = store.save_token({**token, "access_token": "another-" + token["access_token"]},
                             request, before_commit=seen.append)
    assert seen == [saved] and len(begun) == 1 and inspect(saved).persistent
    world.sql.end_thread()
    assert world.count(Token) == 2


def test_a_shared_connection_pool_is_refused():
    engine = create_engine("sqlite://", poolclass=StaticPool)
    with pytest.raises(ValueError, match="StaticPool"):
        SQLAlchemyStore(object(), Client, Token, AuthorizationCode, User,  # type: ignore[arg-type]
                        engine=engine)
