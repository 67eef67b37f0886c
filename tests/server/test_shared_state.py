"""Several ``authgate serve`` processes act as one, over one PostgreSQL and one Redis.

Two real servers on two loopback ports share a database of their own and a
Redis key prefix of their own; what one of them learned (a code it issued, a
device it approved, a used nonce, a polling pace, a revocation, failed
authentications, a rotated refresh token) holds at the other. Fifty
concurrent redemptions of one code, split between them, give one token. Also:
plain ``gunicorn 'authgate.server:create_app()'`` runs on the same settings.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from oauthlib.oauth1 import Client as OAuth1Client

from authgate.oauth2 import create_s256_code_challenge
from authgate.server.ratelimit import PER_ADDRESS
from tests.conftest import RUN_ID, free_port
from tests.support.postgres import fresh_postgres

pytestmark = [pytest.mark.postgres, pytest.mark.redis]
BIN = Path(sys.executable).parent
PASSWORD = "wonderland-42"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
REDIRECT = "https://app.example.com/cb"
VERIFIER = "v" * 64
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
#: How long a server may take to answer /health/ready after its start, on a loaded machine.
START_DEADLINE_S = 90.0


def _wait_ready(process: subprocess.Popen, base: str, log_path: Path) -> None:
    """Poll /health/ready until 200, the process exits, or the deadline passes."""
    deadline = time.monotonic() + START_DEADLINE_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"server exited ({process.returncode}): " + log_path.read_text())
        try:
            # A generous read timeout: a worker still importing may be slow, not dead.
            if requests.get(base + "/health/ready", timeout=10).status_code == 200:
                return
        except requests.RequestException:  # not listening yet
            pass
        time.sleep(0.1)
    pytest.fail(f"server not ready after {START_DEADLINE_S}s: " + log_path.read_text())


def _stop(processes: list[subprocess.Popen]) -> None:
    """SIGTERM to all first, then wait: gunicorn's graceful shutdowns overlap."""
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


@contextmanager
def running_all(servers: list[tuple[list[str], dict, str, Path]]) -> Iterator[None]:
    """Start every ``(command, env, base, log_path)`` at once, then wait for all to be ready."""
    with ExitStack() as stack:
        processes: list[subprocess.Popen] = []
        stack.callback(_stop, processes)
        for command, env, _base, log_path in servers:
            # A file, not a pipe: gunicorn's access log would fill a pipe and stall the server.
            log = stack.enter_context(open(log_path, "w"))
            processes.append(subprocess.Popen(command, env=env, stdout=log,
                                              stderr=subprocess.STDOUT))
        for process, (_command, _env, base, log_path) in zip(processes, servers, strict=True):
            _wait_ready(process, base, log_path)
        yield


@contextmanager
def _running(command: list[str], env: dict, base: str, log_path: Path) -> Iterator[None]:
    with running_all([(command, env, base, log_path)]):
        yield


@dataclass
class Pair:
    """Two servers on one database and Redis prefix, and what was registered on them."""

    a: str
    b: str
    user: str
    web: dict
    machine: dict
    tv: dict
    printer: dict


def _setup(env: dict, user: str) -> dict[str, dict]:
    """Schema, keys, a user and clients, in-process: the servers then start on a ready
    database (two fresh servers would otherwise both run the migrations at once)."""
    from authgate.server import admin, create_app
    from authgate.server.app import state

    keys = ("AUTHGATE_DATABASE_URL", "AUTHGATE_REDIS_URL", "AUTHGATE_REDIS_PREFIX",
            "AUTHGATE_SECRET_KEY", "AUTHGATE_ISSUER", "AUTHGATE_JWT_ALG")
    app = create_app({k: env[k] for k in keys} | {"AUTHGATE_INSTANCE_PATH": env["SETUP_DIR"]})
    try:
        with app.app_context():
            admin.create_user(user, PASSWORD, "profile")
            return {
                "web": admin.create_oauth2_client("web", ["authorization_code", "refresh_token"],
                                                  [REDIRECT], "profile", "client_secret_basic"),
                "machine": admin.create_oauth2_client(
                    "cli", ["password", "refresh_token", "client_credentials"], [], "profile",
                    "client_secret_basic"),
                "tv": admin.create_oauth2_client("tv", [DEVICE_GRANT], [], "profile",
                                                 "client_secret_basic"),
                "printer": admin.create_oauth1_client("printer", "", None),
            }
    finally:
        state(app).db.dispose()


