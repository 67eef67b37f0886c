"""CPU time per request, in process: Flask's test client, no HTTP server, no driver.

What the hot paths cost by themselves (W1 client_credentials, W2 ``/api/me``,
W3 authorize + code exchange; W4 OAuth 1 signed requests, W5 device polls) for
the library target and ``authgate serve``'s app, on SQLite
in ``/dev/shm`` (``--db postgres``: a fresh PostgreSQL database per target, dropped
after; the figures then hold the driver's and the kernel's side of each round trip,
not the database server's). ``time.process_time()`` over many requests after a warm-up,
best of a few rounds, so a change can be measured in seconds rather than
through a full ``python -m bench`` run.

    .venv/bin/python -m bench.inprocess                       # both targets, W1-W3
    .venv/bin/python -m bench.inprocess --targets serve --workloads W1 -n 3000
    .venv/bin/python -m bench.inprocess --targets serve --workloads W1 --profile
    .venv/bin/python -m bench.inprocess --targets lib --workloads W4,W5     # OAuth 1, device
    BENCH_TOKEN_FORMAT=RS256 .venv/bin/python -m bench.inprocess --targets lib --workloads W2
    bench/.venv-ref/bin/python -m bench.inprocess --targets ref -n 1000      # Authlib, for ratios
    .venv/bin/python -m bench.inprocess --db postgres --workloads W1         # a fresh PG database
    .venv/bin/python -m bench.inprocess --instructions --workloads W1 -n 200  # valgrind
    .venv/bin/python -m bench.inprocess --db postgres --round-trips -n 200   # per request

``--instructions`` counts machine instructions per request under valgrind's
callgrind instead of timing: about fifty times slower, but the same figure
run after run whatever else the host is doing, so a change worth a few per
cent can be seen on a machine whose speed swings by a third.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import cProfile
import hashlib
import io
import os
import pathlib
import pstats
import re
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from bench import oauth1_sign
from bench.targets import fixtures as fx

STATE_ROOT = "/dev/shm" if os.path.isdir("/dev/shm") else None
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Target:
    name: str
    app: Any
    client_id: str
    client_secret: str
    web: Any  # a test client holding the signed-in session
    #: OAuth 1: client key and secret, token and token secret
    oauth1: tuple[str, str, str, str] = (fx.OAUTH1_CLIENT_KEY, fx.OAUTH1_CLIENT_SECRET,
                                         fx.OAUTH1_TOKEN, fx.OAUTH1_TOKEN_SECRET)

    @property
    def basic(self) -> str:
        raw = f"{self.client_id}:{self.client_secret}".encode()
        return "Basic " + base64.b64encode(raw).decode()


def make_lib(state_dir: str, url: str) -> Target:
    from bench.targets.authgate_lib import app as lib

    env = {"BENCH_DATABASE_URL": url,
           "BENCH_STATE_DIR": state_dir, "BENCH_ISSUER": "http://127.0.0.1:8000",
           "BENCH_TOKEN_FORMAT": os.environ.get("BENCH_TOKEN_FORMAT", "opaque")}
    lib.seed(env)
    app = lib.create_app(env)
    web = app.test_client()
    answer = web.post("/login", data={"username": fx.USERNAME, "password": fx.PASSWORD})
    assert answer.status_code == 200, answer.data
    return Target("lib", app, fx.CLIENT_ID, fx.CLIENT_SECRET, web)


def make_ref(state_dir: str, url: str) -> Target:
    """The Authlib reference, for ratios: run this module with ``bench/.venv-ref/bin/python``."""
    from bench.targets.reference import app as ref

    env = {"BENCH_DATABASE_URL": url,
           "BENCH_STATE_DIR": state_dir, "BENCH_ISSUER": "http://127.0.0.1:8000",
           "BENCH_TOKEN_FORMAT": os.environ.get("BENCH_TOKEN_FORMAT", "opaque")}
    ref.seed(env)
    app = ref.create_app(env)
    web = app.test_client()
    answer = web.post("/login", data={"username": fx.USERNAME, "password": fx.PASSWORD})
    assert answer.status_code == 200, answer.data
    return Target("ref", app, fx.CLIENT_ID, fx.CLIENT_SECRET, web)


def make_serve(state_dir: str, url: str) -> Target:
    from authgate.server import admin, create_app

    app = create_app({"AUTHGATE_INSTANCE_PATH": f"{state_dir}/instance",
                      "AUTHGATE_DATABASE_URL": url,
                      "AUTHGATE_ISSUER": "http://127.0.0.1:8000",
                      # W5 polls back to back, as under gunicorn (bench.targets._serve_env)
                      "AUTHGATE_DEVICE_INTERVAL": "0",
                      # BENCH_TOKEN_FORMAT=ES256 picks the signing algorithm (RS256 else)
                      "AUTHGATE_JWT_ALG": os.environ.get("BENCH_TOKEN_FORMAT", "RS256")
                      .replace("opaque", "RS256")})
    with app.app_context():
        user = admin.create_user(fx.USERNAME, fx.PASSWORD, fx.SCOPE)
        client = admin.create_oauth2_client("Bench client", list(fx.GRANT_TYPES),
                                            [fx.REDIRECT_URI], fx.SCOPE,
                                            "client_secret_basic")
        oauth1 = _serve_oauth1_credential(user.id)
    web = app.test_client()
    page = web.get("/login").get_data(as_text=True)
    answer = web.post("/login", data={"username": fx.USERNAME, "password": fx.PASSWORD,
                                      "csrf_token": CSRF.search(page).group(1)})  # type: ignore[union-attr]
    assert answer.status_code == 303, answer.data
    target = Target("serve", app, client["client_id"], client["client_secret"], web, oauth1)
    # Give consent once, so every W3 authorize is the remembered-consent redirect.
    query = _authorize_query(target, *_pkce())
    page = web.get("/oauth/authorize?" + query).get_data(as_text=True)
    answer = web.post("/oauth/authorize?" + query,
                      data={"confirm": "yes", "csrf_token": CSRF.search(page).group(1)})  # type: ignore[union-attr]
    assert answer.status_code == 302, answer.data
    return target


def _serve_oauth1_credential(user_id: int) -> tuple[str, str, str, str]:
    """An OAuth 1 client and a token credential of the user, stored as the consent
    flow leaves them (``bench.targets.authgate_serve`` goes through the pages)."""
    from authgate.server import admin
    from authgate.server.app import state
    from authgate.server.models import OAuth1TokenCredential

    client = admin.create_oauth1_client("Bench OAuth1", "", None)
    token, secret = secrets.token_urlsafe(30), secrets.token_urlsafe(36)
    session = state().db.session
    session.add(OAuth1TokenCredential(client_id=client["client_id"], oauth_token=token,
                                      oauth_token_secret=secret, user_id=user_id))
    session.commit()
    return client["client_id"], client["client_secret"], token, secret


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(
        hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def _authorize_query(target: Target, _verifier: str, challenge: str) -> str:
    return urlencode({"response_type": "code", "client_id": target.client_id,
                      "redirect_uri": fx.REDIRECT_URI, "scope": fx.SCOPE, "state": "s",
                      "code_challenge": challenge, "code_challenge_method": "S256"})


def make_ceiling(state_dir: str, url: str) -> Target:
    """Bare Flask: W1 is ``POST /echo`` with W1's body and headers, W2 ``GET /ping``
    with W2's; the rest of an OAuth target's figure is what OAuth and storage cost."""
    from bench.targets.ceiling import app as ceiling

    app = ceiling.create_app()
    return Target("ceiling", app, fx.CLIENT_ID, fx.CLIENT_SECRET, app.test_client())


def w1(target: Target) -> Callable[[], None]:
    headers = {"Authorization": target.basic}
    data = {"grant_type": "client_credentials", "scope": fx.SCOPE}
    web = target.app.test_client()
    path = "/echo" if target.name == "ceiling" else "/oauth/token"

    def one() -> None:
        answer = web.post(path, data=data, headers=headers)
        assert answer.status_code == 200, answer.data

    return one


def code_flow(target: Target) -> str:
    verifier, challenge = _pkce()
    answer = target.web.get("/oauth/authorize?" + _authorize_query(target, verifier, challenge))
    assert answer.status_code == 302, answer.data
    code = parse_qs(urlsplit(answer.headers["Location"]).query)["code"][0]
    answer = target.web.post("/oauth/token", headers={"Authorization": target.basic},
                             data={"grant_type": "authorization_code", "code": code,
                                   "redirect_uri": fx.REDIRECT_URI,
                                   "code_verifier": verifier})
    assert answer.status_code == 200, answer.data
    token: str = answer.get_json()["access_token"]
    return token


def w2(target: Target) -> Callable[[], None]:
    ceiling = target.name == "ceiling"
    tokens = ["x" * 40] * 32 if ceiling else [code_flow(target) for _ in range(32)]
    web = target.app.test_client()
    state = {"i": 0}
    path = "/ping" if ceiling else "/api/me"

    def one() -> None:
        state["i"] += 1
        answer = web.get(path,
                         headers={"Authorization": "Bearer " + tokens[state["i"] % 32]})
        assert answer.status_code == 200, answer.data

    return one


def w3(target: Target) -> Callable[[], None]:
    def one() -> None:
        code_flow(target)

    return one


def w4(target: Target) -> Callable[[], None]:
    """An OAuth 1.0a HMAC-SHA1 signed GET, a fresh nonce each (signing is not timed apart:
    it is a few µs of stdlib HMAC next to the server's work)."""
    url = "http://localhost/oauth1/api/me"
    web = target.app.test_client()
    client_key, client_secret, token, token_secret = target.oauth1

    def one() -> None:
        header = oauth1_sign.authorization_header(
            "GET", url, client_key=client_key, client_secret=client_secret,
            token=token, token_secret=token_secret)
        answer = web.get("/oauth1/api/me", headers={"Authorization": header})
        assert answer.status_code == 200, answer.data

    return one


def w5(target: Target) -> Callable[[], None]:
    """One device authorization, then ten polls answered ``authorization_pending``;
    the figure is per request (eleven of them)."""
    headers = {"Authorization": target.basic}
    web = target.app.test_client()
    grant = "urn:ietf:params:oauth:grant-type:device_code"
    state = {"code": "", "polls": 10}

    def one() -> None:
        if state["polls"] == 10:
            answer = web.post("/oauth/device", data={"scope": fx.SCOPE}, headers=headers)
            assert answer.status_code == 200, answer.data
            state["code"], state["polls"] = answer.get_json()["device_code"], 0
            return
        state["polls"] = int(state["polls"]) + 1
        answer = web.post("/oauth/token", headers=headers,
                          data={"grant_type": grant, "device_code": state["code"]})
        assert answer.status_code == 400 and \
            answer.get_json()["error"] == "authorization_pending", answer.data

    return one


WORKLOADS = {"W1": w1, "W2": w2, "W3": w3, "W4": w4, "W5": w5}
TARGETS = {"lib": make_lib, "serve": make_serve, "ref": make_ref, "ceiling": make_ceiling}


@contextlib.contextmanager
def _database(kind: str, state_dir: str, name: str) -> Iterator[str]:
    """The URL of a fresh database for one target (PostgreSQL's is dropped after)."""
    if kind == "sqlite":
        yield f"sqlite:///{state_dir}/{name}.sqlite"
        return
    from bench import databases

    problem = databases.postgres_problem()
    if problem:
        raise SystemExit(problem)
    database = databases.create("postgres", pathlib.Path(state_dir), f"inprocess_{name}")
    try:
        yield database.url
    finally:
        database.drop()


def measure(one: Callable[[], None], n: int, rounds: int) -> float:
    """Best µs of CPU per call over ``rounds`` rounds of ``n`` calls, after a warm-up."""
    for _ in range(max(50, n // 10)):
        one()
    best = float("inf")
    for _ in range(rounds):
        start = time.process_time()
        for _ in range(n):
            one()
        best = min(best, (time.process_time() - start) / n * 1e6)
    return best


def count_loop(one: Callable[[], None], n: int) -> None:
    """Warm up, then run ``n`` calls inside ``sorted()``: callgrind collects only
    while ``builtin_sorted`` runs (``--toggle-collect``), which is these calls and
    any other ``sorted()`` of the process (:func:`instructions` takes those out)."""
    for _ in range(max(20, n // 10)):
        one()
    sorted(range(n), key=lambda i: (one(), i)[1])


class RoundTrips:
    """Counts the round trips to PostgreSQL of every psycopg connection a pool opens
    after :meth:`install`: libpq's own trace of each connection, in a file, where
    every exchange ends with the server's ``ReadyForQuery`` (a statement, and each
    ``BEGIN``, ``COMMIT`` or ``ROLLBACK`` sent by itself)."""

    def __init__(self) -> None:
        self._traced: list[tuple[Any, Any]] = []

    def install(self) -> None:
        from sqlalchemy import event
        from sqlalchemy.pool import Pool

        event.listen(Pool, "connect", self._connected)

    def _connected(self, dbapi_connection: Any, _record: Any) -> None:
        pgconn = getattr(dbapi_connection, "pgconn", None)
        if pgconn is None:
            return
        from psycopg import pq

        trace = tempfile.TemporaryFile("w+")  # noqa: SIM115 (open while the connection lives)
        pgconn.trace(trace.fileno())
        pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS)
        self._traced.append((dbapi_connection, trace))

    def count(self) -> int:
        """Round trips so far (libpq's buffer flushed by stopping the trace, which then
        goes on in the same file)."""
        total = 0
        for connection, trace in self._traced:
            live = not connection.closed
            if live:
                connection.pgconn.untrace()
            trace.seek(0)
            total += trace.read().count("\tReadyForQuery")
            if live:
                connection.pgconn.trace(trace.fileno())
        return total


def round_trips(one: Callable[[], None], n: int, counter: RoundTrips) -> float:
    """Round trips per call, after a warm-up (psycopg prepares a statement on its
    fifth use, which is one more round trip, once per connection)."""
    for _ in range(max(50, n // 10)):
        one()
    before = counter.count()
    for _ in range(n):
        one()
    return (counter.count() - before) / n


COLLECTED = re.compile(r"Collected : (\d+)")


def instructions(argv: list[str], n: int, module: str = "bench.inprocess") -> int:
    """Instructions per call: ``python -m module *argv N`` run under callgrind, which
    must make ``N`` calls through :func:`count_loop` (this module: ``--count-only``
    with ``-n`` last in ``argv``).

    Callgrind collects inside every ``sorted()`` of the process, not only the one
    that wraps the calls: a library's import or an app's set-up that sorts with a
    key (Alembic's import alone: about 17 million instructions) would be counted
    too, and spread over the calls. So the program runs twice, with ``n`` and
    ``2n`` calls (``N``): the same set-up both times, and the difference is ``n``
    calls.
    """
    once = _collected([*argv, str(n)], module)
    twice = _collected([*argv, str(2 * n)], module)
    return (twice - once) // n


def _collected(argv: list[str], module: str) -> int:
    """What callgrind collected over one run of ``python -m module *argv``."""
    command = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
               "--collect-atstart=no", "--toggle-collect=builtin_sorted",
               sys.executable, "-m", module, *argv]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    found = COLLECTED.search(done.stderr)
    if done.returncode != 0 or not found:
        raise SystemExit(f"callgrind run failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return int(found.group(1))


def profile(one: Callable[[], None], n: int, lines: int) -> str:
    for _ in range(50):
        one()
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(n):
        one()
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(lines)
    stats.sort_stats("cumulative").print_stats("authgate", lines)
    return out.getvalue()


def _unit(workload: str) -> str:
    return "flow" if workload == "W3" else "request"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--targets", default="lib,serve")
    parser.add_argument("--workloads", default="W1,W2,W3")
    parser.add_argument("-n", type=int, default=2000, help="requests (W3: flows) per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="cProfile instead of timing")
    parser.add_argument("--lines", type=int, default=35)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite",
                        help="SQLite in /dev/shm, or a fresh PostgreSQL database per target")
    parser.add_argument("--instructions", action="store_true",
                        help="count instructions under valgrind's callgrind instead of timing")
    parser.add_argument("--round-trips", action="store_true",
                        help="with --db postgres: round trips to the server per request")
    parser.add_argument("--count-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.round_trips and args.db != "postgres":
        parser.error("--round-trips counts PostgreSQL's round trips: add --db postgres")
    counter = RoundTrips() if args.round_trips else None
    if counter is not None:
        counter.install()
    if args.instructions:
        for name in args.targets.split(","):
            for workload in args.workloads.split(","):
                n = args.n if workload != "W3" else max(1, args.n // 2)
                count = instructions(["--count-only", "--db", args.db, "--targets", name,
                                      "--workloads", workload, "-n"], n)
                print(f"{name:6} {workload}  {count:10,} instructions per {_unit(workload)}",
                      flush=True)
        return
    import logging

    logging.disable(logging.INFO)  # the audit log's lines, not what is measured
    for name in args.targets.split(","):
        with tempfile.TemporaryDirectory(dir=STATE_ROOT) as state_dir, \
                _database(args.db, state_dir, name) as url:
            target = TARGETS[name](state_dir, url)
            for workload in args.workloads.split(","):
                one = WORKLOADS[workload](target)
                n = args.n if workload != "W3" else max(1, args.n // 2)
                if args.count_only:
                    count_loop(one, n)
                elif counter is not None:
                    print(f"{name:6} {workload}  {round_trips(one, n, counter):6.2f} round trips "
                          f"per {_unit(workload)}", flush=True)
                elif args.profile:
                    print(f"== {name} {workload}")
                    print(profile(one, n, args.lines))
                else:
                    us = measure(one, n, args.rounds)
                    print(f"{name:6} {workload}  {us:8.0f} µs CPU per {_unit(workload)}",
                          flush=True)


if __name__ == "__main__":
    main()
