"""Whole flows through the core server backed by ``SQLAlchemyStore`` on real databases."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from sqlalchemy import func, select

from authgate.core.http import Request, Response
from authgate.core.oauth2.config import ServerConfig
from authgate.core.oauth2.resource import ResourceProtector
from authgate.core.oauth2.stored import create_server
from authgate.core.security import token_digest
from authgate.sqla.oauth2 import create_bearer_token_validator
from tests.sqla_oauth2.support import (
    ISSUER,
    REDIRECT,
    AuthorizationCode,
    SQLBackend,
    Token,
    basic,
    pkce_pair,
)
from tests.support.concurrency import race

THREADS = 50


class World:
    """A server on the store, a confidential and a public client, one user."""

    def __init__(self, sql: SQLBackend, clock) -> None:
        self.sql = sql
        self.clock = clock
        self.server = create_server(sql.store, ServerConfig(issuer=ISSUER, clock=clock))
        self.user = sql.add_user("alice", "wonderland")
        self.confidential, self.secret = sql.add_client(
            client_id="conf", redirect_uris=[REDIRECT], scope="profile email",
            grant_types=["authorization_code", "refresh_token", "password",
                         "client_credentials"])
        self.public, _ = sql.add_client(
            secret=False, client_id="pub", redirect_uris=[REDIRECT], scope="profile",
            grant_types=["authorization_code", "refresh_token"])
        self.protector = ResourceProtector()
        validator = create_bearer_token_validator(sql.session, Token)
        self.protector.register_token_validator(validator(clock=clock))

    def token(self, data: dict[str, str], client_id: str = "conf") -> Response:
        headers = basic(client_id, self.secret) if client_id == "conf" else {}
        if client_id != "conf":
            data = {**data, "client_id": client_id}
        request = Request.build("POST", ISSUER + "/token", headers=headers, form=data)
        return self.server.create_token_response(request)

    def authorize(self, client_id: str = "pub", **extra: str) -> tuple[str, str]:
        """Consent and approve; returns the code and the PKCE verifier."""
        verifier, challenge = pkce_pair()
        params = {"response_type": "code", "client_id": client_id, "redirect_uri": REDIRECT,
                  "scope": "profile", "state": "s-1", "code_challenge": challenge,
                  "code_challenge_method": "S256", **extra}
        request = Request.build("GET", ISSUER + "/authorize?" + urlencode(params))
        grant = self.server.get_consent_grant(request, end_user=self.user)
        assert grant.client.get_client_id() == client_id
        response = self.server.create_authorization_response(request, grant_user=self.user)
        assert response.status == 302, response.body
        query = parse_qs(urlsplit(response.header("Location") or "").query)
        assert query["state"] == ["s-1"] and query["iss"] == [ISSUER]
        return query["code"][0], verifier

    def redeem(self, code: str, verifier: str, client_id: str = "pub") -> Response:
        return self.token({"grant_type": "authorization_code", "code": code,
                           "redirect_uri": REDIRECT, "code_verifier": verifier}, client_id)

    def resource_status(self, access_token: str, scope: str | None = None) -> int:
        request = Request.build("GET", ISSUER + "/api",
                                headers={"Authorization": "Bearer " + access_token})
        try:
            self.protector.validate_request(scope, request)
        except Exception as error:
            return int(getattr(error, "status", 500))
        return 200

    def introspect(self, token: str) -> dict[str, Any]:
        request = Request.build("POST", ISSUER + "/introspect", headers=basic("conf", self.secret),
                                form={"token": token})
        response = self.server.create_endpoint_response("introspection", request)
        assert response.status == 200
        return dict(response.json())

    def count(self, model: type[Any]) -> int:
        with self.sql.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(model)).scalar_one())


@pytest.fixture(params=["session", "engine"])
def world(request: pytest.FixtureRequest, engine, clock) -> Iterator[World]:
    """The store on the session, or with its token-endpoint side on the engine
    (``SQLAlchemyStore(..., engine=)``): every flow must behave the same."""
    backend = SQLBackend(engine.dialect.name, engine, clock,
                         on_engine=request.param == "engine")
    yield World(backend, clock)
    backend.close()


def test_client_credentials(world):
    resp = world.token({"grant_type": "client_credentials", "scope": "email"})
    assert resp.status == 200, resp.body
    body = resp.json()
    assert "refresh_token" not in body and body["scope"] == "email"
    claims = world.introspect(body["access_token"])
    assert claims["active"] is True and claims["client_id"] == "conf" and "sub" not in claims
    assert world.resource_status(body["access_token"], "email") == 200
    assert world.resource_status(body["access_token"], "profile") == 403


def test_password_grant(world):
    resp = world.token({"grant_type": "password", "username": "alice",
                        "password": "wonderland", "scope": "profile"})
    assert resp.status == 200, resp.body
    body = resp.json()
    assert body["refresh_token"]
    assert world.introspect(body["access_token"])["sub"] == str(world.user.id)
    bad = world.token({"grant_type": "password", "username": "alice", "password": "nope"})
    assert bad.status == 400 and bad.json()["error"] == "invalid_grant"


def test_authorization_code_with_pkce_stores_only_digests(world):
    code, verifier = world.authorize()
    assert world.sql.stored_codes() == [token_digest(code)]
    resp = world.redeem(code, verifier)
    assert resp.status == 200, resp.body
    body = resp.json()
    assert world.count(AuthorizationCode) == 0
    assert world.sql.stored_tokens() == [(token_digest(body["access_token"]),
                                          token_digest(body["refresh_token"]))]
    assert world.resource_status(body["access_token"], "profile") == 200


def test_wrong_verifier_is_refused(world):
    code, _verifier = world.authorize()
    resp = world.redeem(code, pkce_pair()[0])
    assert resp.status == 400 and resp.json()["error"] == "invalid_grant"


def test_expired_code_is_refused(world):
    code, verifier = world.authorize()
    world.clock.advance(world.server.config.authorization_code_expires_in + 1)
    resp = world.redeem(code, verifier)
    assert resp.status == 400 and resp.json()["error"] == "invalid_grant"


def test_code_replay_revokes_the_tokens_of_its_first_use(world):
    code, verifier = world.authorize()
    first = world.redeem(code, verifier).json()
    assert world.resource_status(first["access_token"]) == 200
    again = world.redeem(code, verifier)
    assert again.status == 400 and again.json()["error"] == "invalid_grant"
    assert world.resource_status(first["access_token"]) == 401
    refresh = world.token({"grant_type": "refresh_token",
                           "refresh_token": first["refresh_token"]}, "pub")
    assert refresh.status == 400


def test_refresh_rotates_and_replay_revokes_the_family(world):
    code, verifier = world.authorize()
    first = world.redeem(code, verifier).json()
    second = world.token({"grant_type": "refresh_token",
                          "refresh_token": first["refresh_token"]}, "pub")
    assert second.status == 200, second.body
    second_body = second.json()
    assert second_body["refresh_token"] != first["refresh_token"]
    assert world.resource_status(first["access_token"]) == 401  # retired with its refresh
    assert world.resource_status(second_body["access_token"]) == 200

    replay = world.token({"grant_type": "refresh_token",
                          "refresh_token": first["refresh_token"]}, "pub")
    assert replay.status == 400 and replay.json()["error"] == "invalid_grant"
    assert world.resource_status(second_body["access_token"]) == 401
    third = world.token({"grant_type": "refresh_token",
                         "refresh_token": second_body["refresh_token"]}, "pub")
    assert third.status == 400


def test_revocation_endpoint_revokes_the_pair(world):
    body = world.token({"grant_type": "password", "username": "alice",
                        "password": "wonderland"}).json()
    request = Request.build("POST", ISSUER + "/revoke", headers=basic("conf", world.secret),
                            form={"token": body["refresh_token"],
                                  "token_type_hint": "refresh_token"})
    assert world.server.create_endpoint_response("revocation", request).status == 200
    assert world.introspect(body["access_token"]) == {"active": False}
    assert world.resource_status(body["access_token"]) == 401


def test_fifty_concurrent_redemptions_of_one_code_get_one_token(world):
    code, verifier = world.authorize()

    def redeem() -> int:
        try:
            return world.redeem(code, verifier).status
        finally:
            world.sql.end_thread()

    statuses = race(THREADS, redeem)
    assert statuses.count(200) == 1, statuses
    assert set(statuses) == {200, 400}
    assert world.count(AuthorizationCode) == 0


def test_fifty_concurrent_refreshes_of_one_token_get_one_token(world):
    body = world.token({"grant_type": "password", "username": "alice",
                        "password": "wonderland"}).json()
    tokens_before = world.count(Token)

    def refresh() -> int:
        try:
            return world.token({"grant_type": "refresh_token",
                                "refresh_token": body["refresh_token"]}).status
        finally:
            world.sql.end_thread()

    statuses = race(THREADS, refresh)
    assert statuses.count(200) == 1, statuses
    assert set(statuses) == {200, 400}
    assert world.count(Token) == tokens_before + 1
