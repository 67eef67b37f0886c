"""A person at a real browser: sign up, register a client, consent, connect a device, revoke."""

from __future__ import annotations

import os
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from requests_oauthlib import OAuth2Session

from tests.e2e.browser.conftest import Live

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
REDIRECT = "http://127.0.0.1/cb"  # loopback: any port matches (RFC 8252 §7.3)
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


def _sign_up(page: Any, live: Live, username: str) -> None:
    page.goto(live.base_url + "/signup")
    live.shot(page, "signup")
    page.get_by_label("Username", exact=True).fill(username)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    page.wait_for_url(live.base_url + "/")
    assert page.get_by_role("heading", level=1).inner_text() == f"Hello, {username}"


def _register_client(page: Any, live: Live) -> tuple[str, str]:
    page.get_by_role("link", name="Register a new client").click()
    page.get_by_label("Name").fill("Browser test app")
    page.get_by_label("Redirect URIs").fill(REDIRECT)
    page.get_by_role("checkbox", name=re.compile("Device code")).check()
    live.shot(page, "create_client")
    page.get_by_role("button", name="Register client").click()
    client_id = page.locator("#client_id").inner_text()
    secret = page.locator("#client_secret").inner_text()
    live.shot(page, "client_created")
    return client_id, secret


def test_sign_up_register_consent_device_and_revoke(page: Any, live: Live,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the live server is plain http
    base = live.base_url
    _sign_up(page, live, "alice")
    page.get_by_role("button", name=re.compile("Sign out")).click()
    page.wait_for_url(base + "/login")
    live.shot(page, "login")
    page.get_by_label("Username", exact=True).fill("alice")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(base + "/")
    client_id, secret = _register_client(page, live)

    # Authorization code + PKCE: requests-oauthlib makes the URL and redeems the code;
    # the browser consents, and its redirect to the (unserved) loopback URI is caught.
    oauth = OAuth2Session(client_id, redirect_uri=REDIRECT, scope=["profile"], pkce="S256")
    url, state = oauth.authorization_url(base + "/oauth/authorize")
    landed: list[str] = []

    def catch(route: Any) -> None:
        landed.append(route.request.url)
        route.fulfill(status=200, content_type="text/html",
                      body="<!doctype html><title>cb</title><p>back at the client</p>")

    page.route(re.compile(r"^http://127\.0\.0\.1/cb\?.*"), catch)
    page.goto(url)
    assert page.locator("#client_name").inner_text() == "Browser test app"
    assert page.locator("#redirect_host").inner_text() == "127.0.0.1"
    live.shot(page, "consent")
    page.get_by_role("button", name="Allow").click()
    page.wait_for_url(re.compile(r"^http://127\.0\.0\.1/cb\?"))
    query = parse_qs(urlsplit(landed[-1]).query)
    assert query["state"] == [state] and "code" in query
    token = oauth.fetch_token(base + "/oauth/token", authorization_response=landed[-1],
                              client_secret=secret, include_client_id=False)
    bearer = {"Authorization": "Bearer " + token["access_token"]}
    me = requests.get(base + "/api/me", headers=bearer, timeout=5)
    assert me.status_code == 200 and me.json()["username"] == "alice"

    # The device flow: the device asks, the person types the user code.
    started = requests.post(base + "/oauth/device", data={"scope": "profile"},
                            auth=(client_id, secret), timeout=5).json()
    page.goto(base + "/")
    page.goto(base + "/activate")
    live.shot(page, "activate")
    page.get_by_label("Code shown on the device").press_sequentially(started["user_code"])
    page.get_by_role("button", name="Continue").click()
    live.shot(page, "device_consent")
    page.get_by_role("button", name="Allow").click()
    assert "approved" in page.locator("#result").inner_text()
    device_token = requests.post(base + "/oauth/token", auth=(client_id, secret), timeout=5,
                                 data={"grant_type": DEVICE_GRANT,
                                       "device_code": started["device_code"]})
    assert device_token.status_code == 200, device_token.text

    # Revoke on home: both tokens are refused at once.
    page.goto(base + "/")
    row = page.locator(f'#authorizations tr[data-client-id="{client_id}"]')
    assert "Browser test app" in row.inner_text()
    live.shot(page, "home")
    row.get_by_role("button", name=re.compile("Revoke")).click()
    page.wait_for_url(re.compile(r"/\?revoked="))
    assert page.get_by_role("status").is_visible()
    for access_token in (token["access_token"], device_token.json()["access_token"]):
        me = requests.get(base + "/api/me", headers={"Authorization": "Bearer " + access_token},
                          timeout=5)
        assert me.status_code == 401
    live.shot(page, "home_revoked")


def test_activation_link_is_prefilled_and_errors_are_pages(page: Any, live: Live) -> None:
    base = live.base_url
    _sign_up(page, live, "bob")
    page.goto(base + "/activate?user_code=BCDF-GHJK")
    field = page.get_by_label("Code shown on the device")
    assert field.input_value() == "BCDF-GHJK"
    page.get_by_role("button", name="Continue").click()
    assert page.locator("#activate-error").is_visible()
    live.shot(page, "activate_error")
    response = page.goto(base + "/oauth/authorize?response_type=code&client_id=nope")
    assert response is not None and response.status == 400
    assert page.get_by_role("heading", level=1).inner_text() == "This request cannot be completed"
    live.shot(page, "error")
    assert os.listdir(live.shots)
