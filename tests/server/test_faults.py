"""Redis and PostgreSQL going away under a running server, and coming back.

The machine's Redis and PostgreSQL are shared with tests running in parallel,
so they are never stopped: a :class:`~tests.support.tcp_proxy.TcpProxy` sits
between the server and each of them, and ``cut()`` looks like a crash to the
server (open connections reset, new ones refused). What must hold: while a
service is down the endpoints that need it answer 503 with ``Retry-After``
(never a 500, and never an answer that skipped a nonce or rate-limit check),
``/health/ready`` says so, and after ``restore()`` the same app recovers by
itself, without a restart.
"""

from __future__ import annotations

import threading
import time
from contextlib import ExitStack

import pytest
import requests
from oauthlib.oauth1 import Client as OAuth1Signer
from sqlalchemy.engine import make_url

from authgate.server import admin
from tests.server.conftest import PASSWORD, Server, csrf_of
from tests.server.test_oauth2_flows import _basic
from tests.support.live import live_server
from tests.support.postgres import fresh_postgres
from tests.support.tcp_proxy import tcp_proxy

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


def _unavailable(answer) -> None:
    assert answer.status_code == 503, (answer.status_code, answer.get_data(as_text=True))
    assert int(answer.headers["Retry-After"]) > 0


def _initiate(web, client: dict):
    signer = OAuth1Signer(client["client_id"], client_secret=client["client_secret"],
                          callback_uri="oob")
    _, headers, _ = signer.sign("http://localhost/oauth1/initiate", http_method="POST")
    return web.post("/oauth1/initiate", headers=headers)


def _login(web, page_html: str):
    return web.post("/login", data={"username": "alice", "password": PASSWORD,
                                    "csrf_token": csrf_of(page_html)})


@pytest.mark.redis
def test_redis_cut_fails_closed_and_recovers(make_server, redis_url: str,
                                             redis_prefix: str) -> None:
    target = make_url(redis_url)
    with tcp_proxy(target.host or "127.0.0.1", target.port or 6379) as proxy:
        proxied = target.set(host="127.0.0.1", port=proxy.port).render_as_string(False)
        server = make_server(AUTHGATE_REDIS_URL=proxied, AUTHGATE_REDIS_PREFIX=redis_prefix)
        server.user()
        machine = server.client("m", grant_types=("client_credentials",), redirect_uris=())
        tv = server.client("tv", grant_types=(DEVICE_GRANT,), redirect_uris=())
        with server.app.app_context():
            printer = admin.create_oauth1_client("printer", "", None)
        web = server.app.test_client()
        assert web.get("/health/ready").status_code == 200
        started = web.post("/oauth/device", headers=_basic(tv), data={"scope": "profile"})
        assert started.status_code == 200
        poll = {"grant_type": DEVICE_GRANT, "device_code": started.get_json()["device_code"]}
        assert _initiate(web, printer).status_code == 200
        login_page = web.get("/login").get_data(as_text=True)
        assert proxy.connections > 0  # the cache really goes through the proxy

        proxy.cut()
        ready = web.get("/health/ready")
        _unavailable(ready)
        assert ready.get_json()["checks"] == {"database": True, "cache": False}
        assert web.get("/health/live").status_code == 200
        # Each of these would succeed if its check (nonce, rate limit, polling pace) were
        # skipped: the right signature, the right secret, the right password.
        _unavailable(_initiate(web, printer))
        _unavailable(web.post("/oauth/token", headers=_basic(machine),
                              data={"grant_type": "client_credentials", "scope": "profile"}))
        _unavailable(_login(web, login_page))
        _unavailable(web.post("/oauth/token", headers=_basic(tv), data=poll))

        proxy.restore()
        assert web.get("/health/ready").status_code == 200
        assert _initiate(web, printer).status_code == 200
        token = web.post("/oauth/token", headers=_basic(machine),
                         data={"grant_type": "client_credentials", "scope": "profile"})
        assert token.status_code == 200, token.get_data(as_text=True)
        assert _login(web, login_page).status_code == 303
        pending = web.post("/oauth/token", headers=_basic(tv), data=poll)
        assert pending.get_json()["error"] in ("authorization_pending", "slow_down")


def _until_ok(request, attempts: int = 3):
    """After a restore: the first answer may be a 503, never a 500; then it must work."""
    answers = []
    for _ in range(attempts):
        answer = request()
        answers.append(answer.status_code)
        assert answer.status_code in (200, 503), answer.get_data(as_text=True)
        if answer.status_code == 200:
            break
    assert answers[-1] == 200 and answers.count(503) <= 1, answers
    return answer