@contextmanager
def server_pair(tmp: Path, postgres_url: str, redis_url: str) -> Iterator[Pair]:
    port_a, port_b = free_port(), free_port()
    a, b = f"http://127.0.0.1:{port_a}", f"http://127.0.0.1:{port_b}"
    prefix = f"authgate-test:{RUN_ID}:{uuid.uuid4().hex[:8]}:"
    with fresh_postgres(postgres_url) as database:
        common = {**os.environ, "AUTHGATE_DATABASE_URL": database,
                  "AUTHGATE_REDIS_URL": redis_url, "AUTHGATE_REDIS_PREFIX": prefix,
                  "AUTHGATE_SECRET_KEY": "shared-secret-key-of-the-test-" + prefix,
                  "AUTHGATE_ISSUER": a, "AUTHGATE_JWT_ALG": "ES256",
                  "SETUP_DIR": str(tmp / "setup")}
        user = f"bob{time.monotonic_ns()}"
        clients = _setup(common, user)
        serve = [str(BIN / "authgate"), "serve", "--port"]
        with running_all([
            ([*serve, str(port_a)], {**common, "AUTHGATE_INSTANCE_PATH": str(tmp / "a")}, a,
             tmp / "a.log"),
            ([*serve, str(port_b)], {**common, "AUTHGATE_INSTANCE_PATH": str(tmp / "b")}, b,
             tmp / "b.log"),
        ]):
            yield Pair(a, b, user, **clients)


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory, postgres_url: str,
         redis_url: str) -> Iterator[Pair]:
    with server_pair(tmp_path_factory.mktemp("pair"), postgres_url, redis_url) as servers:
        yield servers


def _auth(client: dict) -> tuple[str, str]:
    return client["client_id"], client["client_secret"]


def _csrf(html: str) -> str:
    match = CSRF.search(html)
    assert match, "no csrf_token in page"
    return match.group(1)


def _signed_in(base: str, username: str) -> requests.Session:
    browser = requests.Session()
    page = browser.get(base + "/login", timeout=10).text
    answer = browser.post(base + "/login", timeout=10, allow_redirects=False, data={
        "username": username, "password": PASSWORD, "csrf_token": _csrf(page)})
    assert answer.status_code == 303, answer.text
    return browser


def _code_from(pair: Pair, base: str) -> str:
    """An authorization code issued by ``base``, after sign-in and consent there."""
    browser = _signed_in(base, pair.user)
    url = base + "/oauth/authorize?" + urlencode({
        "response_type": "code", "client_id": pair.web["client_id"], "scope": "profile",
        "redirect_uri": REDIRECT, "state": "s1", "prompt": "consent",
        "code_challenge": create_s256_code_challenge(VERIFIER),
        "code_challenge_method": "S256"})
    page = browser.get(url, timeout=10)
    assert page.status_code == 200, page.text
    answer = browser.post(url, timeout=10, allow_redirects=False,
                          data={"confirm": "yes", "csrf_token": _csrf(page.text)})
    assert answer.status_code == 302, answer.text
    return parse_qs(urlsplit(answer.headers["Location"]).query)["code"][0]


def _redeem(pair: Pair, base: str, code: str, session: requests.Session | None = None
            ) -> requests.Response:
    return (session or requests).post(base + "/oauth/token", auth=_auth(pair.web), timeout=30,
                                      data={"grant_type": "authorization_code", "code": code,
                                            "redirect_uri": REDIRECT,
                                            "code_verifier": VERIFIER})


