"""The flask-oauth2-devices example end to end: test client, and a live server via requests."""

from __future__ import annotations

import base64
import re
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
from examples.devices import app as example

from authgate.cache import MemoryCache
from tests.support.live import live_server

GRANT = "urn:ietf:params:oauth:grant-type:device_code"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def app(tmp_path: Any, clock: Any) -> Iterator[Any]:
    application = example.create_app(
        {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'example.db'}", "TESTING": True},
        clock=clock, cache=MemoryCache())
    with application.app_context():
        dev = example.add_client_and_user("dev", "developer-password")
        application.config["DEMO"] = dev
        example.add_client_and_user("alice", "wonderland")
        example.add_client_and_user("bob", "builder")
    yield application
    with application.app_context():
        example.db.session.remove()
        example.db.engine.dispose()


def basic(app: Any, scheme: str = "Basic") -> dict[str, str]:
    demo = app.config["DEMO"]
    raw = f"{demo['client_id']}:{demo['client_secret']}".encode()
    return {"Authorization": f"{scheme} {base64.b64encode(raw).decode()}"}


def login(client: Any, username: str, password: str) -> None:
    page = client.get("/login")
    token = CSRF.search(page.get_data(as_text=True)).group(1)
    done = client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": token})
    assert done.status_code == 302


def csrf_of(client: Any, path: str = "/activate") -> str:
    return CSRF.search(client.get(path).get_data(as_text=True)).group(1)


def decide(client: Any, user_code: str, confirm: str) -> Any:
    token = csrf_of(client)
    consent = client.post("/activate", data={"user_code": user_code, "csrf_token": token})
    assert consent.status_code == 200, consent.get_data(as_text=True)
    assert "Living-room TV" in consent.get_data(as_text=True)
    return client.post("/activate", data={"user_code": user_code, "confirm": confirm,
                                          "csrf_token": csrf_of(client)})


def issue(app: Any) -> dict[str, Any]:
    response = app.test_client().post("/oauth/device", data={"scope": "profile"},
                                      headers=basic(app))
    assert response.status_code == 200
    data: dict[str, Any] = response.get_json()
    return data


def code_row(app: Any, user_code: str) -> Any:
    with app.app_context():
        row = example.Code.query.filter_by(code=user_code.replace("-", "")).first()
        return None if row is None else (row.status, row.user_id)


def test_legacy_flow_with_test_client(app: Any, clock: Any) -> None:
    device = app.test_client()
    issued = device.post("/oauth/device", data={"scope": "profile"},
                         headers=basic(app, "bAsIc"))
    assert issued.status_code == 200, issued.get_data(as_text=True)
    data = issued.get_json()
    assert all(key == key.strip() for key in data)
    assert data["authorize_link"] == "http://localhost/oauth/device/authorize"
    assert data["activate_link"] == data["verification_uri"] == "http://localhost/activate"
    assert data["verification_uri_complete"].endswith("?user_code=" + data["user_code"])
    poll = {"auth_code": data["user_code"], "device_code": data["device_code"]}
    pending = device.post("/oauth/device/authorize", data=poll)
    assert pending.status_code == 400 and pending.get_json()["error"] == "authorization_pending"

    browser = app.test_client()
    login(browser, "alice", "wonderland")
    approved = decide(browser, data["user_code"].lower(), "yes")
    assert approved.status_code == 200 and "Device connected" in approved.get_data(as_text=True)

    clock.advance(5)
    token = device.post("/oauth/device/authorize", data=poll)
    assert token.status_code == 200, token.get_data(as_text=True)
    body = token.get_json()
    assert body["token_type"] == "Bearer" and body["scope"] == "profile"
    assert token.headers["Cache-Control"] == "no-store"
    me = device.get("/api/me", headers={"Authorization": "Bearer " + body["access_token"]})
    assert me.get_json()["username"] == "alice"  # the approving user, not the developer
    clock.advance(5)
    again = device.post("/oauth/device/authorize", data=poll)
    assert again.status_code == 400 and again.get_json()["error"] == "invalid_grant"
    with app.app_context():
        assert example.Token.query.count() == 1


