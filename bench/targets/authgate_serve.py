"""Seed the ready-to-run server (target ``authgate-serve``) as an operator and a user would.

    python -m bench.targets.authgate_serve seed     # prints the fixtures as JSON

The user and both clients come from the documented CLI (``create-user``,
``create-client --json``, ``create-oauth1-client --json``), so their secrets
are the server's own. What the CLI does not do is then done in this
process, through ``authgate.server.create_app()`` built from the same
environment (same instance folder, database and keys as the gunicorn that
starts next) and its test client, like a person at a browser:

- consent to the OAuth 2 client once, so W3's ``/oauth/authorize`` is the
  remembered-consent redirect, as on the other targets.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import secrets
import subprocess
import sys
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from bench.targets import fixtures as fx

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _cli(*args: str, stdin: str | None = None) -> str:
    authgate = os.path.join(os.path.dirname(sys.executable), "authgate")
    return subprocess.run([authgate, *args], input=stdin, check=True, capture_output=True,
                          text=True, env=os.environ).stdout


def _csrf(html: str) -> str:
    found = CSRF.search(html)
    if not found:
        raise RuntimeError(f"no csrf_token on the page: {html[:300]}")
    return found.group(1)


def _expect(answer: Any, *statuses: int) -> Any:
    if answer.status_code not in statuses:
        raise RuntimeError(f"{answer.request.method} {answer.request.path}: "
                           f"{answer.status_code} {answer.get_data(as_text=True)[:500]}")
    return answer


class Browser:
    """The server's app driven through its test client, on the issuer's own host and port."""

    def __init__(self, issuer: str) -> None:
        from authgate.server import create_app

        self.issuer = issuer
        self.web = create_app().test_client()

    def get(self, path: str, **kw: Any) -> Any:
        return self.web.get(path, base_url=self.issuer, **kw)

    def post(self, path: str, **kw: Any) -> Any:
        return self.web.post(path, base_url=self.issuer, **kw)

    def sign_in(self) -> None:
        page = _expect(self.get("/login"), 200).get_data(as_text=True)
        _expect(self.post("/login", data={"username": fx.USERNAME, "password": fx.PASSWORD,
                                          "csrf_token": _csrf(page)}), 302, 303)

    def consent(self, path: str) -> Any:
        """Open a consent page and answer yes; the answer to the POST."""
        page = _expect(self.get(path), 200).get_data(as_text=True)
        return self.post(path, data={"confirm": "yes", "csrf_token": _csrf(page)})


def consent_oauth2(browser: Browser, client_id: str) -> None:
    """Grant the bench client its scope once (remembered), as the other targets' seeds do."""
    challenge = base64.urlsafe_b64encode(
        hashlib.sha256(secrets.token_urlsafe(48).encode()).digest()).rstrip(b"=").decode()
    query = urlencode({"response_type": "code", "client_id": client_id,
                       "redirect_uri": fx.REDIRECT_URI, "scope": fx.SCOPE, "state": "seed",
                       "code_challenge": challenge, "code_challenge_method": "S256"})
    answer = _expect(browser.consent("/oauth/authorize?" + query), 302, 303)
    if "code" not in parse_qs(urlsplit(answer.headers["Location"]).query):
        raise RuntimeError(f"consent gave no code: {answer.headers['Location']}")


def seed() -> dict[str, object]:
    _cli("create-user", fx.USERNAME, "--password-stdin", "--scope", fx.SCOPE,
         stdin=fx.PASSWORD + "\n")
    args = ["create-client", "--name", "Bench client", "--redirect-uri", fx.REDIRECT_URI,
            "--scope", fx.SCOPE, "--auth-method", "client_secret_basic", "--json"]
    for grant in fx.GRANT_TYPES:
        args += ["--grant-type", grant]
    client = json.loads(_cli(*args))
    oauth1 = json.loads(_cli("create-oauth1-client", "--name", "Bench OAuth1", "--json"))
    issuer = os.environ["AUTHGATE_ISSUER"]
    browser = Browser(issuer)
    browser.sign_in()
    consent_oauth2(browser, client["client_id"])
    found = fx.fixtures(issuer)
    # The server keeps RFC 8628's polling interval (no setting turns it off), so W5's
    # back-to-back polls are also answered slow_down (see bench/driver.py's run_w5).
    found.update(client_id=client["client_id"], client_secret=client["client_secret"],
                 login_csrf=True, device_poll_answers=["authorization_pending", "slow_down"])
    found["oauth1"] = {"client_key": oauth1["client_id"], "client_secret": oauth1["client_secret"],
                       "token": None, "token_secret": None}
    return found


if __name__ == "__main__":
    print(json.dumps(seed()))