def _signed_initiate(base: str, client: dict, nonce: str, timestamp: str) -> requests.Response:
    signer = OAuth1Client(client["client_id"], client_secret=client["client_secret"],
                          callback_uri="oob", nonce=nonce, timestamp=timestamp)
    uri, headers, body = signer.sign(base + "/oauth1/initiate", http_method="POST")
    return requests.post(uri, headers=headers, data=body, timeout=10)


def test_code_issued_at_a_is_redeemed_at_b_once(pair: Pair) -> None:
    code = _code_from(pair, pair.a)
    tokens = _redeem(pair, pair.b, code)
    assert tokens.status_code == 200, tokens.text
    bearer = {"Authorization": "Bearer " + tokens.json()["access_token"]}
    me = requests.get(pair.a + "/api/me", timeout=10, headers=bearer)
    assert me.status_code == 200 and me.json()["username"] == pair.user
    assert _redeem(pair, pair.a, code).json()["error"] == "invalid_grant"  # single use
    # RFC 6749 §4.1.2: a replayed code revokes what it gave, wherever it was redeemed.
    assert requests.get(pair.b + "/api/me", timeout=10, headers=bearer).status_code == 401


def test_fifty_concurrent_redemptions_across_both_give_one_token(pair: Pair) -> None:
    code = _code_from(pair, pair.a)
    start = threading.Barrier(50)
    statuses: list[tuple[int, str]] = []
    lock = threading.Lock()

    def redeem(base: str) -> None:
        with requests.Session() as session:
            start.wait(30)
            answer = _redeem(pair, base, code, session)
        with lock:
            statuses.append((answer.status_code, answer.json().get("error", "")))

    threads = [threading.Thread(target=redeem, args=(pair.a if n % 2 else pair.b,))
               for n in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert len(statuses) == 50
    assert [s for s in statuses if s[0] == 200] == [(200, "")], statuses
    assert all(s == (400, "invalid_grant") for s in statuses if s[0] != 200), statuses


def test_device_approved_at_a_is_redeemed_at_b(pair: Pair) -> None:
    started = requests.post(pair.a + "/oauth/device", auth=_auth(pair.tv), timeout=10,
                            data={"scope": "profile"}).json()
    browser = _signed_in(pair.a, pair.user)
    page = browser.get(pair.a + "/activate", params={"user_code": started["user_code"]},
                       timeout=10).text
    consent = browser.post(pair.a + "/activate", timeout=10, data={
        "user_code": started["user_code"], "csrf_token": _csrf(page)})
    done = browser.post(pair.a + "/activate", timeout=10, data={
        "user_code": started["user_code"], "confirm": "yes", "csrf_token": _csrf(consent.text)})
    assert done.status_code == 200 and "approved" in done.text.lower()
    poll = {"grant_type": DEVICE_GRANT, "device_code": started["device_code"]}
    tokens = requests.post(pair.b + "/oauth/token", auth=_auth(pair.tv), data=poll, timeout=10)
    assert tokens.status_code == 200, tokens.text
    again = requests.post(pair.a + "/oauth/token", auth=_auth(pair.tv), data=poll, timeout=10)
    assert again.status_code == 400 and again.json()["error"] in ("invalid_grant",
                                                                   "expired_token", "slow_down")


def test_nonce_and_polling_pace_are_shared(pair: Pair) -> None:
    # An OAuth 1 nonce used at A is refused at B (signed for B's URL, same nonce).
    stamp = str(int(time.time()))
    nonce = uuid.uuid4().hex
    assert _signed_initiate(pair.a, pair.printer, nonce, stamp).status_code == 200
    replay = _signed_initiate(pair.b, pair.printer, nonce, stamp)
    assert replay.status_code == 401, replay.text
    assert _signed_initiate(pair.b, pair.printer, nonce + "x", stamp).status_code == 200

    # A device slow_down earned at A holds at B: the pace lives in Redis.
    started = requests.post(pair.a + "/oauth/device", auth=_auth(pair.tv), timeout=10,
                            data={"scope": "profile"}).json()
    poll = {"grant_type": DEVICE_GRANT, "device_code": started["device_code"]}
    first = requests.post(pair.a + "/oauth/token", auth=_auth(pair.tv), data=poll, timeout=10)
    assert first.json()["error"] == "authorization_pending"
    assert requests.post(pair.a + "/oauth/token", auth=_auth(pair.tv), data=poll,
                         timeout=10).json()["error"] == "slow_down"
    at_b = requests.post(pair.b + "/oauth/token", auth=_auth(pair.tv), data=poll, timeout=10)
    assert at_b.json()["error"] == "slow_down"


def _password_tokens(pair: Pair, base: str) -> dict:
    answer = requests.post(base + "/oauth/token", auth=_auth(pair.machine), timeout=10, data={
        "grant_type": "password", "username": pair.user, "password": PASSWORD,
        "scope": "profile"})
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_revocation_at_a_holds_at_b_at_once(pair: Pair) -> None:
    tokens = _password_tokens(pair, pair.a)
    bearer = {"Authorization": "Bearer " + tokens["access_token"]}
    assert requests.get(pair.b + "/api/me", headers=bearer, timeout=10).status_code == 200
    revoked = requests.post(pair.a + "/oauth/revoke", auth=_auth(pair.machine), timeout=10,
                            data={"token": tokens["access_token"],
                                  "token_type_hint": "access_token"})
    assert revoked.status_code == 200
    after = requests.get(pair.b + "/api/me", headers=bearer, timeout=10)
    assert after.status_code == 401 and "invalid_token" in after.headers["WWW-Authenticate"]


def test_refresh_token_rotated_at_a_is_refused_at_b(pair: Pair) -> None:
    issued = _password_tokens(pair, pair.a)
    rotated = requests.post(pair.a + "/oauth/token", auth=_auth(pair.machine), timeout=10, data={
        "grant_type": "refresh_token", "refresh_token": issued["refresh_token"]})
    assert rotated.status_code == 200
    stale = requests.post(pair.b + "/oauth/token", auth=_auth(pair.machine), timeout=10, data={
        "grant_type": "refresh_token", "refresh_token": issued["refresh_token"]})
    assert stale.status_code == 400 and stale.json()["error"] == "invalid_grant"


def test_failed_client_auth_counted_at_a_holds_at_b(tmp_path: Path, postgres_url: str,
                                                    redis_url: str) -> None:
    # A pair of its own: reaching the limit locks every client on loopback for a window.
    with server_pair(tmp_path, postgres_url, redis_url) as servers:
        wrong = (servers.machine["client_id"], "not-the-secret")
        for _ in range(PER_ADDRESS.attempts):
            assert requests.post(servers.a + "/oauth/token", auth=wrong, timeout=10,
                                 data={"grant_type": "client_credentials"}).status_code == 401
        limited = requests.post(servers.b + "/oauth/token", auth=_auth(servers.machine),
                                timeout=10, data={"grant_type": "client_credentials"})
        assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0


def test_plain_gunicorn_runs_on_the_same_settings(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "AUTHGATE_INSTANCE_PATH": str(tmp_path / "instance"),
           "AUTHGATE_DATABASE_URL": f"sqlite:///{tmp_path / 'g.sqlite'}",
           "AUTHGATE_ISSUER": "http://auth.test.example:8080", "AUTHGATE_JWT_ALG": "ES256",
           "AUTHGATE_SCOPES": "profile reports"}
    command = [str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", "2",
               "--chdir", str(tmp_path), "-c", "python:authgate.server.gunicorn_conf",
               "authgate.server:create_app()"]
    with _running(command, env, base, tmp_path / "gunicorn.log"):
        doc = requests.get(base + "/.well-known/oauth-authorization-server", timeout=10).json()
        assert doc["issuer"] == "http://auth.test.example:8080"
        assert doc["scopes_supported"] == ["profile", "reports"]
        keys = requests.get(base + "/certs", timeout=10).json()["keys"]
        assert keys and keys[0]["alg"] == "ES256"
