"""Every OAuth 2 grant of ``authgate serve``, driven by two independent client libraries.

requests-oauthlib (``OAuth2Session`` with ``WebApplicationClient``,
``MobileApplicationClient``, ``LegacyApplicationClient`` and
``BackendApplicationClient``) and Authlib's requests client run against the
server as a subprocess; sign-in and consent are scripted with ``requests``
(scraping the CSRF token) as a browser would post them. Every access token is
then checked the way an outside resource server would, with PyJWT and the
keys found through the metadata's ``jwks_uri``.
"""

from __future__ import annotations

import functools
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session as AuthlibSession
from oauthlib.oauth2 import (
    BackendApplicationClient,
    LegacyApplicationClient,
    MobileApplicationClient,
)
from requests.auth import HTTPBasicAuth
from requests_oauthlib import OAuth2Session

from tests.e2e.server.served import PASSWORD, Seeds, Served
from tests.e2e.server.tokens import verified
from tests.support.browser_session import consent, logged_in

REGISTERED = "http://127.0.0.1/cb"  # loopback: any port matches (RFC 8252 §7.3)
REDIRECT = "http://127.0.0.1:53682/cb"


@pytest.fixture(autouse=True)
def _plain_http_on_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the server is plain http


@pytest.fixture(scope="module")
def seeded(served: Served) -> Seeds:
    seeds = Seeds(
        alice=functools.partial(served.user, "alice", "profile email"),
        web=functools.partial(served.client, "Web app", "authorization_code", "refresh_token",
                              redirect_uris=(REGISTERED,)),
        spa=functools.partial(served.client, "Single-page app", "implicit",
                              redirect_uris=(REGISTERED,), auth_method="none"),
        cli=functools.partial(served.client, "Command line", "password", "refresh_token"),
        backend=functools.partial(served.client, "Backend", "client_credentials"),
        post=functools.partial(served.client, "Post client", "authorization_code",
                               "refresh_token", "password", redirect_uris=(REGISTERED,),
                               auth_method="client_secret_post"),
        iat=served.initial_token,
    )
    assert seeds["alice"] == "alice"  # every test signs her in; the clients come when used
    return seeds


def _browser(served: Served) -> requests.Session:
    return logged_in(served.base, "alice", PASSWORD, login_path="/login")


def authorized(served: Served, url: str) -> str:
    """Alice signs in and allows; a consent she gave before is remembered (no page)."""
    browser = _browser(served)
    first = browser.get(url, allow_redirects=False)
    if first.status_code == 302:
        return first.headers["Location"]
    return consent(browser, url)


# ---- requests-oauthlib --------------------------------------------------------------


def test_requests_oauthlib_code_with_pkce_then_refresh(served: Served, seeded) -> None:
    web = seeded["web"]
    oauth = OAuth2Session(web["client_id"], redirect_uri=REDIRECT, scope=["profile"],
                          pkce="S256")
    url, state = oauth.authorization_url(served.base + "/oauth/authorize")
    assert "code_challenge_method=S256" in url
    location = consent(_browser(served), url)
    query = parse_qs(urlsplit(location).query)
    assert location.startswith(REDIRECT + "?")
    assert query["state"] == [state] and query["iss"] == [served.base]
    token = oauth.fetch_token(served.base + "/oauth/token", authorization_response=location,
                              client_secret=web["client_secret"], include_client_id=False)
    assert token["token_type"].lower() == "bearer" and token["expires_in"] == 3600
    assert len(token["refresh_token"]) >= 40
    first = verified(served, token["access_token"], web["client_id"], "profile")

    refreshed = oauth.refresh_token(served.base + "/oauth/token",
                                    auth=HTTPBasicAuth(web["client_id"], web["client_secret"]))
    assert refreshed["refresh_token"] != token["refresh_token"]
    assert verified(served, refreshed["access_token"], web["client_id"],
                    "profile")["jti"] != first["jti"]
    assert oauth.get(served.base + "/api/me").json()["username"] == "alice"
    # The old refresh token was rotated away: replaying it is refused.
    replay = requests.post(served.base + "/oauth/token", timeout=5,
                           auth=(web["client_id"], web["client_secret"]),
                           data={"grant_type": "refresh_token",
                                 "refresh_token": token["refresh_token"]})
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"


