"""CPU time per request, in process: Flask's test client, no HTTP server, no driver.

What the hot paths cost by themselves (W1 client_credentials, W2 ``/api/me``,
W3 authorize + code exchange; W4 OAuth 1 and W5 device polls on the library
target only) for the library target and ``authgate serve``'s app, on SQLite
in ``/dev/shm``. ``time.process_time()`` over many requests after a warm-up,
best of a few rounds, so a change can be measured in seconds rather than
through a full ``python -m bench`` run.

    .venv/bin/python -m bench.inprocess                       # both targets, W1-W3
    .venv/bin/python -m bench.inprocess --targets serve --workloads W1 -n 3000
    .venv/bin/python -m bench.inprocess --targets serve --workloads W1 --profile
    .venv/bin/python -m bench.inprocess --targets lib --workloads W4,W5     # OAuth 1, device
    BENCH_TOKEN_FORMAT=RS256 .venv/bin/python -m bench.inprocess --targets lib --workloads W2
    bench/.venv-ref/bin/python -m bench.inprocess --targets ref -n 1000      # Authlib, for ratios
"""

from __future__ import annotations

import argparse
import base64
import cProfile
import hashlib
import io
import os
import pstats
import re
import secrets
import tempfile
import time
from collections.abc import Callable
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

    @property
    def basic(self) -> str:
        raw = f"{self.client_id}:{self.client_secret}".encode()
        return "Basic " + base64.b64encode(raw).decode()


def make_lib(state_dir: str) -> Target:
    from bench.targets.authgate_lib import app as lib

    env = {"BENCH_DATABASE_URL": f"sqlite:///{state_dir}/lib.sqlite",
           "BENCH_STATE_DIR": state_dir, "BENCH_ISSUER": "http://127.0.0.1:8000",
           "BENCH_TOKEN_FORMAT": os.environ.get("BENCH_TOKEN_FORMAT", "opaque")}
    lib.seed(env)
    app = lib.create_app(env)
    web = app.test_client()
    answer = web.post("/login", data={"username": fx.USERNAME, "password": fx.PASSWORD})
    assert answer.status_code == 200, answer.data
    return Target("lib", app, fx.CLIENT_ID, fx.CLIENT_SECRET, web)


def make_ref(state_dir: str) -> Target:
    """The Authlib reference, for ratios: run this module with ``bench/.venv-ref/bin/python``."""
    from bench.targets.reference import app as ref

    env = {"BENCH_DATABASE_URL": f"sqlite:///{state_dir}/ref.sqlite",
           "BENCH_STATE_DIR": state_dir, "BENCH_ISSUER": "http://127.0.0.1:8000"}
    ref.seed(env)
    app = ref.create_app(env)
    web = app.test_client()
    answer = web.post("/login", data={"username": fx.USERNAME, "password": fx.PASSWORD})
    assert answer.status_code == 200, answer.data
    return Target("ref", app, fx.CLIENT_ID, fx.CLIENT_SECRET, web)


def make_serve(state_dir: str) -> Target:
    from authgate.server import admin, create_app

    app = create_app({"AUTHGATE_INSTANCE_PATH": f"{state_dir}/instance",
                      "AUTHGATE_DATABASE_URL": f"sqlite:///{state_dir}/serve.sqlite",
                      "AUTHGATE_ISSUER": "http://127.0.0.1:8000"})
    with app.app_context():
        admin.create_user(fx.USERNAME, fx.PASSWORD, fx.SCOPE)
        client = admin.create_oauth2_client("Bench client", list(fx.GRANT_TYPES),
                                            [fx.REDIRECT_URI], fx.SCOPE,
                                            "client_secret_basic")
    web = app.test_client()
    page = web.get("/login").get_data(as_text=True)
    answer = web.post("/login", data={"username": fx.USERNAME, "password": fx.PASSWORD,
                                      "csrf_token": CSRF.search(page).group(1)})  # type: ignore[union-attr]
    assert answer.status_code == 303, answer.data
    target = Target("serve", app, client["client_id"], client["client_secret"], web)
    # Give consent once, so every W3 authorize is the remembered-consent redirect.
    query = _authorize_query(target, *_pkce())
    page = web.get("/oauth/authorize?" + query).get_data(as_text=True)
    answer = web.post("/oauth/authorize?" + query,
                      data={"confirm": "yes", "csrf_token": CSRF.search(page).group(1)})  # type: ignore[union-attr]
    assert answer.status_code == 302, answer.data
    return target


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(
        hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def _authorize_query(target: Target, _verifier: str, challenge: str) -> str:
    return urlencode({"response_type": "code", "client_id": target.client_id,
                      "redirect_uri": fx.REDIRECT_URI, "scope": fx.SCOPE, "state": "s",
                      "code_challenge": challenge, "code_challenge_method": "S256"})


def w1(target: Target) -> Callable[[], None]:
    headers = {"Authorization": target.basic}
    data = {"grant_type": "client_credentials", "scope": fx.SCOPE}
    web = target.app.test_client()

    def one() -> None:
        answer = web.post("/oauth/token", data=data, headers=headers)
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
    tokens = [code_flow(target) for _ in range(32)]
    web = target.app.test_client()
    state = {"i": 0}

    def one() -> None:
        state["i"] += 1
        answer = web.get("/api/me",
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
    if target.name == "serve":
        raise SystemExit("W4 runs against the library and reference targets only")
    url = "http://localhost/oauth1/api/me"
    web = target.app.test_client()

    def one() -> None:
        header = oauth1_sign.authorization_header(
            "GET", url, client_key=fx.OAUTH1_CLIENT_KEY, client_secret=fx.OAUTH1_CLIENT_SECRET,
            token=fx.OAUTH1_TOKEN, token_secret=fx.OAUTH1_TOKEN_SECRET)
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
TARGETS = {"lib": make_lib, "serve": make_serve, "ref": make_ref}


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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--targets", default="lib,serve")
    parser.add_argument("--workloads", default="W1,W2,W3")
    parser.add_argument("-n", type=int, default=2000, help="requests (W3: flows) per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="cProfile instead of timing")
    parser.add_argument("--lines", type=int, default=35)
    args = parser.parse_args(argv)
    import logging

    logging.disable(logging.INFO)  # the audit log's lines, not what is measured
    for name in args.targets.split(","):
        with tempfile.TemporaryDirectory(dir=STATE_ROOT) as state_dir:
            target = TARGETS[name](state_dir)
            for workload in args.workloads.split(","):
                one = WORKLOADS[workload](target)
                n = args.n if workload != "W3" else max(1, args.n // 2)
                if args.profile:
                    print(f"== {name} {workload}")
                    print(profile(one, n, args.lines))
                else:
                    us = measure(one, n, args.rounds)
                    unit = "flow" if workload == "W3" else "request"
                    print(f"{name:6} {workload}  {us:8.0f} µs CPU per {unit}", flush=True)


if __name__ == "__main__":
    main()
