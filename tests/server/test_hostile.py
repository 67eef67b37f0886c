"""Bad input to everything the server adds: refused, and nothing changed."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from authgate.server.models import Consent, OAuth2AuthorizationCode, OAuth2Token, User
from tests.server.conftest import PASSWORD, Server, csrf_of
from tests.server.test_oauth2_flows import REDIRECT, _authorize_url, _basic


def _unchanged(server: Server) -> tuple[int, ...]:
    return tuple(server.count(m) for m in (Consent, OAuth2AuthorizationCode, OAuth2Token, User))


def test_consent_without_csrf_token_is_refused(server: Server) -> None:
    server.user()
    info = server.client()
    web = server.app.test_client()
    server.login(web)
    before = _unchanged(server)
    web.get(_authorize_url(info))
    for data in ({"confirm": "yes"}, {"confirm": "yes", "csrf_token": "forged"}):
        answer = web.post(_authorize_url(info), data=data)
        assert answer.status_code == 400 and "Location" not in answer.headers
    assert _unchanged(server) == before


def test_login_refuses_forged_and_wrong_credentials(server: Server) -> None:
    server.user()
    web = server.app.test_client()
    assert web.post("/login", data={"username": "alice", "password": PASSWORD}).status_code == 400
    page = web.get("/login").get_data(as_text=True)
    for username, password in (("alice", "wrong"), ("nobody", PASSWORD), ("x" * 5000, "y")):
        answer = web.post("/login", data={"username": username, "password": password,
                                          "csrf_token": csrf_of(page)})
        assert answer.status_code == 401
    with web.session_transaction() as session:
        assert "user_id" not in session


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil.example"])
def test_login_never_redirects_off_site(server: Server, target: str) -> None:
    server.user()
    web = server.app.test_client()
    page = web.get("/login?" + urlencode({"next": target})).get_data(as_text=True)
    answer = web.post("/login?" + urlencode({"next": target}), data={
        "username": "alice", "password": PASSWORD, "csrf_token": csrf_of(page)})
    assert answer.status_code == 303 and answer.headers["Location"] == "/"


@pytest.mark.parametrize("change", [
    {"redirect_uri": "https://evil.example/cb"},
    {"redirect_uri": REDIRECT + "/extra"},
    {"client_id": "no-such-client"},
])
def test_unproven_redirects_are_shown_not_followed(server: Server, change: dict) -> None:
    server.user()
    info = server.client()
    web = server.app.test_client()
    server.login(web)
    before = _unchanged(server)
    url = "/oauth/authorize?" + urlencode({"response_type": "code", "client_id": info["client_id"],
                                           "redirect_uri": REDIRECT, "scope": "profile",
                                           "state": "s", **change})
    answer = web.get(url)
    assert answer.status_code == 400 and "Location" not in answer.headers
    assert "evil" not in answer.headers.get("Location", "")
    assert _unchanged(server) == before


def test_unknown_scope_and_missing_pkce_go_back_as_errors(server: Server) -> None:
    server.user()
    public = server.client("pub", auth_method="none")
    web = server.app.test_client()
    server.login(web)
    before = _unchanged(server)
    no_pkce = "/oauth/authorize?" + urlencode({"response_type": "code", "scope": "profile",
                                               "client_id": public["client_id"],
                                               "redirect_uri": REDIRECT, "state": "s"})
    answer = web.get(no_pkce)
    assert answer.status_code == 302 and "error=invalid_request" in answer.headers["Location"]
    answer = web.get(_authorize_url(public, "admin"))
    assert answer.status_code == 302 and "error=invalid_scope" in answer.headers["Location"]
    assert _unchanged(server) == before


def test_token_endpoint_refuses_bad_bodies_and_credentials(server: Server) -> None:
    info = server.client("m", grant_types=("client_credentials",), redirect_uris=())
    web = server.app.test_client()
    before = _unchanged(server)
    form = {"grant_type": "client_credentials"}
    assert web.post("/oauth/token", json=form, headers=_basic(info)).status_code == 400
    wrong = {**info, "client_secret": "not-it"}
    answer = web.post("/oauth/token", data=form, headers=_basic(wrong))
    assert answer.status_code == 401 and answer.get_json()["error"] == "invalid_client"
    answer = web.post("/oauth/token", data={**form, "scope": "admin"}, headers=_basic(info))
    assert answer.get_json()["error"] == "invalid_scope"
    answer = web.post("/oauth/token", data={"grant_type": "client_credentials",
                                            "client_id": info["client_id"]},
                      query_string={"client_secret": info["client_secret"]})
    assert answer.status_code in (400, 401)
    assert _unchanged(server) == before


@pytest.mark.parametrize("header", ["Bearer", "Bearer not a token", "Bearer a.b.c",
                                    "Basic dXNlcjpwYXNz", "Bearer " + "A" * 5000])
def test_api_me_refuses_bad_tokens(server: Server, header: str) -> None:
    answer = server.app.test_client().get("/api/me", headers={"Authorization": header})
    assert answer.status_code == 401 and answer.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_jwt_from_another_key_is_refused(server: Server) -> None:
    from authgate.core.oauth2.jwt import JWTAccessTokenGenerator, KeySet, SigningKey

    forged = JWTAccessTokenGenerator("http://127.0.0.1:4999",
                                     KeySet([SigningKey.generate("ES256")]),
                                     default_audience="http://127.0.0.1:4999")
    token = forged.generate(client_id="x", grant_type="password", user_id="1",
                            scope="profile", expires_in=600)
    answer = server.app.test_client().get("/api/me", headers={"Authorization": "Bearer " + token})
    assert answer.status_code == 401


def test_every_response_carries_the_security_headers(server: Server) -> None:
    web = server.app.test_client()
    for path in ("/", "/login", "/certs", "/health/live", "/nowhere"):
        headers = web.get(path).headers
        assert headers["X-Frame-Options"] == "DENY", path
        assert headers["Referrer-Policy"] == "no-referrer", path
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"], path
        for name in ("X-Frame-Options", "Referrer-Policy", "Content-Security-Policy",
                     "X-Content-Type-Options", "Cache-Control"):
            assert len(headers.getlist(name)) == 1, (path, name)  # never twice
    # A view's own value stays, and is not doubled: the token endpoint sets no-store.
    token = web.post("/oauth/token", data={"grant_type": "client_credentials"})
    assert token.headers.getlist("Cache-Control") == ["no-store"]
    assert token.headers.getlist("Pragma") == ["no-cache"]
    certs = web.get("/certs").headers
    assert certs.getlist("Cache-Control") != ["no-store"] and "Pragma" not in certs
