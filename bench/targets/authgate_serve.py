"""Seed the ready-to-run server (target ``authgate-serve``) as an operator and a user would.

    python -m bench.targets.authgate_serve seed     # prints the fixtures as JSON

The user and both clients come from the documented CLI (``create-user``,
``create-client --json``, ``create-oauth1-client --json``), so their secrets
are the server's own. Two things the CLI does not do are then done in this
process, through ``authgate.server.create_app()`` built from the same
environment (same instance folder, database and keys as the gunicorn that
starts next) and its test client, like a person at a browser:

- consent to the OAuth 2 client once, so W3's ``/oauth/authorize`` is the
  remembered-consent redirect, as on the other targets;
- the OAuth 1.0a three-legged flow (initiate, sign in and consent, ``oob``
  verifier read from the page, token), signed by ``bench.oauth1_sign`` rather
  than by authgate's code, for the token credential W4 signs with.
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

from bench import oauth1_sign
from bench.targets import fixtures as fx

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
VERIFIER = re.compile(r'id="oauth_verifier"[^>]*>([^<]+)<')


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


def oauth1_token_credential(browser: Browser, client_key: str, client_secret: str
                            ) -> tuple[str, str]:
    """Run RFC 5849's three legs out of band; the token credential (token, secret)."""

    def signed(path: str, token: str | None, token_secret: str, **extra: str) -> Any:
        header = oauth1_sign.authorization_header(
            "POST", browser.issuer + path, client_key=client_key, client_secret=client_secret,
            token=token, token_secret=token_secret, extra=extra)
        answer = _expect(browser.post(path, headers={"Authorization": header}), 200)
        return parse_qs(answer.get_data(as_text=True))

    temporary = signed("/oauth1/initiate", None, "", oauth_callback="oob")
    if temporary.get("oauth_callback_confirmed") != ["true"]:
        raise RuntimeError(f"initiate: {temporary}")
    token, secret = temporary["oauth_token"][0], temporary["oauth_token_secret"][0]
    page = _expect(browser.consent("/oauth1/authorize?" + urlencode({"oauth_token": token})),
                   200).get_data(as_text=True)
    found = VERIFIER.search(page)
    if not found:
        raise RuntimeError(f"no oauth_verifier on the page after consent: {page[:500]}")
    credential = signed("/oauth1/token", token, secret, oauth_verifier=found.group(1).strip())
    return credential["oauth_token"][0], credential["oauth_token_secret"][0]


def seed() -> dict[str, object]:
    _cli("create-user", fx.USERNAME, "--password-stdin", "--scope", fx.SCOPE,
         stdin=fx.PASSWORD + "\n")
    args = ["create-client", "--name", "Bench client", "--redirect-uri", fx.REDIRECT_URI,
            "--scope", fx.SCOPE, "--auth-method", "client_secret_basic", "--json"]
    for grant in fx.GRANT_TYPES:
        args += ["--grant-type", grant]
    client = json.loads(_cli(*args))
    # No callback URI: the flow below is out of band, the way a device without a browser
    # would run it, and the verifier is read from the page.
    oauth1 = json.loads(_cli("create-oauth1-client", "--name", "Bench OAuth1", "--json"))
    issuer = os.environ["AUTHGATE_ISSUER"]
    browser = Browser(issuer)
    browser.sign_in()
    consent_oauth2(browser, client["client_id"])
    token, token_secret = oauth1_token_credential(browser, oauth1["client_id"],
                                                  oauth1["client_secret"])
    found = fx.fixtures(issuer)
    found.update(client_id=client["client_id"], client_secret=client["client_secret"],
                 login_csrf=True)
    found["oauth1"] = {"client_key": oauth1["client_id"], "client_secret": oauth1["client_secret"],
                       "token": token, "token_secret": token_secret}
    return found


if __name__ == "__main__":
    print(json.dumps(seed()))