def test_multipart_request_like_curl_f(app: Any) -> None:
    issued = app.test_client().post("/oauth/device", data={"scope": "profile"},
                                    headers=basic(app), content_type="multipart/form-data")
    assert issued.status_code == 200


def test_empty_post_with_basic_is_accepted(app: Any) -> None:
    assert app.test_client().post("/oauth/device", headers=basic(app)).status_code == 200


def test_bad_client_credentials(app: Any) -> None:
    client = app.test_client()
    wrong = client.post("/oauth/device", data={"scope": "profile"}, headers={
        "Authorization": "Basic " + base64.b64encode(b"nobody:nothing").decode()})
    assert wrong.status_code == 401 and wrong.get_json()["error"] == "invalid_client"
    assert wrong.get_json()["error_uri"] == "/oauth/errors"
    assert client.get("/oauth/device").status_code == 405


def test_wrong_auth_code_denial_and_expiry(app: Any, clock: Any) -> None:
    device = app.test_client()
    data = device.post("/oauth/device", data={"scope": "profile"}, headers=basic(app)).get_json()
    wrong = device.post("/oauth/device/authorize",
                        data={"auth_code": "BBBB-BBBB", "device_code": data["device_code"]})
    assert wrong.get_json()["error"] == "invalid_grant"
    browser = app.test_client()
    login(browser, "bob", "builder")
    assert "Request denied" in decide(browser, data["user_code"], "no").get_data(as_text=True)
    poll = {"auth_code": data["user_code"], "device_code": data["device_code"]}
    assert device.post("/oauth/device/authorize", data=poll).get_json()["error"] == \
        "access_denied"
    assert code_row(app, data["user_code"])[0] == "denied"

    second = device.post("/oauth/device", data={"scope": "profile"}, headers=basic(app)).get_json()
    clock.advance(601)
    expired = device.post("/oauth/device/authorize", data={
        "auth_code": second["user_code"], "device_code": second["device_code"]})
    assert expired.get_json()["error"] == "expired_token"


def test_activation_without_csrf_token_changes_nothing(app: Any) -> None:
    data = issue(app)
    browser = app.test_client()
    login(browser, "alice", "wonderland")
    forged = browser.post("/activate", data={"user_code": data["user_code"], "confirm": "yes"})
    assert forged.status_code == 400
    assert code_row(app, data["user_code"]) == ("pending", None)


def test_code_approved_by_another_user_stays_theirs(app: Any) -> None:
    data = issue(app)
    alice = app.test_client()
    login(alice, "alice", "wonderland")
    decide(alice, data["user_code"], "yes")
    status, owner = code_row(app, data["user_code"])
    bob = app.test_client()
    login(bob, "bob", "builder")
    taken = bob.post("/activate", data={"user_code": data["user_code"], "confirm": "yes",
                                        "csrf_token": csrf_of(bob)})
    assert taken.status_code == 400
    assert code_row(app, data["user_code"]) == (status, owner) and status == "approved"


def test_user_code_guessing_gets_429(app: Any) -> None:
    data = issue(app)
    browser = app.test_client()
    login(browser, "alice", "wonderland")
    statuses = [browser.post("/activate", data={"user_code": "BBBB-BBBB",
                                                "csrf_token": csrf_of(browser)}).status_code
                for _ in range(10)]
    assert statuses == [400] * 10
    blocked = browser.post("/activate", data={"user_code": data["user_code"], "confirm": "yes",
                                              "csrf_token": csrf_of(browser)})
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) > 0
    assert code_row(app, data["user_code"]) == ("pending", None)


