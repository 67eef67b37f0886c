"""Signing keys: encrypted at rest, stable kids, rotation reaching a running server."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from authgate.core.oauth2.jwt import JWTAccessTokenValidator
from authgate.server import admin
from authgate.server.crypto import KeyCipher, KeyDecryptionError
from authgate.server.models import SigningKeyRecord
from tests.conftest import FrozenClock
from tests.server.conftest import Server
from tests.server.test_oauth2_flows import _basic

ISSUER = "http://127.0.0.1:4999"


def _kids(server: Server) -> list[str]:
    return [k["kid"] for k in server.app.test_client().get("/certs").get_json()["keys"]]


def _machine_token(server: Server, info: dict, scope: str = "profile") -> str:
    answer = server.app.test_client().post("/oauth/token", headers=_basic(info), data={
        "grant_type": "client_credentials", "scope": scope})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return answer.get_json()["access_token"]


def _header_kid(token: str) -> str:
    import base64
    import json

    head = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))["kid"]


def test_first_start_makes_one_key_encrypted_at_rest(make_server) -> None:
    server = make_server()
    with server.state.db.session_factory() as session:
        records = list(session.scalars(select(SigningKeyRecord)))
    assert len(records) == 1 and records[0].alg == "ES256"
    assert "PRIVATE KEY" not in records[0].private_pem
    with pytest.raises(KeyDecryptionError):
        KeyCipher("another secret").decrypt(records[0].private_pem, records[0].kid)
    with pytest.raises(KeyDecryptionError):  # bound to its kid
        server.state.cipher.decrypt(records[0].private_pem, "another-kid")
    again = make_server()  # a restart on the same instance folder keeps key and kid
    assert _kids(again) == _kids(server) == [records[0].kid]


def test_rotation_keeps_old_tokens_valid_and_switches_within_a_minute(make_server) -> None:
    clock = FrozenClock(time.time())
    server = make_server(AUTHGATE_CLOCK=clock)
    info = server.client("m", grant_types=("client_credentials",), redirect_uris=())
    old_token = _machine_token(server, info)
    (old_kid,) = _kids(server)

    other_process = make_server(AUTHGATE_CLOCK=clock)  # `authgate rotate-keys` elsewhere
    with other_process.app.app_context():
        new_key, gone = admin.rotate_signing_keys()
    assert gone == []
    clock.advance(1)
    assert _header_kid(_machine_token(server, info)) == old_kid  # not reloaded yet
    clock.advance(60)
    assert set(_kids(server)) == {old_kid, new_key.kid}        # both published
    new_token = _machine_token(server, info)
    assert _header_kid(new_token) == new_key.kid
    validator = JWTAccessTokenValidator(ISSUER, ISSUER, server.state.keys, clock=clock)
    assert validator.validate(old_token).client_id == info["client_id"]
    assert validator.validate(new_token).client_id == info["client_id"]
    bearer = {"Authorization": "Bearer " + old_token}
    assert server.app.test_client().get("/api/me", headers=bearer).status_code == 401  # no user
    # After the old key's last token expired (lifetime + reload interval), it is pruned.
    clock.advance(3600 + 60)
    with other_process.app.app_context():
        _, gone = admin.rotate_signing_keys()
    assert gone == [old_kid]
    server.state.keys.reload()
    assert old_kid not in _kids(server)


def test_nmos_profile_publishes_two_hours_before_signing(make_server) -> None:
    clock = FrozenClock(time.time())
    server = make_server(AUTHGATE_CLOCK=clock, AUTHGATE_PROFILE="nmos",
                         AUTHGATE_JWT_ALG="RS512")
    # IS-10: client credentials only for the registration and events APIs.
    info = server.client("m", grant_types=("client_credentials",), redirect_uris=(),
                         scope="registration")
    (old_kid,) = _kids(server)
    with server.app.app_context():
        new_key, _ = admin.rotate_signing_keys()
    assert new_key.not_before == pytest.approx(clock() + 7200)
    assert set(_kids(server)) == {old_kid, new_key.kid}
    assert _header_kid(_machine_token(server, info, "registration")) == old_kid
    clock.advance(7200)
    server.state.keys.reload()
    token = _machine_token(server, info, "registration")
    assert _header_kid(token) == new_key.kid
    # The NMOS aud is the issuer's host (an IP address has no domain to widen to).
    assert JWTAccessTokenValidator(ISSUER, "127.0.0.1", server.state.keys,
                                   clock=clock).validate(token)
