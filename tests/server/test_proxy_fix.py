"""``AUTHGATE_PROXY_FIX``: behind a TLS-terminating reverse proxy, believe its X-Forwarded-*."""

from __future__ import annotations

import pytest

from authgate.server.ratelimit import PER_ADDRESS
from tests.server.test_oauth2_flows import _basic

PUBLIC = {"Host": "auth.example.com", "X-Forwarded-Proto": "https"}
#: What the proxy on 10.0.0.2 passes on: plain http to us, the client's address forwarded.
BEHIND = {"REMOTE_ADDR": "10.0.0.2"}


def _token(web, info: dict, client_addr: str, secret: str | None = None):
    headers = {**PUBLIC, "X-Forwarded-For": client_addr,
               **_basic({**info, "client_secret": secret or info["client_secret"]})}
    return web.post("/oauth/token", headers=headers, environ_base=BEHIND,
                    data={"grant_type": "client_credentials", "scope": "profile"})


def test_forwarded_scheme_and_address_are_used(make_server) -> None:
    server = make_server(AUTHGATE_PROXY_FIX="1", AUTHGATE_ISSUER="https://auth.example.com")
    info = server.client("m", grant_types=("client_credentials",), redirect_uris=())
    web = server.app.test_client()
    assert _token(web, info, "203.0.113.9").status_code == 200  # https, as the proxy says
    for _ in range(PER_ADDRESS.attempts):
        assert _token(web, info, "203.0.113.66", "wrong").status_code == 401
    assert _token(web, info, "203.0.113.66").status_code == 429
    # Another client behind the same proxy is not locked out: addresses are the clients'.
    assert _token(web, info, "203.0.113.9").status_code == 200


@pytest.mark.parametrize("setting", [None, "0"])
def test_without_it_forwarded_headers_are_not_believed(make_server, setting) -> None:
    extra = {} if setting is None else {"AUTHGATE_PROXY_FIX": setting}
    server = make_server(**extra)
    info = server.client("m", grant_types=("client_credentials",), redirect_uris=())
    answer = _token(server.app.test_client(), info, "127.0.0.1")
    # Plain http to a public host name: refused, whatever X-Forwarded-Proto claims.
    assert answer.status_code == 400 and answer.get_json()["error"] == "invalid_request"


def test_a_negative_count_is_refused(make_server) -> None:
    with pytest.raises(ValueError, match="AUTHGATE_PROXY_FIX"):
        make_server(AUTHGATE_PROXY_FIX="-1")
