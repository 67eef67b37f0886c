"""``authgate serve`` for real (gunicorn on a loopback port), driven by standard clients.

requests-oauthlib runs the authorization code grant with PKCE and the OAuth 1
three-legged flow; the JWT is checked the way an outside resource server
would, with ``JWKSClient`` following the metadata to ``/certs``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from requests.auth import HTTPBasicAuth
from requests_oauthlib import OAuth1Session, OAuth2Session

from authgate.core.oauth2.jwt import JWKSClient, JWTAccessTokenValidator
from tests.conftest import free_port
from tests.support.browser_session import consent, csrf_token, logged_in

BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict]]:
    tmp = tmp_path_factory.mktemp("served")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "AUTHGATE_INSTANCE_PATH": str(tmp / "instance"),
           "AUTHGATE_DATABASE_URL": f"sqlite:///{tmp / 'live.sqlite'}",
           "AUTHGATE_ISSUER": base}

    def cli(*args: str, stdin: str | None = None) -> str:
        return subprocess.run([str(BIN / "authgate"), *args], env=env, input=stdin, text=True,
                              capture_output=True, check=True, timeout=60).stdout

    cli("create-user", "alice", "--password-stdin", "--scope", "profile email",
        stdin="wonderland-42\n")
    clients = {
        "web": json.loads(cli("create-client", "--name", "Web app", "--redirect-uri",
                              f"{base}/cb", "--json")),
        "oauth1": json.loads(cli("create-oauth1-client", "--name", "Printer", "--json")),
    }
    # A file, not a pipe: gunicorn's access log would fill a pipe and stall the server.
    log = open(tmp / "serve.log", "w")  # noqa: SIM115 - closed after the server stops
    process = subprocess.Popen([str(BIN / "authgate"), "serve", "--port", str(port),
                                "--workers", "2"], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        for _ in range(150):
            try:
                if requests.get(base + "/health/ready", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                time.sleep(0.1)
        else:
            process.kill()
            pytest.fail("authgate serve did not start: " + (tmp / "serve.log").read_text())
        yield base, clients
    finally:
        process.terminate()
        process.wait(15)
        log.close()


def test_authorization_code_with_pkce_and_a_jwt_checked_with_the_jwks(served, monkeypatch
                                                                      ) -> None:
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    base, clients = served
    web = clients["web"]
    oauth = OAuth2Session(web["client_id"], redirect_uri=f"{base}/cb", scope=["profile"],
                          pkce="S256")
    url, state = oauth.authorization_url(f"{base}/oauth/authorize")
    location = consent(logged_in(base, "alice", "wonderland-42", login_path="/login"), url)
    assert f"state={state}" in location
    token = oauth.fetch_token(f"{base}/oauth/token", authorization_response=location,
                              client_secret=web["client_secret"])
    assert token["refresh_token"] and token["expires_in"] == 3600
    me = oauth.get(f"{base}/api/me")
    assert me.status_code == 200 and me.json()["username"] == "alice"
    assert me.headers["Cache-Control"] == "no-store"

    resource_server = JWTAccessTokenValidator(base, base, JWKSClient(base))
    claims = resource_server.validate(token["access_token"])
    assert claims.client_id == web["client_id"] and claims.sub == me.json()["sub"]

    refreshed = oauth.refresh_token(f"{base}/oauth/token",
                                    auth=HTTPBasicAuth(web["client_id"], web["client_secret"]))
    assert refreshed["refresh_token"] != token["refresh_token"]
    assert oauth.get(f"{base}/api/me").status_code == 200


def test_oauth1_three_legged_flow_out_of_band(served) -> None:
    base, clients = served
    client = clients["oauth1"]
    oauth = OAuth1Session(client["client_id"], client_secret=client["client_secret"],
                          callback_uri="oob")
    temporary = oauth.fetch_request_token(f"{base}/oauth1/initiate")
    assert temporary["oauth_callback_confirmed"] == "true"
    browser = logged_in(base, "alice", "wonderland-42", login_path="/login")
    url = oauth.authorization_url(f"{base}/oauth1/authorize")
    page = browser.get(url)
    assert page.status_code == 200 and "Printer" in page.text
    answer = browser.post(url, data={"csrf_token": csrf_token(page.text), "confirm": "yes"})
    verifier = re.search(r'id="oauth_verifier"[^>]*>([^<]+)<', answer.text)
    assert verifier, answer.text
    oauth.fetch_access_token(f"{base}/oauth1/token", verifier=verifier.group(1))
    me = oauth.get(f"{base}/oauth1/api/me")
    assert me.status_code == 200 and me.json()["username"] == "alice"
    unsigned = requests.get(f"{base}/oauth1/api/me", timeout=5)
    assert unsigned.status_code in (400, 401)
