"""``/create_client``: registration from the web page; bad metadata stores nothing."""

from __future__ import annotations

import re

import pytest

from authgate.server.models import AuditEvent, OAuth2Client
from tests.server.conftest import Server, csrf_of

GOOD = {"client_name": "Photo app", "client_uri": "https://photos.example.com/",
        "redirect_uris": "https://photos.example.com/cb\r\nhttp://127.0.0.1/cb\r\n",
        "grant_types": ["authorization_code", "refresh_token"], "response_types": ["code"],
        "scope": "profile email", "token_endpoint_auth_method": "client_secret_basic"}


def _signed_in(server: Server):
    server.user()
    web = server.app.test_client()
    server.login(web)
    return web


def _post(web, **change):
    page = web.get("/create_client")
    assert page.status_code == 200
    data = {**GOOD, **change}
    data = {k: v for k, v in data.items() if v is not None}
    return web.post("/create_client", data={**data, "csrf_token": csrf_of(page.get_data(True))})


def test_registering_a_client_shows_the_secret_once(server: Server) -> None:
    web = _signed_in(server)
    answer = _post(web)
    html = answer.get_data(as_text=True)
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
    client_id = re.search(r'id="client_id">([^<]+)<', html).group(1)
    secret = re.search(r'id="client_secret">([^<]+)<', html).group(1)
    with server.app.app_context():
        client = server.state.db.session.query(OAuth2Client).filter_by(client_id=client_id).one()
        assert client.client_name == "Photo app" and client.check_client_secret(secret)
        assert client.redirect_uris == ["https://photos.example.com/cb", "http://127.0.0.1/cb"]
        assert client.response_types == ["code"] and client.client_uri == GOOD["client_uri"]
        assert client.user_id is not None and secret not in str(client.client_secret)
    home = web.get("/").get_data(as_text=True)
    assert client_id in home and "Photo app" in home and "https://photos.example.com/cb" in home
    assert secret not in home and secret not in web.get("/create_client").get_data(True)
    with server.state.db.session_factory() as session:
        event = session.query(AuditEvent).filter_by(kind="client.registered").one()
        assert secret not in event.detail and event.details["via"] == "web"


def test_a_public_client_gets_no_secret(server: Server) -> None:
    web = _signed_in(server)
    html = _post(web, token_endpoint_auth_method="none").get_data(as_text=True)
    assert 'id="client_id"' in html and 'id="client_secret"' not in html


def test_the_form_has_every_field_labelled(server: Server) -> None:
    web = _signed_in(server)
    html = web.get("/create_client").get_data(as_text=True)
    for name in ("client_name", "client_uri", "redirect_uris", "scope",
                 "token_endpoint_auth_method"):
        assert f'<label for="{name}">' in html and f'name="{name}"' in html
    assert 'name="grant_types" value="authorization_code"' in html
    assert 'name="response_types" value="code"' in html
    implicit = re.search(r'<input[^>]+value="implicit"[^>]*>', html).group(0)
    assert "checked" not in implicit  # only when asked for explicitly


@pytest.mark.parametrize(("change", "field"), [
    ({"client_name": ""}, "client_name"),
    ({"client_name": "x" * 121}, "client_name"),
    ({"client_uri": "javascript:alert(1)"}, "client_uri"),
    ({"redirect_uris": "/relative/cb"}, "redirect_uris"),
    ({"redirect_uris": "http://app.example.com/cb"}, "redirect_uris"),
    ({"redirect_uris": "https://app.example.com/cb#frag"}, "redirect_uris"),
    ({"redirect_uris": "javascript:alert(1)"}, "redirect_uris"),
    ({"redirect_uris": ""}, "redirect_uris"),
    ({"grant_types": None, "response_types": None}, "grant_types"),
    ({"grant_types": ["made_up"]}, "grant_types"),
    ({"grant_types": ["client_credentials"], "response_types": None,
      "token_endpoint_auth_method": "none"}, "grant_types"),
    ({"response_types": ["token"]}, "response_types"),
    ({"grant_types": ["implicit"], "response_types": ["code"]}, "response_types"),
    ({"response_types": ["id_token"]}, "response_types"),
    ({"scope": "profile admin"}, "scope"),
    ({"scope": ""}, "scope"),
    ({"token_endpoint_auth_method": "private_key_jwt_typo"}, "token_endpoint_auth_method"),
])
def test_bad_metadata_is_shown_next_to_its_field_and_nothing_stored(
        server: Server, change: dict, field: str) -> None:
    web = _signed_in(server)
    answer = _post(web, **change)
    html = answer.get_data(as_text=True)
    assert answer.status_code == 400, html
    assert f'id="{field}-error"' in html and "Nothing was registered" in html
    assert 'id="client_secret"' not in html
    assert server.count(OAuth2Client) == 0


def test_implicit_and_password_only_when_ticked(server: Server) -> None:
    web = _signed_in(server)
    answer = _post(web, grant_types=["implicit"], response_types=["token"])
    assert answer.status_code == 200
    with server.app.app_context():
        client = server.state.db.session.query(OAuth2Client).one()
        assert client.grant_types == ["implicit"] and client.response_types == ["token"]


def test_nmos_profile_refuses_implicit_and_password(make_server) -> None:
    server = make_server(AUTHGATE_PROFILE="nmos")
    web = _signed_in(server)
    html = web.get("/create_client").get_data(as_text=True)
    assert 'value="implicit"' not in html and 'value="password"' not in html
    for grants, responses in ((["implicit"], ["token"]), (["password"], None)):
        answer = _post(web, grant_types=grants, response_types=responses, scope="registration")
        assert answer.status_code == 400 and 'id="grant_types-error"' in answer.get_data(True)
    assert server.count(OAuth2Client) == 0


def test_plain_http_redirects_with_insecure_transport(make_server) -> None:
    server = make_server(AUTHGATE_INSECURE_TRANSPORT="1")
    web = _signed_in(server)
    assert _post(web, redirect_uris="http://app.internal/cb").status_code == 200


def test_create_client_refuses_missing_and_forged_csrf(server: Server) -> None:
    web = _signed_in(server)
    web.get("/create_client")
    for extra in ({}, {"csrf_token": "forged"}):
        assert web.post("/create_client", data={**GOOD, **extra}).status_code == 400
    assert server.count(OAuth2Client) == 0


def test_anonymous_posts_register_nothing(server: Server) -> None:
    web = server.app.test_client()
    page = web.get("/login").get_data(as_text=True)
    answer = web.post("/create_client", data={**GOOD, "csrf_token": csrf_of(page)})
    assert answer.status_code == 302 and server.count(OAuth2Client) == 0