@pytest.mark.postgres
def test_postgres_restart_recovers_without_restarting_authgate(make_server,
                                                               postgres_url: str) -> None:
    with fresh_postgres(postgres_url) as database, \
            tcp_proxy(make_url(database).host or "127.0.0.1",
                      make_url(database).port or 5432) as proxy:
        target = make_url(database)
        proxied = target.set(host="127.0.0.1", port=proxy.port).render_as_string(False)
        server = make_server(AUTHGATE_DATABASE_URL=proxied)
        name = f"alice{time.monotonic_ns()}"
        server.user(name)
        machine = server.client("m", grant_types=("client_credentials",), redirect_uris=())
        web = server.app.test_client()

        def token():
            return web.post("/oauth/token", headers=_basic(machine),
                            data={"grant_type": "client_credentials", "scope": "profile"})

        assert token().status_code == 200
        assert web.get("/health/ready").status_code == 200
        pooled = server.state.db.engine.pool.checkedin()
        assert pooled > 0  # there are pooled connections for the "restart" to kill

        proxy.cut()  # PostgreSQL goes down: every pooled connection dies
        _unavailable(token())
        ready = web.get("/health/ready")
        _unavailable(ready)
        assert ready.get_json()["checks"] == {"database": False, "cache": True}
        login_page = web.get("/login")
        assert login_page.status_code in (200, 503)

        proxy.restore()  # ... and is back: the same app, no restart
        _until_ok(token)
        assert token().status_code == 200
        assert web.get("/health/ready").status_code == 200
        page = web.get("/login").get_data(as_text=True)
        signed_in = web.post("/login", data={"username": name, "password": PASSWORD,
                                             "csrf_token": csrf_of(page)})
        assert signed_in.status_code == 303


@pytest.mark.postgres
def test_postgres_cut_mid_pool_then_restore_with_stale_connections(make_server,
                                                                   postgres_url: str) -> None:
    """Connections that died while idle in the pool are replaced on checkout (the local
    socket check of ``authgate.server.database``; without it this test fails)."""
    with fresh_postgres(postgres_url) as database, \
            tcp_proxy(make_url(database).host or "127.0.0.1",
                      make_url(database).port or 5432) as proxy:
        target = make_url(database)
        proxied = target.set(host="127.0.0.1", port=proxy.port).render_as_string(False)
        server: Server = make_server(AUTHGATE_DATABASE_URL=proxied)
        machine = server.client("m", grant_types=("client_credentials",), redirect_uris=())
        web = server.app.test_client()
        data = {"grant_type": "client_credentials", "scope": "profile"}
        assert web.post("/oauth/token", headers=_basic(machine), data=data).status_code == 200
        # Down and up again with no request in between: the pool only holds dead connections.
        proxy.cut()
        proxy.restore()
        answer = web.post("/oauth/token", headers=_basic(machine), data=data)
        assert answer.status_code == 200, answer.get_data(as_text=True)


def _hammer(base: str, machine: dict, stop: threading.Event, seen: list[int]) -> None:
    with requests.Session() as session:
        while not stop.is_set():
            answer = session.post(base + "/oauth/token", auth=(machine["client_id"],
                                                               machine["client_secret"]),
                                  data={"grant_type": "client_credentials", "scope": "profile"},
                                  timeout=30)
            seen.append(answer.status_code)
            if answer.status_code == 500:
                stop.set()


@pytest.mark.parametrize("service", [pytest.param("redis", marks=pytest.mark.redis),
                                     pytest.param("postgres", marks=pytest.mark.postgres)])
def test_cut_under_load_never_answers_500(make_server, request, service: str) -> None:
    """Cut while requests are in flight: connections die mid-request, not only when idle."""
    with ExitStack() as stack:
        if service == "redis":
            target = make_url(request.getfixturevalue("redis_url"))
            proxy = stack.enter_context(tcp_proxy(target.host or "127.0.0.1",
                                                  target.port or 6379))
            extra = {"AUTHGATE_REDIS_URL": target.set(host="127.0.0.1", port=proxy.port)
                     .render_as_string(False),
                     "AUTHGATE_REDIS_PREFIX": request.getfixturevalue("redis_prefix")}
        else:
            target = make_url(stack.enter_context(
                fresh_postgres(request.getfixturevalue("postgres_url"))))
            proxy = stack.enter_context(tcp_proxy(target.host or "127.0.0.1",
                                                  target.port or 5432))
            extra = {"AUTHGATE_DATABASE_URL": target.set(host="127.0.0.1", port=proxy.port)
                     .render_as_string(False)}
        server = make_server(**extra)
        machine = server.client("m", grant_types=("client_credentials",), redirect_uris=())
        base = stack.enter_context(live_server(server.app))
        stop, before, during, after = threading.Event(), [], [], []
        for phase in (before, during, after):
            threads = [threading.Thread(target=_hammer, args=(base, machine, stop, phase))
                       for _ in range(6)]
            for thread in threads:
                thread.start()
            if phase is before:
                time.sleep(0.5)  # load, not a wait for anything: requests in flight at the cut
                proxy.cut()
            elif phase is during:
                time.sleep(0.5)
                proxy.restore()
            else:
                time.sleep(1.0)
            stop.set()
            for thread in threads:
                thread.join(60)
            stop.clear()
        statuses = before + during + after
        assert 500 not in statuses, statuses
        assert set(statuses) <= {200, 503}, set(statuses)
        assert 200 in before and 503 in during
        assert after[-5:] == [200] * 5, after  # recovered by itself, no restart
