"""The seed-style example app, live, driven by requests-oauthlib and Authlib's OAuth 1 clients."""

from __future__ import annotations

import re

import pytest
from authlib.integrations.requests_client import OAuth1Session as AuthlibSession
from requests_oauthlib import OAuth1Session
from sqlalchemy import text

from tests.oauth1.e2e.conftest import CALLBACK, LiveExample


def _session(example: LiveExample, method: str, **kwargs) -> OAuth1Session:
    if method == "RSA-SHA1":
        return OAuth1Session(example.client_id, signature_method=method,
                             rsa_key=example.private_key, **kwargs)
    return OAuth1Session(example.client_id, client_secret=example.client_secret,
                         signature_method=method, **kwargs)


@pytest.mark.parametrize("method", ["HMAC-SHA1", "RSA-SHA1", "PLAINTEXT"])
def test_requests_oauthlib_three_legged_flow(example: LiveExample, method: str) -> None:
    oauth = _session(example, method, callback_uri=CALLBACK)
    temporary = oauth.fetch_request_token(example.base + "/initiate")
    assert temporary["oauth_callback_confirmed"] == "true"

    browser = example.logged_in_browser()
    approved = example.approve(browser, oauth.authorization_url(example.base + "/authorize"))
    assert approved.status_code == 302, approved.text
    assert approved.headers["Location"].startswith(CALLBACK + "?")
    verifier = oauth.parse_authorization_response(approved.headers["Location"])["oauth_verifier"]

    token = oauth.fetch_access_token(example.base + "/token")
    assert len(token["oauth_token"]) == 42 and len(token["oauth_token_secret"]) == 48
    me = oauth.get(example.base + "/user")
    assert me.status_code == 200, me.text
    assert me.json()["username"] == "alice"

    # Replaying the exchange fails: the temporary credential was single use.
    again = _session(example, method, resource_owner_key=temporary["oauth_token"],
                     resource_owner_secret=temporary["oauth_token_secret"],
                     verifier=verifier)
    replay = again.post(example.base + "/token")
    assert replay.status_code == 401, replay.text


def test_authlib_client_three_legged_flow(example: LiveExample) -> None:
    client = AuthlibSession(example.client_id, example.client_secret, redirect_uri=CALLBACK)
    client.fetch_request_token(example.base + "/initiate")
    url = client.create_authorization_url(example.base + "/authorize")
    approved = example.approve(example.logged_in_browser("bob"), url)
    client.parse_authorization_response(approved.headers["Location"])
    client.fetch_access_token(example.base + "/token")
    me = client.get(example.base + "/user")
    assert me.json()["username"] == "bob"


def test_oob_flow_shows_the_verifier(example: LiveExample) -> None:
    oauth = _session(example, "HMAC-SHA1", callback_uri="oob")
    oauth.fetch_request_token(example.base + "/initiate")
    page = example.approve(example.logged_in_browser(),
                           oauth.authorization_url(example.base + "/authorize"))
    assert page.status_code == 200
    verifier = re.search(r'id="oauth_verifier">([^<]+)<', page.text).group(1)
    oauth.fetch_access_token(example.base + "/token", verifier=verifier)
    assert oauth.get(example.base + "/user").status_code == 200


def test_secrets_are_encrypted_at_rest(example: LiveExample) -> None:
    from examples.oauth1_server.models import db

    oauth = _session(example, "HMAC-SHA1", callback_uri=CALLBACK)
    oauth.fetch_request_token(example.base + "/initiate")
    approved = example.approve(example.logged_in_browser(),
                               oauth.authorization_url(example.base + "/authorize"))
    oauth.parse_authorization_response(approved.headers["Location"])
    token = oauth.fetch_access_token(example.base + "/token")
    with example.app.app_context():
        stored_client = db.session.execute(text("SELECT client_secret FROM client")).scalars().all()
        stored_token = db.session.execute(
            text("SELECT oauth_token_secret FROM token_credential")).scalars().all()
    assert example.client_secret not in stored_client
    assert all(value.startswith("ag1.") for value in stored_client + stored_token)
    assert token["oauth_token_secret"] not in stored_token


def test_sqlalchemy_variant_on_postgres(example_on_postgres: LiveExample) -> None:
    test_requests_oauthlib_three_legged_flow(example_on_postgres, "HMAC-SHA1")
