"""A requests session that logs in and consents like a user at a browser would."""

from __future__ import annotations

import re

import requests

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "no csrf_token in page"
    return match.group(1)


def logged_in(base_url: str, username: str, password: str,
              login_path: str = "/") -> requests.Session:
    session = requests.Session()
    page = session.get(base_url + login_path)
    resp = session.post(base_url + login_path, data={
        "csrf_token": csrf_token(page.text), "username": username, "password": password,
        "action": "login"}, allow_redirects=False)
    assert resp.status_code in (302, 303), resp.text
    return session


def consent(session: requests.Session, authorization_url: str, allow: bool = True) -> str:
    """Open the consent page and answer it; returns the redirect Location."""
    page = session.get(authorization_url, allow_redirects=False)
    assert page.status_code == 200, page.text
    resp = session.post(authorization_url, data={
        "csrf_token": csrf_token(page.text), "confirm": "yes" if allow else "no"},
        allow_redirects=False)
    assert resp.status_code == 302, resp.text
    return resp.headers["Location"]
