"""A person at headless Chromium, against ``authgate serve`` run as a subprocess.

First the README path of the issue, exactly: sign up, register a client in the
browser with the password grant, then the seed documentation's own ``curl``
line (multipart ``-F``) gets a token, which works at ``/api/me``. Then the other
pages: sign-in, consent allowed and denied, device activation by typing the
user code, and revoking an application from home. Every page step leaves a
screenshot in ``test-artifacts/screenshots/<test>/``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from requests_oauthlib import OAuth2Session

from tests.conftest import IN_CI
from tests.e2e.browser.conftest import Shots
from tests.e2e.server.served import DEVICE_GRANT, Served

pytestmark = pytest.mark.browser

PASSWORD = "looking-glass-7"  # no spaces: the seed's curl line does not quote it
REGISTERED = "http://127.0.0.1/cb"  # loopback: any port matches (RFC 8252 §7.3)
#: The seed documentation's line (004, "Creating a Client"), with its placeholders.
SEED_CURL = ("curl -u ${client_id}:${client_secret} -XPOST http://127.0.0.1:4999/oauth/token "
             "-F grant_type=password -F username=${username} -F password=valid -F scope=profile")


class _Callback(BaseHTTPRequestHandler):
    """The client's redirect URI, served for real on a loopback port: it records the URL."""

    landed: list[str]

    def do_GET(self) -> None:
        if self.path.startswith("/cb?"):  # not the browser's /favicon.ico
            self.landed.append(f"http://127.0.0.1:{self.server.server_port}{self.path}")
        body = b"<!doctype html><title>cb</title><p>back at the client</p>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def callback() -> Iterator[tuple[list[str], str]]:
    landed: list[str] = []
    handler = type("Handler", (_Callback,), {"landed": landed})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield landed, f"http://127.0.0.1:{server.server_port}/cb"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def _curl() -> str:
    found = shutil.which("curl")
    if found is None:
        message = "curl is not installed; the README path is tested with the real curl"
        if IN_CI:
            pytest.fail(message + " (.ci/run installs it)")
        pytest.skip(message)
    return found


def _sign_up(page: Any, served: Served, shots: Shots, username: str,
             rights: tuple[str, ...] = ("profile",)) -> None:
    page.goto(served.base + "/signup")
    shots(page, "signup")
    page.get_by_label("Username", exact=True).fill(username)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    for box in page.locator('input[name="scope"]').all():
        box.set_checked(box.get_attribute("value") in rights)
    page.get_by_role("button", name="Create account").click()
    page.wait_for_url(served.base + "/")
    assert page.get_by_role("heading", level=1).inner_text() == f"Hello, {username}"
    shots(page, "home_signed_up")


def _register_client(page: Any, served: Served, shots: Shots, name: str,
                     grants: tuple[str, ...]) -> tuple[str, str]:
    page.goto(served.base + "/")
    page.get_by_role("link", name="Register a new client").click()
    page.wait_for_url(served.base + "/create_client")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Redirect URIs").fill(REGISTERED)
    page.get_by_label("Scopes").fill("profile email")
    for grant in grants:
        page.locator(f'input[name="grant_types"][value="{grant}"]').check()
    page.get_by_label("Client authentication at the token endpoint").select_option(
        "client_secret_basic")
    shots(page, "create_client")
    page.get_by_role("button", name="Register client").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Client registered"
    client_id = page.locator("#client_id").inner_text().strip()
    secret = page.locator("#client_secret").inner_text().strip()
    shots(page, "client_created")
    return client_id, secret


def test_readme_path_sign_up_create_a_client_and_the_seed_curl_line(
        page: Any, served: Served, shots: Shots) -> None:
    curl = _curl()
    _sign_up(page, served, shots, "carol")
    client_id, secret = _register_client(page, served, shots, "Seed curl app", ("password",))
    assert page.locator("dd", has_text="password").count() >= 1
    assert page.locator("dd", has_text="client_secret_basic").count() == 1

    # The seed's line, unchanged but for the port of this server and the password
    # ("valid" there; here the one carol signed up with), run by bash with the real curl.
    line = SEED_CURL.replace("http://127.0.0.1:4999", served.base) \
        .replace("password=valid", "password=${password}")
    assert line.replace(served.base, "http://127.0.0.1:4999").replace(
        "${password}", "valid") == SEED_CURL
    env = {**os.environ, "client_id": client_id, "client_secret": secret,
           "username": "carol", "password": PASSWORD, "NO_PROXY": "127.0.0.1",
           "no_proxy": "127.0.0.1", "PATH": os.path.dirname(curl) + ":" + os.environ["PATH"]}
    done = subprocess.run(["bash", "-c", line], env=env, capture_output=True, text=True,
                          timeout=30, check=False)
    assert done.returncode == 0, done.stderr
    token = json.loads(done.stdout)
    assert token["token_type"].lower() == "bearer" and token["expires_in"] == 3600
    assert token["scope"] == "profile" and token["refresh_token"]

    me = subprocess.run([curl, "-s", "-H", "Authorization: Bearer " + token["access_token"],
                         served.base + "/api/me"], env=env, capture_output=True, text=True,
                        timeout=30, check=True)
    assert json.loads(me.stdout)["username"] == "carol"

    # What the browser shows afterwards: the client on home, among carol's clients.
    page.goto(served.base + "/")
    assert client_id in page.locator("#clients").inner_text()
    shots(page, "home_with_client")


