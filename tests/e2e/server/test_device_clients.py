"""The device flow against ``authgate serve``: an RFC 8628 client and a flask-oauth2-devices one.

Both are plain HTTP clients written with ``requests`` from the specifications,
not with authgate code; the person approves or denies at ``/activate``
(signed in, typing the user code, then consenting), scripted with ``requests``.
Each device code is polled no faster than its interval: once before approval
(``authorization_pending``) or once after it.
"""

from __future__ import annotations

import functools
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.e2e.server.served import DEVICE_GRANT, PASSWORD, Seeds, Served
from tests.e2e.server.tokens import verified
from tests.support.browser_session import csrf_token, logged_in

USER_CODE = re.compile(r"^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$")


@pytest.fixture(scope="module")
def seeded(served: Served) -> Seeds:
    seeds = Seeds(
        alice=functools.partial(served.user, "alice", "profile email"),
        tv=functools.partial(served.client, "Living-room TV", DEVICE_GRANT, "refresh_token"),
        public=functools.partial(served.client, "Public device", DEVICE_GRANT,
                                 auth_method="none", scope="profile"),
    )
    assert seeds["alice"] == "alice"  # every test signs her in; the clients come when used
    return seeds


def _activate(served: Served, typed_code: str, allow: bool = True) -> str:
    """Alice signs in, types the code at /activate, then allows or denies; the result text."""
    browser = logged_in(served.base, "alice", PASSWORD, login_path="/login")
    page = browser.get(served.base + "/activate")
    assert page.status_code == 200
    consent_page = browser.post(served.base + "/activate", data={
        "csrf_token": csrf_token(page.text), "user_code": typed_code})
    assert consent_page.status_code == 200, consent_page.text
    assert 'id="client_name"' in consent_page.text
    answer = browser.post(served.base + "/activate", data={
        "csrf_token": csrf_token(consent_page.text), "user_code": typed_code,
        "confirm": "yes" if allow else "no"})
    assert answer.status_code == 200, answer.text
    found = re.search(r'id="result"[^>]*>([^<]+)<', answer.text)
    assert found, answer.text
    return found.group(1)


def _start(served: Served, auth: tuple[str, str] | None, scope: str,
           client_id: str | None = None) -> dict[str, Any]:
    data = {"scope": scope, **({"client_id": client_id} if client_id else {})}
    answer = requests.post(served.base + "/oauth/device", data=data, auth=auth, timeout=5)
    assert answer.status_code == 200, answer.text
    assert answer.headers["Cache-Control"] == "no-store"
    started = dict(answer.json())
    assert USER_CODE.match(started["user_code"]), started
    assert started["verification_uri"] == served.base + "/activate"
    assert started["verification_uri_complete"] == \
        f"{served.base}/activate?user_code={started['user_code']}"
    assert started["expires_in"] > 0 and started["interval"] >= 1
    return started


def _poll(served: Served, auth: tuple[str, str] | None, device_code: str,
          client_id: str | None = None) -> requests.Response:
    data = {"grant_type": DEVICE_GRANT, "device_code": device_code,
            **({"client_id": client_id} if client_id else {})}
    return requests.post(served.base + "/oauth/token", data=data, auth=auth, timeout=5)


def test_rfc8628_confidential_client(served: Served, seeded) -> None:
    tv = seeded["tv"]
    auth = (tv["client_id"], tv["client_secret"])
    waiting = _start(served, auth, "profile")
    pending = _poll(served, auth, waiting["device_code"])
    assert pending.status_code == 400 and pending.json()["error"] == "authorization_pending"

    started = _start(served, auth, "profile email")
    # The person types the code in lower case without the dash: it still matches.
    typed = started["user_code"].replace("-", "").lower()
    assert "approved" in _activate(served, typed)
    token = _poll(served, auth, started["device_code"])
    assert token.status_code == 200, token.text
    body = token.json()
    assert body["token_type"].lower() == "bearer" and body["expires_in"] > 0
    assert body["refresh_token"]
    verified(served, body["access_token"], tv["client_id"], "profile email")
    again = _poll(served, auth, started["device_code"])  # single use
    assert again.status_code == 400
    assert again.json()["error"] in ("invalid_grant", "expired_token"), again.text

    refreshed = requests.post(served.base + "/oauth/token", auth=auth, timeout=5, data={
        "grant_type": "refresh_token", "refresh_token": body["refresh_token"]})
    assert refreshed.status_code == 200, refreshed.text
    verified(served, refreshed.json()["access_token"], tv["client_id"], "profile email")


