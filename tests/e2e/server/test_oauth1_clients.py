"""OAuth 1.0a against ``authgate serve``: requests-oauthlib and Authlib, HMAC-SHA1, three legs.

Each client library runs the flow out of band (``oob``: the verifier is read
from ``id="oauth_verifier"`` on the page after consent) and with a callback
(the verifier comes back in the redirect), then signs a request to
``/oauth1/api/me``. Sign-in and consent are scripted with ``requests``.
"""

from __future__ import annotations

import functools
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from authlib.integrations.requests_client import OAuth1Session as AuthlibOAuth1Session
from requests_oauthlib import OAuth1Session

from tests.e2e.server.served import PASSWORD, Seeds, Served
from tests.support.browser_session import csrf_token, logged_in

CALLBACK = "http://127.0.0.1:53682/oauth1/callback"


@pytest.fixture(scope="module")
def seeded(served: Served) -> Seeds:
    seeds = Seeds(
        alice=functools.partial(served.user, "alice", "profile"),
        printer=functools.partial(served.oauth1_client, "Printer"),
        photos=functools.partial(served.oauth1_client, "Photo app", CALLBACK),
    )
    assert seeds["alice"] == "alice"  # every test signs her in; the clients come when used
    return seeds


def _consent(served: Served, authorization_url: str, allow: bool = True
             ) -> requests.Response:
    browser = logged_in(served.base, "alice", PASSWORD, login_path="/login")
    page = browser.get(authorization_url)
    assert page.status_code == 200, page.text
    return browser.post(authorization_url, allow_redirects=False, data={
        "csrf_token": csrf_token(page.text), "confirm": "yes" if allow else "no"})


def _verifier_on_page(answer: requests.Response) -> str:
    assert answer.status_code == 200, answer.text
    found = re.search(r'id="oauth_verifier"[^>]*>([^<]+)<', answer.text)
    assert found, answer.text
    return found.group(1).strip()


def _me(served: Served, session: Any) -> dict[str, Any]:
    me = session.get(served.base + "/oauth1/api/me")
    assert me.status_code == 200, me.text
    assert me.headers["Content-Type"].startswith("application/json")
    assert set(me.json()) == {"username", "sub"}
    return dict(me.json())


def test_requests_oauthlib_out_of_band(served: Served, seeded) -> None:
    client = seeded["printer"]
    oauth = OAuth1Session(client["client_id"], client_secret=client["client_secret"],
                          callback_uri="oob", signature_method="HMAC-SHA1")
    temporary = oauth.fetch_request_token(served.base + "/oauth1/initiate")
    assert temporary["oauth_callback_confirmed"] == "true"
    url = oauth.authorization_url(served.base + "/oauth1/authorize")
    verifier = _verifier_on_page(_consent(served, url))
    credentials = oauth.fetch_access_token(served.base + "/oauth1/token", verifier=verifier)
    assert credentials["oauth_token"] and credentials["oauth_token_secret"]
    assert credentials["oauth_token"] != temporary["oauth_token"]
    assert _me(served, oauth)["username"] == "alice"
    # The verifier was single use; an unsigned request is refused.
    assert requests.get(served.base + "/oauth1/api/me", timeout=5).status_code in (400, 401)


def test_requests_oauthlib_with_a_callback(served: Served, seeded) -> None:
    client = seeded["photos"]
    oauth = OAuth1Session(client["client_id"], client_secret=client["client_secret"],
                          callback_uri=CALLBACK)
    oauth.fetch_request_token(served.base + "/oauth1/initiate")
    url = oauth.authorization_url(served.base + "/oauth1/authorize")
    answer = _consent(served, url)
    assert answer.status_code in (302, 303), answer.text
    location = answer.headers["Location"]
    assert location.startswith(CALLBACK + "?")
    oauth.parse_authorization_response(location)
    oauth.fetch_access_token(served.base + "/oauth1/token")
    assert _me(served, oauth)["username"] == "alice"


def test_authlib_out_of_band(served: Served, seeded) -> None:
    client = seeded["printer"]
    oauth = AuthlibOAuth1Session(client["client_id"], client["client_secret"],
                                 redirect_uri="oob", signature_method="HMAC-SHA1")
    temporary = oauth.fetch_request_token(served.base + "/oauth1/initiate")
    assert temporary["oauth_callback_confirmed"] == "true"
    url = oauth.create_authorization_url(served.base + "/oauth1/authorize")
    verifier = _verifier_on_page(_consent(served, url))
    oauth.fetch_access_token(served.base + "/oauth1/token", verifier=verifier)
    assert _me(served, oauth)["username"] == "alice"


def test_authlib_with_a_callback_and_a_denial(served: Served, seeded) -> None:
    client = seeded["photos"]
    oauth = AuthlibOAuth1Session(client["client_id"], client["client_secret"],
                                 redirect_uri=CALLBACK)
    oauth.fetch_request_token(served.base + "/oauth1/initiate")
    answer = _consent(served, oauth.create_authorization_url(
        served.base + "/oauth1/authorize"))
    assert answer.status_code in (302, 303), answer.text
    oauth.parse_authorization_response(answer.headers["Location"])
    oauth.fetch_access_token(served.base + "/oauth1/token")
    assert _me(served, oauth)["username"] == "alice"

    # Denied: no verifier, and the temporary credentials cannot be exchanged.
    other = AuthlibOAuth1Session(client["client_id"], client["client_secret"],
                                 redirect_uri=CALLBACK)
    temporary = other.fetch_request_token(served.base + "/oauth1/initiate")
    denied = _consent(served, other.create_authorization_url(
        served.base + "/oauth1/authorize"), allow=False)
    where = denied.headers.get("Location", "")
    assert "oauth_verifier" not in parse_qs(urlsplit(where).query), where
    assert "oauth_verifier" not in denied.text
    token_url = served.base + "/oauth1/token"
    refused = requests.post(token_url, timeout=5, headers={
        "Authorization": _signed_token_request(token_url, client, temporary)})
    assert refused.status_code in (400, 401), refused.text


def _signed_token_request(url: str, client: dict[str, Any], temporary: dict[str, Any]) -> str:
    from oauthlib.oauth1 import Client

    signer = Client(client["client_id"], client_secret=client["client_secret"],
                    resource_owner_key=temporary["oauth_token"],
                    resource_owner_secret=temporary["oauth_token_secret"],
                    verifier="guessed-verifier")
    _, headers, _ = signer.sign(url, http_method="POST")
    return str(headers["Authorization"])