def test_sign_in_consent_allow_and_deny_device_and_revoke(
        page: Any, served: Served, shots: Shots, callback: tuple[list[str], str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the server is plain http
    base = served.base
    _sign_up(page, served, shots, "dave", rights=("profile", "email"))
    page.get_by_role("button", name=re.compile("Sign out")).click()
    page.wait_for_url(base + "/login")
    shots(page, "login")
    page.get_by_label("Username", exact=True).fill("dave")
    page.get_by_label("Password", exact=True).fill("not his password")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").is_visible()
    shots(page, "login_failed")
    page.get_by_label("Username", exact=True).fill("dave")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(base + "/")
    client_id, secret = _register_client(page, served, shots, "Photo printer",
                                         (DEVICE_GRANT,))

    landed, redirect = callback

    # Consent allowed: authorization code + PKCE, redeemed by requests-oauthlib.
    oauth = OAuth2Session(client_id, redirect_uri=redirect, scope=["profile"], pkce="S256")
    url, state = oauth.authorization_url(base + "/oauth/authorize")
    page.goto(url)
    assert page.locator("#client_name").inner_text() == "Photo printer"
    assert page.locator("#redirect_host").inner_text() == "127.0.0.1"
    assert "profile" in page.locator("#scopes").inner_text()
    shots(page, "consent")
    page.get_by_role("button", name="Allow").click()
    page.wait_for_url(redirect + "?**")
    shots(page, "back_at_the_client")
    query = parse_qs(urlsplit(landed[-1]).query)
    assert query["state"] == [state] and query["iss"] == [base] and "code" in query
    token = oauth.fetch_token(base + "/oauth/token", authorization_response=landed[-1],
                              client_secret=secret, include_client_id=False)
    me = requests.get(base + "/api/me", timeout=5,
                      headers={"Authorization": "Bearer " + token["access_token"]})
    assert me.status_code == 200 and me.json()["username"] == "dave"

    # Consent denied: a scope not granted yet brings the page back; Deny answers
    # access_denied at the redirect URI, with state and iss.
    denied = OAuth2Session(client_id, redirect_uri=redirect, scope=["email"], pkce="S256")
    url, state = denied.authorization_url(base + "/oauth/authorize")
    page.goto(url)
    assert "email" in page.locator("#scopes").inner_text()
    shots(page, "consent_to_deny")
    page.get_by_role("button", name="Deny").click()
    page.wait_for_url(redirect + "?**")
    query = parse_qs(urlsplit(landed[-1]).query)
    assert query["error"] == ["access_denied"] and "code" not in query
    assert query["state"] == [state] and query["iss"] == [base]

    # The device flow: the device asks, dave types the user code and allows.
    started = requests.post(base + "/oauth/device", data={"scope": "profile"},
                            auth=(client_id, secret), timeout=5).json()
    page.goto(base + "/activate")
    shots(page, "activate")
    page.get_by_label("Code shown on the device").press_sequentially(started["user_code"])
    shots(page, "activate_typed")
    page.get_by_role("button", name="Continue").click()
    assert page.locator("#client_name").inner_text() == "Photo printer"
    shots(page, "device_consent")
    page.get_by_role("button", name="Allow").click()
    assert "approved" in page.locator("#result").inner_text()
    shots(page, "device_approved")
    device = requests.post(base + "/oauth/token", auth=(client_id, secret), timeout=5,
                           data={"grant_type": DEVICE_GRANT,
                                 "device_code": started["device_code"]})
    assert device.status_code == 200, device.text

    # Revoke on home: both tokens, and the refresh token, are refused at once.
    page.goto(base + "/")
    row = page.locator(f'#authorizations tr[data-client-id="{client_id}"]')
    assert "Photo printer" in row.inner_text()
    shots(page, "home_authorized")
    row.get_by_role("button", name=re.compile("Revoke")).click()
    page.wait_for_url(re.compile(r"/\?revoked="))
    assert page.get_by_role("status").is_visible()
    assert page.locator(f'#authorizations tr[data-client-id="{client_id}"]').count() == 0
    shots(page, "home_revoked")
    for access_token in (token["access_token"], device.json()["access_token"]):
        me = requests.get(base + "/api/me", timeout=5,
                          headers={"Authorization": "Bearer " + access_token})
        assert me.status_code == 401
    refreshed = requests.post(base + "/oauth/token", auth=(client_id, secret), timeout=5,
                              data={"grant_type": "refresh_token",
                                    "refresh_token": token["refresh_token"]})
    assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_grant"
    assert len(list(shots.folder.glob("*.png"))) == shots.taken >= 10
