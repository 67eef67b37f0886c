"""Failed client authentication at the token endpoint: 429 with Retry-After, in the cache."""

from __future__ import annotations

from authgate.cache import MemoryCache
from authgate.server.models import OAuth2Token
from authgate.server.ratelimit import PER_ADDRESS, AuthFailureLimiter, Limit
from tests.conftest import FrozenClock
from tests.server.test_oauth2_flows import _basic


def _token(web, headers: dict, **kwargs):
    return web.post("/oauth/token", headers=headers,
                    data={"grant_type": "client_credentials", "scope": "profile"}, **kwargs)


def test_failures_per_address_lead_to_429_then_expire(make_server) -> None:
    clock = FrozenClock.at_hour_start()
    server = make_server(AUTHGATE_CLOCK=clock)
    info = server.client("m", grant_types=("client_credentials",), redirect_uris=())
    web = server.app.test_client()
    for _ in range(PER_ADDRESS.attempts):
        assert _token(web, _basic({**info, "client_secret": "wrong"})).status_code == 401
    limited = _token(web, _basic(info))  # even the right secret waits: no work is done
    assert limited.status_code == 429
    assert limited.get_json()["error"] == "temporarily_unavailable"
    assert 0 < int(limited.headers["Retry-After"]) <= PER_ADDRESS.window + 1
    other = _token(web, _basic(info), environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert other.status_code == 200  # another address, a client under its own limit
    clock.advance(PER_ADDRESS.window + 1)
    assert _token(web, _basic(info)).status_code == 200
    assert server.count(OAuth2Token) == 2


def test_failures_per_client_id_count_across_addresses() -> None:
    clock = FrozenClock()
    limiter = AuthFailureLimiter(MemoryCache(clock=clock), clock,
                                 per_address=Limit("t-addr", 100, 60),
                                 per_client=Limit("t-client", 3, 60))
    for n in range(3):
        assert limiter.retry_after("robot", f"192.0.2.{n}") is None
        limiter.record_failure("robot", f"192.0.2.{n}")
    assert limiter.retry_after("robot", "198.51.100.1") is not None
    assert limiter.retry_after("someone-else", "198.51.100.1") is None


def test_successes_and_other_errors_are_not_counted(make_server) -> None:
    server = make_server()
    info = server.client("m", grant_types=("client_credentials",), redirect_uris=())
    web = server.app.test_client()
    for _ in range(PER_ADDRESS.attempts + 2):
        bad_scope = web.post("/oauth/token", headers=_basic(info), data={
            "grant_type": "client_credentials", "scope": "admin"})
        assert bad_scope.status_code == 400  # invalid_scope: the client did authenticate
    assert _token(web, _basic(info)).status_code == 200


def test_hostile_client_ids_are_refused_and_change_nothing(make_server) -> None:
    server = make_server()
    web = server.app.test_client()
    for client_id in ("a" * 5000, "\x00\r\n", "ratelimit:*"):
        answer = web.post("/oauth/token", data={"grant_type": "client_credentials",
                                                "client_id": client_id, "client_secret": "x"})
        assert answer.status_code in (400, 401)
    assert web.post("/oauth/token", headers={"Authorization": "Basic !!!notbase64"},
                    data={"grant_type": "client_credentials"}).status_code in (400, 401)
    assert server.count(OAuth2Token) == 0