def test_rfc8628_public_client_and_a_denial(served: Served, seeded) -> None:
    public = seeded["public"]
    client_id = public["client_id"]
    started = _start(served, None, "profile", client_id=client_id)
    assert "approved" in _activate(served, started["user_code"])
    token = _poll(served, None, started["device_code"], client_id=client_id)
    assert token.status_code == 200, token.text
    verified(served, token.json()["access_token"], client_id, "profile")

    denied = _start(served, None, "profile", client_id=client_id)
    assert "denied" in _activate(served, denied["user_code"], allow=False)
    answer = _poll(served, None, denied["device_code"], client_id=client_id)
    assert answer.status_code == 400 and answer.json()["error"] == "access_denied"


def test_activation_link_prefills_the_code(served: Served, seeded) -> None:
    tv = seeded["tv"]
    started = _start(served, (tv["client_id"], tv["client_secret"]), "profile")
    browser = logged_in(served.base, "alice", PASSWORD, login_path="/login")
    page = browser.get(started["verification_uri_complete"])
    assert page.status_code == 200
    assert f'value="{started["user_code"]}"' in page.text
    wrong = browser.post(served.base + "/activate", data={
        "csrf_token": csrf_token(page.text), "user_code": "BCDF-GHJK"})
    assert wrong.status_code == 400 and 'id="activate-error"' in wrong.text


def test_legacy_flask_oauth2_devices_client(served: Served, seeded) -> None:
    """A flask-oauth2-devices client: /oauth/device, then polls its ``authorize_link``."""
    tv = seeded["tv"]
    started = requests.post(served.base + "/oauth/device", timeout=5,
                            auth=(tv["client_id"], tv["client_secret"]),
                            data={"scope": "profile"}).json()
    assert started["authorize_link"] == served.base + "/oauth/device/authorize"
    assert started["activate_link"] == served.base + "/activate"
    poll = {"auth_code": started["user_code"], "device_code": started["device_code"]}
    pending = requests.post(started["authorize_link"], data=poll, timeout=5)
    assert pending.status_code == 400 and pending.json()["error"] == "authorization_pending"

    approved = requests.post(served.base + "/oauth/device", timeout=5,
                             auth=(tv["client_id"], tv["client_secret"]),
                             data={"scope": "profile"}).json()
    assert "approved" in _activate(served, approved["user_code"])
    # The legacy client sends both codes and no credentials: holding them identifies it.
    answer = requests.post(approved["authorize_link"], timeout=5, data={
        "auth_code": approved["user_code"].lower(), "device_code": approved["device_code"]})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["token_type"].lower() == "bearer" and body["access_token"]
    verified(served, body["access_token"], tv["client_id"], "profile")
    replay = requests.post(approved["authorize_link"], timeout=5, data={
        "auth_code": approved["user_code"], "device_code": approved["device_code"]})
    assert replay.status_code == 400, replay.text

    denied = requests.post(served.base + "/oauth/device", timeout=5,
                           auth=(tv["client_id"], tv["client_secret"]),
                           data={"scope": "profile"}).json()
    assert "denied" in _activate(served, denied["user_code"], allow=False)
    refused = requests.post(denied["authorize_link"], timeout=5, data={
        "auth_code": denied["user_code"], "device_code": denied["device_code"]},
        auth=(tv["client_id"], tv["client_secret"]))
    assert refused.status_code == 400 and refused.json()["error"] == "access_denied"
    assert parse_qs(urlsplit(denied["verification_uri_complete"]).query)["user_code"] == [
        denied["user_code"]]
