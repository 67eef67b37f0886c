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