def test_protected_resource_errors(app: Any) -> None:
    client = app.test_client()
    missing = client.get("/api/me")
    assert missing.status_code == 401 and missing.headers["WWW-Authenticate"].startswith("Bearer")
    bad = client.get("/api/me", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401 and 'error="invalid_token"' in bad.headers["WWW-Authenticate"]


def test_token_without_profile_scope_is_forbidden(app: Any, clock: Any) -> None:
    device = app.test_client()
    data = device.post("/oauth/device", data={"scope": "email"}, headers=basic(app)).get_json()
    browser = app.test_client()
    login(browser, "alice", "wonderland")
    decide(browser, data["user_code"], "yes")
    token = device.post("/oauth/token", data={"grant_type": GRANT,
                                              "device_code": data["device_code"]},
                        headers=basic(app)).get_json()
    me = device.get("/api/me", headers={"Authorization": "Bearer " + token["access_token"]})
    assert me.status_code == 403 and 'error="insufficient_scope"' in me.headers["WWW-Authenticate"]


class Browser:
    """A person on another screen, with requests: sign in, type the code, allow."""

    def __init__(self, base: str, username: str, password: str) -> None:
        self.base = base
        self.session = requests.Session()
        page = self.session.get(base + "/login")
        self.session.post(base + "/login", data={
            "username": username, "password": password,
            "csrf_token": CSRF.search(page.text).group(1)})

    def approve(self, complete_uri: str) -> requests.Response:
        page = self.session.get(complete_uri)
        user_code = re.search(r'name="user_code" value="([^"]*)"', page.text).group(1)
        consent = self.session.post(self.base + "/activate", data={
            "user_code": user_code, "csrf_token": CSRF.search(page.text).group(1)})
        return self.session.post(self.base + "/activate", data={
            "user_code": user_code, "confirm": "yes",
            "csrf_token": CSRF.search(consent.text).group(1)})


def test_rfc8628_client_over_http(app: Any, clock: Any) -> None:
    demo = app.config["DEMO"]
    auth = (demo["client_id"], demo["client_secret"])
    with live_server(app) as base:
        issued = requests.post(base + "/oauth/device", data={"scope": "profile"}, auth=auth,
                               timeout=10)
        assert issued.status_code == 200
        data = issued.json()
        assert data["verification_uri"] == base + "/activate"
        form = {"grant_type": GRANT, "device_code": data["device_code"]}
        first = requests.post(base + "/oauth/token", data=form, auth=auth, timeout=10)
        assert first.json()["error"] == "authorization_pending"
        too_fast = requests.post(base + "/oauth/token", data=form, auth=auth, timeout=10)
        assert too_fast.json()["error"] == "slow_down"
        outcome = Browser(base, "alice", "wonderland").approve(data["verification_uri_complete"])
        assert "Device connected" in outcome.text
        clock.advance(data["interval"] + 5)
        token = requests.post(base + "/oauth/token", data=form, auth=auth, timeout=10)
        assert token.status_code == 200, token.text
        me = requests.get(base + "/api/me", timeout=10,
                          headers={"Authorization": "Bearer " + token.json()["access_token"]})
        assert me.json() == {"username": "alice", "sub": me.json()["sub"]}


def test_legacy_client_over_http_and_concurrent_polls(app: Any, clock: Any) -> None:
    with live_server(app) as base:
        data = requests.post(base + "/oauth/device", data={"scope": "profile"}, headers=basic(app),
                             timeout=10).json()
        Browser(base, "bob", "builder").approve(data["activate_link"] + "?user_code="
                                                + data["user_code"])
        poll = {"auth_code": data["user_code"], "device_code": data["device_code"]}
        barrier = threading.Barrier(10)

        def one() -> requests.Response:
            barrier.wait()
            return requests.post(data["authorize_link"], data=poll, timeout=20)

        with ThreadPoolExecutor(10) as pool:
            responses = list(pool.map(lambda _: one(), range(10)))
        assert [r.status_code for r in responses].count(200) == 1
        with app.app_context():
            assert example.Token.query.count() == 1
