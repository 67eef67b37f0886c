"""OAuth 2 through the app's test client: consent, tokens, refresh, revocation, /api/me."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs, urlencode, urlsplit

from authgate.core.oauth2.jwt import JWTAccessTokenValidator
from authgate.oauth2 import create_s256_code_challenge
from authgate.server.models import AuditEvent, Consent, OAuth2AuthorizationCode, OAuth2Token
from tests.server.conftest import PASSWORD, Server, csrf_of

VERIFIER = "v" * 64
REDIRECT = "https://app.example.com/cb"


def _basic(info: dict) -> dict[str, str]:
    raw = f"{info['client_id']}:{info['client_secret']}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def _authorize_url(info: dict, scope: str = "profile", **extra: str) -> str:
    query = {"response_type": "code", "client_id": info["client_id"], "scope": scope,
             "redirect_uri": REDIRECT, "state": "st-1",
             "code_challenge": create_s256_code_challenge(VERIFIER),
             "code_challenge_method": "S256", **extra}
    return "/oauth/authorize?" + urlencode(query)


def _consent(web, url: str, confirm: str = "yes"):
    page = web.get(url)
    assert page.status_code == 200, page.get_data(as_text=True)
    return web.post(url, data={"confirm": confirm, "csrf_token": csrf_of(page.get_data(True))})


def _code_from(location: str) -> str:
    params = parse_qs(urlsplit(location).query)
    assert params["iss"] == ["http://127.0.0.1:4999"] and params["state"] == ["st-1"]
    return params["code"][0]


def _redeem(web, info: dict, code: str):
    return web.post("/oauth/token", headers=_basic(info), data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
        "code_verifier": VERIFIER})


def _tokens(server: Server, web, info: dict, scope: str = "profile") -> dict:
    answer = _consent(web, _authorize_url(info, scope))
    assert answer.status_code == 302
    tokens = _redeem(web, info, _code_from(answer.headers["Location"]))
    assert tokens.status_code == 200, tokens.get_data(as_text=True)
    assert tokens.headers["Cache-Control"] == "no-store"
    return tokens.get_json()


def test_code_flow_issues_a_jwt_and_a_rotating_refresh_token(server: Server) -> None:
    server.user()
    info = server.client()
    web = server.app.test_client()
    server.login(web)
    page = web.get(_authorize_url(info, "profile email"))
    html = page.get_data(as_text=True)
    assert "app" in html and "app.example.com" in html and "email" in html
    assert page.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    tokens = _redeem(web, info, _code_from(_consent(web, _authorize_url(info)).headers["Location"]))
    body = tokens.get_json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    assert len(body["refresh_token"]) >= 40
    with server.app.app_context():
        claims = JWTAccessTokenValidator("http://127.0.0.1:4999", "http://127.0.0.1:4999",
                                         server.state.keys).validate(body["access_token"])
    assert claims.client_id == info["client_id"] and claims.scope == "profile"
    me = web.get("/api/me", headers={"Authorization": "Bearer " + body["access_token"]})
    assert me.get_json() == {"username": "alice", "sub": claims.sub}

    refreshed = web.post("/oauth/token", headers=_basic(info), data={
        "grant_type": "refresh_token", "refresh_token": body["refresh_token"]}).get_json()
    assert refreshed["refresh_token"] != body["refresh_token"]
    replay = web.post("/oauth/token", headers=_basic(info), data={
        "grant_type": "refresh_token", "refresh_token": body["refresh_token"]})
    assert replay.status_code == 400 and replay.get_json()["error"] == "invalid_grant"
    kinds = {e.kind for e in _events(server)}
    assert {"authorization.granted", "token.issued", "user.login"} <= kinds


def _events(server: Server) -> list[AuditEvent]:
    from sqlalchemy import select

    with server.state.db.session_factory() as session:
        return list(session.scalars(select(AuditEvent)))


def test_consent_is_remembered_until_new_scopes_or_prompt(server: Server) -> None:
    server.user()
    info = server.client()
    web = server.app.test_client()
    server.login(web)
    assert _consent(web, _authorize_url(info)).status_code == 302
    again = web.get(_authorize_url(info))
    assert again.status_code == 302 and "code=" in again.headers["Location"]
    assert web.get(_authorize_url(info, "profile email")).status_code == 200  # a new scope
    assert web.get(_authorize_url(info, prompt="consent")).status_code == 200
    assert server.count(Consent) == 1


def test_denial_redirects_access_denied_and_issues_nothing(server: Server) -> None:
    server.user()
    info = server.client()
    web = server.app.test_client()
    server.login(web)
    answer = _consent(web, _authorize_url(info), confirm="no")
    assert parse_qs(urlsplit(answer.headers["Location"]).query)["error"] == ["access_denied"]
    assert server.count(OAuth2AuthorizationCode) == 0 and server.count(Consent) == 0


def test_users_grant_only_their_access_rights(server: Server) -> None:
    server.user(scopes="profile")
    info = server.client()
    web = server.app.test_client()
    server.login(web)
    answer = web.get(_authorize_url(info, "profile email"))
    assert answer.status_code == 302
    assert "error=access_denied" in answer.headers["Location"]
    assert server.count(OAuth2AuthorizationCode) == 0


def test_authorize_needs_a_login_and_keeps_the_request(server: Server) -> None:
    info = server.client()
    web = server.app.test_client()
    answer = web.get(_authorize_url(info))
    assert answer.status_code == 302
    location = urlsplit(answer.headers["Location"])
    assert location.path == "/login"
    assert parse_qs(location.query)["next"][0].startswith("/oauth/authorize?")


def test_revocation_is_honoured_by_api_me_at_once(server: Server) -> None:
    server.user()
    info = server.client()
    web = server.app.test_client()
    server.login(web)
    tokens = _tokens(server, web, info)
    bearer = {"Authorization": "Bearer " + tokens["access_token"]}
    assert web.get("/api/me", headers=bearer).status_code == 200
    introspected = web.post("/oauth/introspect", headers=_basic(info),
                            data={"token": tokens["access_token"]}).get_json()
    assert introspected["active"] is True and introspected["scope"] == "profile"
    assert web.post("/oauth/revoke", headers=_basic(info),
                    data={"token": tokens["access_token"]}).status_code == 200
    me = web.get("/api/me", headers=bearer)
    assert me.status_code == 401 and "invalid_token" in me.headers["WWW-Authenticate"]
    assert web.post("/oauth/introspect", headers=_basic(info),
                    data={"token": tokens["access_token"]}).get_json() == {"active": False}


def test_api_me_needs_the_profile_scope(server: Server) -> None:
    server.user()
    info = server.client()
    web = server.app.test_client()
    server.login(web)
    tokens = _tokens(server, web, info, scope="email")
    me = web.get("/api/me", headers={"Authorization": "Bearer " + tokens["access_token"]})
    assert me.status_code == 403 and 'error="insufficient_scope"' in me.headers["WWW-Authenticate"]


def test_grants_are_per_client(server: Server) -> None:
    server.user()
    code_only = server.client()
    password = server.client("pw", grant_types=("password",), redirect_uris=())
    web = server.app.test_client()
    form = {"grant_type": "password", "username": "alice", "password": PASSWORD,
            "scope": "profile"}
    refused = web.post("/oauth/token", headers=_basic(code_only), data=form)
    assert refused.status_code == 400 and refused.get_json()["error"] == "unauthorized_client"
    issued = web.post("/oauth/token", headers=_basic(password), data=form)
    assert issued.status_code == 200
    bearer = {"Authorization": "Bearer " + issued.get_json()["access_token"]}
    me = web.get("/api/me", headers=bearer)
    assert me.get_json()["username"] == "alice"
    wrong = web.post("/oauth/token", headers=_basic(password), data={**form, "password": "nope"})
    assert wrong.status_code == 400 and wrong.get_json()["error"] == "invalid_grant"


def test_client_credentials_token_is_no_user(server: Server) -> None:
    machine = server.client("m", grant_types=("client_credentials",), redirect_uris=())
    web = server.app.test_client()
    issued = web.post("/oauth/token", headers=_basic(machine),
                      data={"grant_type": "client_credentials", "scope": "profile"})
    assert issued.status_code == 200 and "refresh_token" not in issued.get_json()
    bearer = {"Authorization": "Bearer " + issued.get_json()["access_token"]}
    me = web.get("/api/me", headers=bearer)
    assert me.status_code == 401
    assert server.count(OAuth2Token) == 1


def test_metadata_lists_what_the_spec_asks(server: Server) -> None:
    doc = server.app.test_client().get("/.well-known/oauth-authorization-server").get_json()
    for member in ("issuer", "jwks_uri", "grant_types_supported", "response_types_supported",
                   "token_endpoint_auth_methods_supported", "code_challenge_methods_supported",
                   "scopes_supported", "authorization_endpoint", "token_endpoint",
                   "revocation_endpoint", "introspection_endpoint"):
        assert member in doc, member
    assert doc["issuer"] == "http://127.0.0.1:4999"
    assert doc["jwks_uri"] == "http://127.0.0.1:4999/certs"
    assert doc["code_challenge_methods_supported"] == ["S256"]