def test_remembered_consent_and_a_code_without_its_verifier(served: Served,
                                                                seeded) -> None:
    web = seeded["web"]
    oauth = OAuth2Session(web["client_id"], redirect_uri=REDIRECT, scope=["profile"],
                          pkce="S256")
    url, _ = oauth.authorization_url(served.base + "/oauth/authorize")
    authorized(served, url)  # alice allows "profile" (or did so in an earlier test)
    # Her consent is remembered: no consent page this time, straight back with a code.
    url, _ = oauth.authorization_url(served.base + "/oauth/authorize")
    remembered = _browser(served).get(url, allow_redirects=False)
    assert remembered.status_code == 302, remembered.text
    code = parse_qs(urlsplit(remembered.headers["Location"]).query)["code"][0]
    answer = requests.post(served.base + "/oauth/token", timeout=5,
                           auth=(web["client_id"], web["client_secret"]),
                           data={"grant_type": "authorization_code", "code": code,
                                 "redirect_uri": REDIRECT, "code_verifier": "x" * 43})
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"


def test_requests_oauthlib_implicit(served: Served, seeded) -> None:
    spa = seeded["spa"]
    assert "client_secret" not in spa or not spa["client_secret"]
    oauth = OAuth2Session(client=MobileApplicationClient(spa["client_id"]),
                          redirect_uri=REDIRECT, scope=["profile"])
    url, state = oauth.authorization_url(served.base + "/oauth/authorize")
    location = consent(_browser(served), url)
    assert "#" in location and "?" not in location.split("#")[0]
    token = oauth.token_from_fragment(location)
    fragment = parse_qs(urlsplit(location).fragment)
    assert fragment["state"] == [state] and fragment["iss"] == [served.base]
    assert "refresh_token" not in token
    verified(served, token["access_token"], spa["client_id"], "profile")


def test_requests_oauthlib_password(served: Served, seeded) -> None:
    cli = seeded["cli"]
    oauth = OAuth2Session(client=LegacyApplicationClient(client_id=cli["client_id"]))
    token = oauth.fetch_token(served.base + "/oauth/token", username="alice",
                              password=PASSWORD, scope=["profile", "email"],
                              auth=HTTPBasicAuth(cli["client_id"], cli["client_secret"]))
    verified(served, token["access_token"], cli["client_id"], "profile email")
    wrong = requests.post(served.base + "/oauth/token", timeout=5,
                          auth=(cli["client_id"], cli["client_secret"]),
                          data={"grant_type": "password", "username": "alice",
                                "password": "not-her-password"})
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"


def test_requests_oauthlib_client_credentials(served: Served, seeded) -> None:
    backend = seeded["backend"]
    oauth = OAuth2Session(client=BackendApplicationClient(client_id=backend["client_id"]))
    token = oauth.fetch_token(served.base + "/oauth/token", scope=["profile"],
                              auth=HTTPBasicAuth(backend["client_id"],
                                                 backend["client_secret"]))
    assert "refresh_token" not in token
    claims = verified(served, token["access_token"], backend["client_id"], "profile",
                      user=None)
    assert claims["sub"] == backend["client_id"]  # the client acts for itself
    # /api/me speaks for a user; a client-credentials token has none.
    assert oauth.get(served.base + "/api/me").status_code == 401


# ---- Authlib ------------------------------------------------------------------------


def test_authlib_code_with_pkce_refresh_introspect_and_revoke(served: Served,
                                                              seeded) -> None:
    web = seeded["web"]
    endpoint = served.base + "/oauth/token"
    client = AuthlibSession(web["client_id"], web["client_secret"], scope="profile email",
                            redirect_uri=REDIRECT, code_challenge_method="S256",
                            token_endpoint_auth_method="client_secret_basic")
    verifier = generate_token(48)
    url, state = client.create_authorization_url(served.base + "/oauth/authorize",
                                                 code_verifier=verifier)
    location = authorized(served, url)
    token = client.fetch_token(endpoint, authorization_response=location,
                               code_verifier=verifier, state=state)
    verified(served, token["access_token"], web["client_id"], "profile email")
    assert client.get(served.base + "/api/me").json()["username"] == "alice"

    old_refresh = token["refresh_token"]
    refreshed = client.refresh_token(endpoint)
    assert refreshed["refresh_token"] != old_refresh
    claims = verified(served, refreshed["access_token"], web["client_id"], "profile email")

    found = client.introspect_token(served.base + "/oauth/introspect",
                                    token=refreshed["access_token"]).json()
    assert found["active"] is True and found["client_id"] == web["client_id"]
    assert found["sub"] == claims["sub"] and found["exp"] == claims["exp"]
    assert set(found["scope"].split()) == {"profile", "email"}

    revoked = client.revoke_token(served.base + "/oauth/revoke",
                                  token=refreshed["access_token"],
                                  token_type_hint="access_token")
    assert revoked.status_code == 200
    gone = client.introspect_token(served.base + "/oauth/introspect",
                                   token=refreshed["access_token"]).json()
    assert gone == {"active": False}
    me = requests.get(served.base + "/api/me", timeout=5,
                      headers={"Authorization": "Bearer " + refreshed["access_token"]})
    assert me.status_code == 401  # the server's own resource honours it at once

    assert client.revoke_token(served.base + "/oauth/revoke",
                               token=refreshed["refresh_token"],
                               token_type_hint="refresh_token").status_code == 200
    again = requests.post(endpoint, timeout=5, auth=(web["client_id"], web["client_secret"]),
                          data={"grant_type": "refresh_token",
                                "refresh_token": refreshed["refresh_token"]})
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


