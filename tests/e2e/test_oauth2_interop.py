"""Independent OAuth 2.0 clients against the live seed-style example server.

requests-oauthlib (with oauthlib's client classes) and Authlib's requests
client each complete every grant; nothing here shares code with the server.
"""

from __future__ import annotations

from oauthlib.oauth2 import (
    BackendApplicationClient,
    LegacyApplicationClient,
    MobileApplicationClient,
)
from requests.auth import HTTPBasicAuth
from requests_oauthlib import OAuth2Session

from tests.support.browser_session import consent, logged_in


def test_requests_oauthlib_authorization_code_with_pkce(example_oauth2):
    base, clients, _ = example_oauth2
    client_id, secret = clients["confidential"]
    oauth = OAuth2Session(client_id, redirect_uri=f"{base}/cb", scope=["profile"], pkce="S256")
    url, state = oauth.authorization_url(f"{base}/oauth/authorize")
    location = consent(logged_in(base, "alice", "wonderland"), url)
    assert f"state={state}" in location
    assert f"iss={base.replace(':', '%3A').replace('/', '%2F')}" in location
    token = oauth.fetch_token(f"{base}/oauth/token", authorization_response=location,
                              client_secret=secret)
    assert token["token_type"] == "Bearer" and token["refresh_token"]
    me = oauth.get(f"{base}/api/me")
    assert me.status_code == 200 and me.json()["username"] == "alice"
    refreshed = oauth.refresh_token(f"{base}/oauth/token", auth=HTTPBasicAuth(client_id, secret))
    assert refreshed["access_token"] != token["access_token"]
    assert oauth.get(f"{base}/api/me").status_code == 200


def test_requests_oauthlib_public_client_pkce(example_oauth2):
    base, clients, _ = example_oauth2
    client_id, _ = clients["public"]
    oauth = OAuth2Session(client_id, redirect_uri=f"{base}/cb", scope=["profile"], pkce="S256")
    url, _ = oauth.authorization_url(f"{base}/oauth/authorize")
    location = consent(logged_in(base, "alice", "wonderland"), url)
    token = oauth.fetch_token(f"{base}/oauth/token", authorization_response=location,
                              include_client_id=True)
    assert oauth.get(f"{base}/api/me").status_code == 200
    assert token["scope"] == ["profile"] or token["scope"] == "profile"


def test_oauthlib_backend_application_client(example_oauth2):
    base, clients, _ = example_oauth2
    client_id, secret = clients["confidential"]
    oauth = OAuth2Session(client=BackendApplicationClient(client_id=client_id))
    token = oauth.fetch_token(f"{base}/oauth/token", client_id=client_id, client_secret=secret,
                              scope=["profile"])
    assert "refresh_token" not in token
    me = oauth.get(f"{base}/api/me")  # a client acting for itself: no user behind it
    assert me.status_code == 403 and me.json()["error"] == "no_user"


def test_oauthlib_client_secret_post(example_oauth2):
    base, clients, _ = example_oauth2
    client_id, secret = clients["post"]
    oauth = OAuth2Session(client=BackendApplicationClient(client_id=client_id))
    token = oauth.fetch_token(f"{base}/oauth/token", client_id=client_id, client_secret=secret,
                              include_client_id=True, auth=False, scope=["email"])
    assert token["scope"] in (["email"], "email")


def test_oauthlib_legacy_application_client(example_oauth2):
    base, clients, _ = example_oauth2
    client_id, secret = clients["confidential"]
    oauth = OAuth2Session(client=LegacyApplicationClient(client_id=client_id))
    token = oauth.fetch_token(f"{base}/oauth/token", username="alice", password="wonderland",
                              client_id=client_id, client_secret=secret, scope=["profile"])
    assert oauth.get(f"{base}/api/me").json()["username"] == "alice"
    assert token["refresh_token"]


def test_oauthlib_mobile_application_client_implicit(example_oauth2):
    base, clients, _ = example_oauth2
    client_id, _ = clients["public"]
    oauth = OAuth2Session(client=MobileApplicationClient(client_id=client_id),
                          redirect_uri=f"{base}/cb", scope=["profile"])
    url, _ = oauth.authorization_url(f"{base}/oauth/authorize")
    location = consent(logged_in(base, "alice", "wonderland"), url)
    token = oauth.token_from_fragment(location)
    assert token["access_token"]
    assert oauth.get(f"{base}/api/me").json()["username"] == "alice"


def test_authlib_oauth2_session_every_grant(example_oauth2):
    from authlib.common.security import generate_token
    from authlib.integrations.requests_client import OAuth2Session as AuthlibSession

    base, clients, _ = example_oauth2
    client_id, secret = clients["confidential"]
    session = AuthlibSession(client_id, secret, scope="profile", redirect_uri=f"{base}/cb",
                             code_challenge_method="S256")
    verifier = generate_token(64)
    url, state = session.create_authorization_url(f"{base}/oauth/authorize",
                                                  code_verifier=verifier)
    location = consent(logged_in(base, "alice", "wonderland"), url)
    assert f"state={state}" in location
    token = session.fetch_token(f"{base}/oauth/token", authorization_response=location,
                                code_verifier=verifier)
    assert session.get(f"{base}/api/me").json()["username"] == "alice"
    new = session.refresh_token(f"{base}/oauth/token")
    assert new["refresh_token"] != token["refresh_token"]
    revoked = session.revoke_token(f"{base}/oauth/revoke", new["access_token"])
    assert revoked.status_code == 200
    assert session.get(f"{base}/api/me").status_code == 401

    machine = AuthlibSession(client_id, secret, scope="email")
    cc = machine.fetch_token(f"{base}/oauth/token", grant_type="client_credentials")
    assert cc["scope"] == "email"
    owner = AuthlibSession(client_id, secret, scope="profile")
    pw = owner.fetch_token(f"{base}/oauth/token", username="alice", password="wonderland")
    assert owner.get(f"{base}/api/me").status_code == 200 and pw["refresh_token"]

    public_id, _ = clients["public"]
    spa = AuthlibSession(public_id, scope="profile", redirect_uri=f"{base}/cb",
                         token_endpoint_auth_method="none")
    url, _ = spa.create_authorization_url(f"{base}/oauth/authorize", response_type="token")
    location = consent(logged_in(base, "alice", "wonderland"), url)
    implicit = spa.token_from_fragment(location)
    assert implicit["access_token"] and implicit["token_type"] == "Bearer"
