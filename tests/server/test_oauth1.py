"""OAuth 1 temporary credentials and nonces: in the database, or in Redis when configured."""

from __future__ import annotations

from urllib.parse import parse_qs

import pytest
from oauthlib.oauth1 import Client as OAuth1Signer

from authgate.server import admin
from authgate.server.models import OAuth1Nonce, OAuth1TemporaryCredential


def _initiate(server, client: dict, headers: dict | None = None):
    if headers is None:
        signer = OAuth1Signer(client["client_id"], client_secret=client["client_secret"],
                              callback_uri="oob")
        _, headers, _ = signer.sign("http://localhost/oauth1/initiate", http_method="POST")
    return server.app.test_client().post("/oauth1/initiate", headers=headers), headers


@pytest.mark.parametrize("backend", ["database", pytest.param("redis", marks=pytest.mark.redis)])
def test_initiate_and_nonce_replay(make_server, request, backend: str) -> None:
    extra = {}
    if backend == "redis":
        extra = {"AUTHGATE_REDIS_URL": request.getfixturevalue("redis_url"),
                 "AUTHGATE_REDIS_PREFIX": request.getfixturevalue("redis_prefix")}
    server = make_server(**extra)
    with server.app.app_context():
        client = admin.create_oauth1_client("printer", "", None)
    answer, headers = _initiate(server, client)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.mimetype == "application/x-www-form-urlencoded"
    assert parse_qs(answer.get_data(as_text=True))["oauth_callback_confirmed"] == ["true"]
    replay, _ = _initiate(server, client, headers)
    assert replay.status_code == 401
    in_db = 1 if backend == "database" else 0
    assert server.count(OAuth1TemporaryCredential) == in_db
    assert server.count(OAuth1Nonce) == in_db


def test_bad_signatures_store_nothing(server) -> None:
    with server.app.app_context():
        client = admin.create_oauth1_client("printer", "", None)
    forged = {**client, "client_secret": "not-the-secret"}
    answer, _ = _initiate(server, forged)
    assert answer.status_code == 401
    unknown = {**client, "client_id": "nobody-at-all-here"}
    assert _initiate(server, unknown)[0].status_code == 401
    assert server.count(OAuth1TemporaryCredential) == 0 and server.count(OAuth1Nonce) == 0


def test_signed_api_me_follows_the_stored_credential(server) -> None:
    """``/oauth1/api/me`` answers from the credential's row and its user, read together
    on every request: a deleted credential or one without a user is refused at once."""
    from sqlalchemy import delete

    from authgate.server.models import OAuth1TokenCredential

    user = server.user("alice")
    with server.app.app_context(), server.state.db.session_factory() as session:
        client = admin.create_oauth1_client("printer", "", None)
        session.add_all([  # the secrets are encrypted with the app's key
            OAuth1TokenCredential(client_id=client["client_id"], oauth_token="tok-alice",
                                  oauth_token_secret="sec-alice", user_id=user.id),
            OAuth1TokenCredential(client_id=client["client_id"], oauth_token="tok-nobody",
                                  oauth_token_secret="sec-nobody", user_id=None)])
        session.commit()
    web = server.app.test_client()

    def me(token: str, secret: str):
        signer = OAuth1Signer(client["client_id"], client_secret=client["client_secret"],
                              resource_owner_key=token, resource_owner_secret=secret)
        _, headers, _ = signer.sign("http://localhost/oauth1/api/me")
        return web.get("/oauth1/api/me", headers=headers), headers

    answer, headers = me("tok-alice", "sec-alice")
    assert answer.status_code == 200
    assert answer.get_json() == {"username": "alice", "sub": str(user.id)}
    assert web.get("/oauth1/api/me", headers=headers).status_code == 401  # a replayed nonce
    assert me("tok-nobody", "sec-nobody")[0].status_code == 401
    assert me("tok-alice", "wrong-secret")[0].status_code == 401
    with server.state.db.session_factory() as session:
        session.execute(delete(OAuth1TokenCredential).where(
            OAuth1TokenCredential.oauth_token == "tok-alice"))
        session.commit()
    assert me("tok-alice", "sec-alice")[0].status_code == 401
    # A nonce each for the two correctly signed first requests; none for the replay,
    # the wrong secret or the deleted credential.
    assert server.count(OAuth1Nonce) == 2
