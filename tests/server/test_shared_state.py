"""Several ``authgate serve`` processes act as one, over one PostgreSQL and one Redis.

Two real servers on two loopback ports share the database and a Redis key
prefix of their own; what one of them learned (a used nonce, a polling pace,
failed authentications, a rotated refresh token) holds at the other. Also:
plain ``gunicorn 'authgate.server:create_app()'`` runs on the same settings.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
from oauthlib.oauth1 import Client as OAuth1Client
from tests.conftest import free_port

from authgate.server.ratelimit import PER_ADDRESS

pytestmark = [pytest.mark.postgres, pytest.mark.redis]
BIN = Path(sys.executable).parent
PASSWORD = "wonderland-42"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


def _cli(env: dict, *args: str, stdin: str | None = None) -> str:
    return subprocess.run([str(BIN / "authgate"), *args], env=env, input=stdin, text=True,
                          capture_output=True, check=True, timeout=60).stdout


@contextmanager
def _running(command: list[str], env: dict, base: str, log_path: Path) -> Iterator[None]:
    # A file, not a pipe: gunicorn's access log would fill a pipe and stall the server.
    with open(log_path, "w") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            for _ in range(200):
                try:
                    if requests.get(base + "/health/ready", timeout=1).status_code == 200:
                        break
                except requests.RequestException:  # not up yet, or a worker still booting
                    pass
                if process.poll() is not None:
                    break
                time.sleep(0.1)
            else:
                pytest.fail("server did not start: " + log_path.read_text())
            if process.poll() is not None:
                pytest.fail("server exited: " + log_path.read_text())
            yield
        finally:
            process.terminate()
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)


def _signed_initiate(base: str, client: dict, nonce: str, timestamp: str) -> requests.Response:
    signer = OAuth1Client(client["client_id"], client_secret=client["client_secret"],
                          callback_uri="oob", nonce=nonce, timestamp=timestamp)
    uri, headers, body = signer.sign(base + "/oauth1/initiate", http_method="POST")
    return requests.post(uri, headers=headers, data=body, timeout=10)


def test_two_processes_act_as_one(tmp_path: Path, postgres_url: str, redis_url: str,
                                  redis_prefix: str) -> None:
    port_a, port_b = free_port(), free_port()
    a, b = f"http://127.0.0.1:{port_a}", f"http://127.0.0.1:{port_b}"
    common = {**os.environ, "AUTHGATE_DATABASE_URL": postgres_url,
              "AUTHGATE_REDIS_URL": redis_url, "AUTHGATE_REDIS_PREFIX": redis_prefix,
              "AUTHGATE_SECRET_KEY": "shared-secret-key-of-the-test-" + redis_prefix,
              "AUTHGATE_ISSUER": a, "AUTHGATE_JWT_ALG": "ES256"}
    env_a = {**common, "AUTHGATE_INSTANCE_PATH": str(tmp_path / "a")}
    env_b = {**common, "AUTHGATE_INSTANCE_PATH": str(tmp_path / "b")}
    user = f"bob{time.monotonic_ns()}"
    _cli(env_a, "create-user", user, "--password-stdin", "--scope", "profile",
         stdin=PASSWORD + "\n")
    app = json.loads(_cli(env_a, "create-client", "--name", "cli", "--grant-type", "password",
                          "--grant-type", "refresh_token", "--json"))
    tv = json.loads(_cli(env_a, "create-client", "--name", "tv", "--grant-type", DEVICE_GRANT,
                         "--json"))
    printer = json.loads(_cli(env_a, "create-oauth1-client", "--name", "printer", "--json"))
    basic = (app["client_id"], app["client_secret"])

    serve = [str(BIN / "authgate"), "serve", "--port"]
    with _running([*serve, str(port_a)], env_a, a, tmp_path / "a.log"), \
            _running([*serve, str(port_b)], env_b, b, tmp_path / "b.log"):
        # 1. An OAuth 1 nonce used at A is refused at B (signed for B's URL, same nonce).
        stamp = str(int(time.time()))
        assert _signed_initiate(a, printer, "nonce-shared-1", stamp).status_code == 200
        replay = _signed_initiate(b, printer, "nonce-shared-1", stamp)
        assert replay.status_code == 401, replay.text
        assert _signed_initiate(b, printer, "nonce-fresh-2", stamp).status_code == 200

        # 2. A device slow_down earned at A holds at B: the pace lives in Redis.
        started = requests.post(a + "/oauth/device", auth=(tv["client_id"], tv["client_secret"]),
                                data={"scope": "profile"}, timeout=10).json()
        poll = {"grant_type": DEVICE_GRANT, "device_code": started["device_code"]}
        tv_auth = (tv["client_id"], tv["client_secret"])
        first = requests.post(a + "/oauth/token", auth=tv_auth, data=poll, timeout=10)
        assert first.json()["error"] == "authorization_pending"
        assert requests.post(a + "/oauth/token", auth=tv_auth, data=poll,
                             timeout=10).json()["error"] == "slow_down"
        at_b = requests.post(b + "/oauth/token", auth=tv_auth, data=poll, timeout=10)
        assert at_b.json()["error"] == "slow_down"

        # 3. A refresh token rotated at A is refused at B.
        issued = requests.post(a + "/oauth/token", auth=basic, timeout=10, data={
            "grant_type": "password", "username": user, "password": PASSWORD,
            "scope": "profile"}).json()
        rotated = requests.post(a + "/oauth/token", auth=basic, timeout=10, data={
            "grant_type": "refresh_token", "refresh_token": issued["refresh_token"]})
        assert rotated.status_code == 200
        stale = requests.post(b + "/oauth/token", auth=basic, timeout=10, data={
            "grant_type": "refresh_token", "refresh_token": issued["refresh_token"]})
        assert stale.status_code == 400 and stale.json()["error"] == "invalid_grant"

        # 4. Failed client authentications counted at A hold at B (last: it locks loopback).
        wrong = (app["client_id"], "not-the-secret")
        for _ in range(PER_ADDRESS.attempts):
            assert requests.post(a + "/oauth/token", auth=wrong, timeout=10,
                                 data={"grant_type": "client_credentials"}).status_code == 401
        limited = requests.post(b + "/oauth/token", auth=basic, timeout=10, data={
            "grant_type": "password", "username": user, "password": PASSWORD})
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
