"""A view that validates the authorization request and answers in the same call (consent
already given) validates it once; every other answer validates it again."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import flask
import pytest
from tests.support.oauth2 import ISSUER, REDIRECT, World, pkce_pair

from authgate.core.oauth2.stored import grant_classes
from authgate.flask.oauth2 import AuthorizationServer
from authgate.oauth2 import OAuth2Error


@pytest.fixture
def app_and_lookups(clock) -> tuple[flask.Flask, list[str], World]:
    world = World(clock)
    store = world.store
    lookups: list[str] = []

    def query_client(client_id: str) -> Any:
        lookups.append(client_id)
        return store.query_client(client_id)

    app = flask.Flask(__name__)
    app.config.update(OAUTH2_ISSUER=ISSUER, OAUTH2_CLOCK=clock)
    server = AuthorizationServer(app, query_client=query_client, save_token=store.save_token)
    server.register_grant(grant_classes(store).authorization_code)
    users = {"alice": world.user, "bob": world.other_user}

    @app.route("/authorize", methods=["GET", "POST"])
    def authorize() -> Any:
        user = users.get(flask.request.args.get("as", ""))
        try:
            server.get_consent_grant(end_user=user)
        except OAuth2Error as error:
            return server.handle_error_response(error)
        answer = flask.request.args.get("answer")
        if answer == "deny":
            return server.create_authorization_response(grant_user=None)
        if answer == "other-user":  # not the user the grant was validated for
            return server.create_authorization_response(grant_user=users["bob"])
        return server.create_authorization_response(grant_user=user)

    return app, lookups, world


def _query(world: World, **extra: str) -> str:
    _verifier, challenge = pkce_pair()
    return urlencode({"response_type": "code", "client_id": world.confidential.client_id,
                      "redirect_uri": REDIRECT, "scope": "profile", "state": "s",
                      "code_challenge": challenge, "code_challenge_method": "S256",
                      "as": "alice", **extra})


def _code_owner(world: World, location: str) -> Any:
    code = parse_qs(urlsplit(location).query)["code"][0]
    record = world.store.query_authorization_code(code, world.confidential)
    return record.user_id


def test_validated_once_when_answered_in_the_same_call(app_and_lookups) -> None:
    app, lookups, world = app_and_lookups
    answer = app.test_client().get("/authorize?" + _query(world))
    assert answer.status_code == 302 and "code=" in answer.headers["Location"]
    assert lookups == [world.confidential.client_id]
    assert _code_owner(world, answer.headers["Location"]) == world.user.get_user_id()


def test_validated_again_for_a_denial_or_another_user(app_and_lookups) -> None:
    app, lookups, world = app_and_lookups
    web = app.test_client()
    denied = web.get("/authorize?" + _query(world, answer="deny"))
    assert "error=access_denied" in denied.headers["Location"]
    assert len(lookups) == 2
    lookups.clear()
    other = web.get("/authorize?" + _query(world, answer="other-user"))
    assert len(lookups) == 2  # validated afresh, for bob, who gets the code
    assert _code_owner(world, other.headers["Location"]) == world.other_user.get_user_id()


def test_each_request_validates_its_own(app_and_lookups) -> None:
    app, lookups, world = app_and_lookups
    web = app.test_client()
    for _ in range(3):
        assert web.get("/authorize?" + _query(world)).status_code == 302
    assert len(lookups) == 3
