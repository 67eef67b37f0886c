"""The legacy flask-oauth2-devices poll at /oauth/device/authorize, on the one device engine."""

from __future__ import annotations

import time

import pytest

from authgate.server.models import AuditEvent, DeviceCode, OAuth2Token, User
from tests.conftest import FrozenClock
from tests.server.conftest import Server
from tests.server.test_devices import DEVICE_GRANT, _poll, _start
from tests.server.test_oauth2_flows import _basic


def _legacy(web, started: dict, headers: dict | None = None, **extra: str):
    return web.post("/oauth/device/authorize", headers=headers or {}, data={
        "auth_code": started["user_code"], "device_code": started["device_code"], **extra})


def _approve(server: Server, user_code: str) -> None:
    with server.app.app_context():
        user = server.state.db.session.query(User).one()
        server.state.oauth2.devices.approve(user_code, user)


@pytest.fixture
def device(make_server):
    clock = FrozenClock(time.time())
    server = make_server(AUTHGATE_CLOCK=clock)
    server.user()
    info = server.client("tv", grant_types=(DEVICE_GRANT,), redirect_uris=())
    web = server.app.test_client()
    started = _start(server, web, info)
    return server, clock, info, web, started


def test_legacy_poll_answers_with_rfc_semantics(device) -> None:
    server, clock, info, web, started = device
    assert started["authorize_link"] == "http://127.0.0.1:4999/oauth/device/authorize"
    assert _legacy(web, started).get_json()["error"] == "authorization_pending"
    slow = _legacy(web, started)  # at once again: too fast
    assert slow.status_code == 400 and slow.get_json()["error"] == "slow_down"
    # The pace is the engine's: the RFC token endpoint sees the same slow_down.
    assert _poll(web, info, started["device_code"]).get_json()["error"] == "slow_down"
    _approve(server, started["user_code"])
    clock.advance(60)
    token = _legacy(web, {**started, "user_code": started["user_code"].lower().replace("-", "")})
    assert token.status_code == 200, token.get_data(as_text=True)
    body = token.get_json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600 and body["access_token"]
    assert token.headers["Cache-Control"] == "no-store"
    me = web.get("/api/me", headers={"Authorization": "Bearer " + body["access_token"]})
    assert me.get_json()["username"] == "alice"
    clock.advance(60)
    assert _legacy(web, started).get_json()["error"] == "invalid_grant"          # single use
    assert _poll(web, info, started["device_code"]).get_json()["error"] == "invalid_grant"
    with server.state.db.session_factory() as session:
        assert session.query(OAuth2Token).count() == 1
        assert session.query(AuditEvent).filter_by(kind="token.issued").count() == 1


def test_legacy_poll_with_client_credentials_and_denial_and_expiry(device) -> None:
    server, clock, info, web, started = device
    assert _legacy(web, started, _basic(info)).get_json()["error"] == "authorization_pending"
    wrong = _legacy(web, started, _basic({**info, "client_secret": "nope"}))
    assert wrong.status_code == 401 and wrong.get_json()["error"] == "invalid_client"
    with server.app.app_context():
        server.state.oauth2.devices.deny(started["user_code"])
    clock.advance(60)
    assert _legacy(web, started).get_json()["error"] == "access_denied"
    second = _start(server, web, info)
    clock.advance(3600)
    assert _legacy(web, second).get_json()["error"] == "expired_token"


@pytest.mark.parametrize("form", [
    {},
    {"auth_code": "BCDF-GHJK"},
    {"device_code": "x"},
    {"auth_code": "BCDF-GHJK", "device_code": "not-a-code"},
    {"auth_code": "<script>", "device_code": "x" * 5000},
])
def test_hostile_legacy_polls_change_nothing(device, form) -> None:
    server, _, _, web, started = device
    answer = web.post("/oauth/device/authorize", data=form)
    assert answer.status_code == 400
    assert answer.get_json()["error"] in {"invalid_request", "invalid_grant"}
    # Someone else's device code with a wrong user code is no better.
    swapped = web.post("/oauth/device/authorize", data={
        "auth_code": "BCDF-GHJK", "device_code": started["device_code"]})
    assert swapped.get_json()["error"] == "invalid_grant"
    assert web.post("/oauth/device/authorize", json={"auth_code": "a"}).status_code == 400
    assert server.count(OAuth2Token) == 0 and server.count(DeviceCode) == 1
    with server.state.db.session_factory() as session:
        assert session.query(DeviceCode).one().status == "pending"
