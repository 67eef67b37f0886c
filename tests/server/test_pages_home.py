"""Home (clients, authorized applications, revoke), consent pages, headers of every page."""

from __future__ import annotations

import time

import pytest

from authgate.server.models import Consent, OAuth2AuthorizationCode, OAuth2Token
from tests.conftest import FrozenClock
from tests.server.conftest import Server, csrf_of
from tests.server.test_oauth2_flows import _authorize_url, _basic, _tokens

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


def _revoke(web, client_id: str, kind: str = "oauth2", token: str | None = None):
    if token is None:
        token = csrf_of(web.get("/").get_data(as_text=True))
    return web.post("/authorizations/revoke", data={"client_id": client_id, "kind": kind,
                                                     "csrf_token": token})


def _live_tokens(server: Server) -> int:
    with server.state.db.session_factory() as session:
        return session.query(OAuth2Token).filter(
            OAuth2Token.access_token_revoked_at.is_(None)).count()


def test_consent_page_names_client_host_and_described_scopes(server: Server) -> None:
    server.user()
    info = server.client("Photo <app>")
    web = server.app.test_client()
    server.login(web)
    html = web.get(_authorize_url(info, "profile email")).get_data(as_text=True)
    assert 'id="client_name">Photo &lt;app&gt;<' in html
    assert 'id="redirect_host">app.example.com<' in html
    assert "<code>profile</code>" in html and "Your username and account id" in html
    assert "<code>email</code>" in html and "e-mail address" in html
    assert 'name="confirm" value="yes"' in html and 'name="confirm" value="no"' in html


def test_revoke_forgets_consent_and_kills_tokens_at_once(server: Server) -> None:
    server.user()
    info = server.client("Photo app")
    web = server.app.test_client()
    server.login(web)
    tokens = _tokens(server, web, info)
    bearer = {"Authorization": "Bearer " + tokens["access_token"]}
    assert web.get("/api/me", headers=bearer).status_code == 200
    home = web.get("/").get_data(as_text=True)
    assert "Photo app" in home and "<code>profile</code>" in home and "<time" in home
    answer = _revoke(web, info["client_id"])
    assert answer.status_code == 303
    assert "Access was revoked" in web.get(answer.headers["Location"]).get_data(as_text=True)
    assert web.get("/api/me", headers=bearer).status_code == 401
    refreshed = web.post("/oauth/token", headers=_basic(info), data={
        "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 400
    assert server.count(Consent) == 0 and _live_tokens(server) == 0
    assert web.get(_authorize_url(info)).status_code == 200  # asks again


def test_revoke_also_drops_unused_codes(server: Server) -> None:
    server.user()
    info = server.client()
    web = server.app.test_client()
    server.login(web)
    _tokens(server, web, info)
    assert web.get(_authorize_url(info)).status_code == 302  # remembered: a code at once
    assert server.count(OAuth2AuthorizationCode) >= 1
    assert _revoke(web, info["client_id"]).status_code == 303
    assert server.count(OAuth2AuthorizationCode) == 0


def test_nobody_can_revoke_someone_elses_consent(server: Server) -> None:
    server.user("alice")
    server.user("mallory")
    info = server.client()
    alice = server.app.test_client()
    server.login(alice, "alice")
    tokens = _tokens(server, alice, info)
    mallory = server.app.test_client()
    server.login(mallory, "mallory")
    before = (server.count(Consent), _live_tokens(server))
    for client_id, kind in ((info["client_id"], "oauth2"), (info["client_id"], "oauth1"),
                            ("nope", "oauth2"), (info["client_id"], "other")):
        answer = _revoke(mallory, client_id, kind)
        assert answer.status_code == 404, answer.get_data(as_text=True)
    assert _revoke(mallory, info["client_id"], token="forged").status_code == 400
    assert alice.post("/authorizations/revoke", data={"client_id": info["client_id"]}
                      ).status_code == 400  # alice herself, without the CSRF token
    assert (server.count(Consent), _live_tokens(server)) == before
    bearer = {"Authorization": "Bearer " + tokens["access_token"]}
    assert alice.get("/api/me", headers=bearer).status_code == 200


def test_device_approval_is_listed_and_revocable(make_server) -> None:
    clock = FrozenClock(time.time())
    server = make_server(AUTHGATE_CLOCK=clock)
    server.user()
    info = server.client("Living-room TV", grant_types=(DEVICE_GRANT,), redirect_uris=())
    web = server.app.test_client()
    started = web.post("/oauth/device", headers=_basic(info), data={"scope": "profile"}
                       ).get_json()
    server.login(web)
    page = web.get("/activate?user_code=" + started["user_code"]).get_data(as_text=True)
    assert f'value="{started["user_code"]}"' in page and '<label for="user_code">' in page
    consent = web.post("/activate", data={"user_code": started["user_code"],
                                          "csrf_token": csrf_of(page)}).get_data(as_text=True)
    assert "Living-room TV" in consent and started["user_code"] in consent
    web.post("/activate", data={"user_code": started["user_code"], "confirm": "yes",
                                "csrf_token": csrf_of(consent)})
    clock.advance(started["interval"] + 1)
    token = web.post("/oauth/token", headers=_basic(info), data={
        "grant_type": DEVICE_GRANT, "device_code": started["device_code"]}).get_json()
    assert "Living-room TV" in web.get("/").get_data(as_text=True)
    assert _revoke(web, info["client_id"]).status_code == 303
    bearer = {"Authorization": "Bearer " + token["access_token"]}
    assert web.get("/api/me", headers=bearer).status_code == 401


def test_unknown_client_is_an_error_page_not_a_redirect(server: Server) -> None:
    server.user()
    web = server.app.test_client()
    server.login(web)
    answer = web.get("/oauth/authorize?response_type=code&client_id=nope&state=s")
    html = answer.get_data(as_text=True)
    assert answer.status_code == 400 and "Location" not in answer.headers
    assert "<h1>This request cannot be completed</h1>" in html and 'id="error"' in html


@pytest.mark.parametrize("path", ["/", "/login", "/signup", "/logout", "/create_client",
                                  "/activate", "/activate?user_code=BCDF-GHJK"])
def test_every_page_carries_the_security_headers(server: Server, path: str) -> None:
    server.user()
    for signed_in in (False, True):
        web = server.app.test_client()
        if signed_in:
            server.login(web)
        answer = web.get(path)
        headers = answer.headers
        assert headers["X-Frame-Options"] == "DENY", path
        assert headers["Referrer-Policy"] == "no-referrer", path
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"], path
        assert headers["Cache-Control"] == "no-store", path
        if answer.status_code == 200:
            html = answer.get_data(as_text=True)
            assert '<html lang="en">' in html and "<main" in html and "<h1>" in html
            assert "<script" not in html and " style=" not in html  # CSP: nothing inline


def test_the_stylesheet_is_served_and_cacheable(server: Server) -> None:
    answer = server.app.test_client().get("/static/authgate.css")
    assert answer.status_code == 200 and answer.mimetype == "text/css"
    assert answer.headers.get("Cache-Control") != "no-store"
    answer.close()


def test_unknown_paths_and_methods_get_an_error_page_or_json(server: Server) -> None:
    web = server.app.test_client()
    answer = web.get("/nowhere")
    assert answer.status_code == 404 and "There is no such page" in answer.get_data(True)
    answer = web.get("/nowhere", headers={"Accept": "application/json"})
    assert answer.status_code == 404 and answer.get_json()["error"] == "not_found"
    answer = web.put("/login")
    assert answer.status_code == 405 and "GET" in answer.headers["Allow"]
