"""The device flow (RFC 8628) on the server: /oauth/device, /activate, the token endpoint."""

from __future__ import annotations

import time

import pytest

from authgate.server.models import DeviceCode, OAuth2Token
from tests.conftest import FrozenClock
from tests.server.conftest import Server, csrf_of
from tests.server.test_oauth2_flows import _basic

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


def _start(server: Server, web, info: dict) -> dict:
    answer = web.post("/oauth/device", headers=_basic(info), data={"scope": "profile"})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return answer.get_json()


def _poll(web, info: dict, device_code: str):
    return web.post("/oauth/token", headers=_basic(info), data={
        "grant_type": DEVICE_GRANT, "device_code": device_code})


def test_device_flow_end_to_end(make_server) -> None:
    clock = FrozenClock(time.time())
    server = make_server(AUTHGATE_CLOCK=clock)
    server.user()
    info = server.client("tv", grant_types=(DEVICE_GRANT,), redirect_uris=())
    web = server.app.test_client()
    started = _start(server, web, info)
    assert started["verification_uri"] == "http://127.0.0.1:4999/activate"
    assert started["verification_uri_complete"].endswith("user_code=" + started["user_code"])
    assert started["activate_link"] == started["verification_uri"]
    assert _poll(web, info, started["device_code"]).get_json()["error"] == "authorization_pending"

    server.login(web)
    page = web.get("/activate?user_code=" + started["user_code"]).get_data(as_text=True)
    consent = web.post("/activate", data={"user_code": started["user_code"].lower(),
                                          "csrf_token": csrf_of(page)})
    html = consent.get_data(as_text=True)
    assert consent.status_code == 200 and "tv" in html and "profile" in html
    done = web.post("/activate", data={"user_code": started["user_code"], "confirm": "yes",
                                       "csrf_token": csrf_of(html)})
    assert "approved" in done.get_data(as_text=True)
    clock.advance(started["interval"] + 1)
    token = _poll(web, info, started["device_code"])
    assert token.status_code == 200, token.get_data(as_text=True)
    bearer = {"Authorization": "Bearer " + token.get_json()["access_token"]}
    assert web.get("/api/me", headers=bearer).get_json()["username"] == "alice"
    clock.advance(started["interval"] + 1)
    assert _poll(web, info, started["device_code"]).status_code == 400  # single use


def test_wrong_user_codes_change_nothing(server: Server) -> None:
    server.user()
    info = server.client("tv", grant_types=(DEVICE_GRANT,), redirect_uris=())
    web = server.app.test_client()
    started = _start(server, web, info)
    server.login(web)
    page = web.get("/activate").get_data(as_text=True)
    for code in ("BCDF-GHJK", "", "x" * 500, "<script>"):
        answer = web.post("/activate", data={"user_code": code, "confirm": "yes",
                                             "csrf_token": csrf_of(page)})
        assert answer.status_code in (400, 429)
    assert server.count(OAuth2Token) == 0
    assert _poll(web, info, started["device_code"]).get_json()["error"] in (
        "authorization_pending", "slow_down")
    assert server.count(DeviceCode) == 1


def test_metadata_lists_the_device_endpoint(server: Server) -> None:
    doc = server.app.test_client().get("/.well-known/oauth-authorization-server").get_json()
    assert doc["device_authorization_endpoint"] == "http://127.0.0.1:4999/oauth/device"
    assert DEVICE_GRANT in doc["grant_types_supported"]


def test_polling_interval_is_a_setting(make_server) -> None:
    """AUTHGATE_DEVICE_INTERVAL is the interval devices are given, and what the token
    endpoint holds them to: 0 lets every poll through to authorization_pending."""
    clock = FrozenClock(time.time())
    for interval, second_poll in ((0, "authorization_pending"), (7, "slow_down")):
        server = make_server(AUTHGATE_CLOCK=clock, AUTHGATE_DEVICE_INTERVAL=str(interval))
        info = server.client("tv", grant_types=(DEVICE_GRANT,), redirect_uris=())
        web = server.app.test_client()
        started = _start(server, web, info)
        assert started["interval"] == interval
        assert _poll(web, info, started["device_code"]).get_json()["error"] == \
            "authorization_pending"
        assert _poll(web, info, started["device_code"]).get_json()["error"] == second_poll


def test_polling_interval_must_be_whole_seconds(make_server) -> None:
    for bad in ("-1", "2.5", "soon"):
        with pytest.raises(ValueError, match="AUTHGATE_DEVICE_INTERVAL"):
            make_server(AUTHGATE_DEVICE_INTERVAL=bad)