def test_authlib_client_secret_post_code_and_password(served: Served, seeded) -> None:
    post = seeded["post"]
    endpoint = served.base + "/oauth/token"
    client = AuthlibSession(post["client_id"], post["client_secret"], scope="profile",
                            redirect_uri=REDIRECT, code_challenge_method="S256",
                            token_endpoint_auth_method="client_secret_post")
    verifier = generate_token(48)
    url, state = client.create_authorization_url(served.base + "/oauth/authorize",
                                                 code_verifier=verifier)
    token = client.fetch_token(endpoint, authorization_response=authorized(served, url),
                               code_verifier=verifier, state=state)
    verified(served, token["access_token"], post["client_id"], "profile")

    password = AuthlibSession(post["client_id"], post["client_secret"],
                              token_endpoint_auth_method="client_secret_post")
    token = password.fetch_token(endpoint, grant_type="password", username="alice",
                                 password=PASSWORD, scope="email")
    verified(served, token["access_token"], post["client_id"], "email", user=None)
    assert password.get(served.base + "/api/me").status_code == 403  # no profile scope
    assert password.refresh_token(endpoint)["access_token"] != token["access_token"]


def test_authlib_password_and_client_credentials(served: Served, seeded) -> None:
    endpoint = served.base + "/oauth/token"
    cli = seeded["cli"]
    client = AuthlibSession(cli["client_id"], cli["client_secret"], scope="profile")
    token = client.fetch_token(endpoint, username="alice", password=PASSWORD)
    verified(served, token["access_token"], cli["client_id"], "profile")
    assert client.get(served.base + "/api/me").json()["username"] == "alice"

    backend = seeded["backend"]
    machine = AuthlibSession(backend["client_id"], backend["client_secret"], scope="email")
    token = machine.fetch_token(endpoint, grant_type="client_credentials")
    verified(served, token["access_token"], backend["client_id"], "email", user=None)
    found = machine.introspect_token(served.base + "/oauth/introspect",
                                     token=token["access_token"]).json()
    assert found["active"] is True and found["client_id"] == backend["client_id"]
    assert machine.revoke_token(served.base + "/oauth/revoke",
                                token=token["access_token"]).status_code == 200
    assert machine.introspect_token(served.base + "/oauth/introspect",
                                    token=token["access_token"]).json() == {"active": False}


def test_registered_client_with_an_initial_token_gets_a_token(served: Served,
                                                              seeded) -> None:
    """RFC 7591 with ``create-initial-token``: a client_credentials client, then Authlib."""
    answer = requests.post(served.base + "/oauth/register", timeout=5,
                           headers={"Authorization": "Bearer " + seeded["iat"]},
                           json={"client_name": "Registered robot",
                                 "grant_types": ["client_credentials"], "response_types": [],
                                 "token_endpoint_auth_method": "client_secret_basic",
                                 "scope": "profile"})
    assert answer.status_code == 201, answer.text
    registered = answer.json()
    assert registered["client_name"] == "Registered robot"
    assert registered["grant_types"] == ["client_credentials"]
    machine = AuthlibSession(registered["client_id"], registered["client_secret"],
                             scope="profile")
    token = machine.fetch_token(served.base + "/oauth/token", grant_type="client_credentials")
    verified(served, token["access_token"], registered["client_id"], "profile", user=None)
    # Without the initial token, only authorization-code clients may register.
    refused = requests.post(served.base + "/oauth/register", timeout=5,
                            json={"client_name": "Robot", "response_types": [],
                                  "grant_types": ["client_credentials"]})
    assert refused.status_code in (400, 401), refused.text
