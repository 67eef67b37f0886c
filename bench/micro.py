"""Micro-benchmarks of authgate's hot paths, in process (a small timeit-based runner).

    .venv/bin/python -m bench.micro [--quick] [--json]

Token generation, JWT sign and verify per algorithm (``bench/micro_jwt.py``),
the OAuth 1 base string and HMAC, client authentication, the whole core token
response without Flask, and the storage calls and whole requests through
Flask's test client on SQLite (in /dev/shm when it exists). Prints, asserts
nothing.
"""

from __future__ import annotations

import base64
import json
import os
import pathlib
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

Case = tuple[str, Callable[[], Any]]


def time_case(fn: Callable[[], Any], budget: float, repeats: int = 5) -> tuple[float, float]:
    """(best, median) µs per call over ``repeats`` runs sized to ``budget`` seconds in all."""
    fn()
    n, start = 1, time.perf_counter()
    while time.perf_counter() - start < budget / repeats / 4:
        fn()
        n += 1
    per_run = max(1, n * 2)
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(per_run):
            fn()
        samples.append((time.perf_counter() - t0) / per_run * 1e6)
    return min(samples), statistics.median(samples)


def security_cases() -> list[Case]:
    from authgate.core.security import (
        generate_token,
        hash_secret,
        token_digest,
        verify_hashed_secret,
    )

    stored = hash_secret("s" * 48)
    token = generate_token(48)
    return [
        ("generate_token(48)", lambda: generate_token(48)),
        ("token_digest (SHA-256 of a token)", lambda: token_digest(token)),
        ("verify_hashed_secret", lambda: verify_hashed_secret(stored, "s" * 48)),
    ]


def jwt_cases() -> list[Case]:
    from bench import micro_jwt

    found: list[Case] = []
    for alg, sign, verify, _ in micro_jwt.cases():
        found.append((f"JWT sign {alg}", sign))  # type: ignore[arg-type]
        found.append((f"JWT verify {alg} (whole validator)", verify))  # type: ignore[arg-type]
    return found


def oauth1_cases() -> list[Case]:
    from authgate.core.oauth1.request import OAuth1Request
    from authgate.core.oauth1.signature import (
        generate_signature_base_string,
        hmac_sha1_signature,
        verify_hmac_sha1,
    )
    from bench import oauth1_sign

    header = oauth1_sign.authorization_header(
        "GET", "http://127.0.0.1:8000/oauth1/api/me", client_key="ck", client_secret="cs",
        token="tk", token_secret="ts")
    params = tuple(sorted(
        (k, v.strip('"')) for k, v in (p.split("=", 1) for p in header[6:].split(", "))
        if k != "oauth_signature"))
    request = OAuth1Request(method="GET", uri="http://127.0.0.1:8000/oauth1/api/me",
                            params=params, oauth_params=dict(params),
                            signature="x", client_secret="cs", token_secret="ts")
    base = generate_signature_base_string(request)
    return [
        ("OAuth1 signature base string", lambda: generate_signature_base_string(request)),
        ("OAuth1 HMAC-SHA1 of the base string", lambda: hmac_sha1_signature(base, "cs", "ts")),
        ("OAuth1 verify_hmac_sha1 (base string + HMAC + compare)",
         lambda: verify_hmac_sha1(request)),
    ]


def core_cases() -> list[Case]:
    from authgate.core.http import Request
    from authgate.oauth2 import MemoryStore, OAuth2Request, ServerConfig, create_server

    store = MemoryStore()
    _, secret = store.add_client(client_id="machine", grant_types=["client_credentials"],
                                      scope="profile")
    core = create_server(store, ServerConfig(issuer="https://auth.example.com"))
    basic = "Basic " + base64.b64encode(f"machine:{secret}".encode()).decode()

    def http() -> Request:
        return Request.build("POST", "https://auth.example.com/oauth/token",
                             headers={"Authorization": basic},
                             form={"grant_type": "client_credentials", "scope": "profile"})

    request = http()
    oauth_request = OAuth2Request.from_form(request)
    return [
        ("core Request.build (token request)", http),
        ("core OAuth2Request.from_form", lambda: OAuth2Request.from_form(request)),
        ("core authenticate_client (Basic, MemoryStore)",
         lambda: core.authenticate_client(oauth_request, ["client_secret_basic"], "token")),
        ("core client_credentials token response (MemoryStore)",
         lambda: core.create_token_response(request)),
    ]


def _user_token(web: Any, base_url: str, basic: str) -> str:
    """An access token bound to the user, through an authorization-code flow (W2 needs one)."""
    import hashlib
    from urllib.parse import parse_qs, urlsplit

    from bench.targets import fixtures as fx

    web.post("/login", data={"username": fx.USERNAME, "password": fx.PASSWORD},
             base_url=base_url)
    verifier = "v" * 64
    challenge = base64.urlsafe_b64encode(
        hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    answer = web.get("/oauth/authorize", base_url=base_url, query_string={
        "response_type": "code", "client_id": fx.CLIENT_ID, "redirect_uri": fx.REDIRECT_URI,
        "scope": fx.SCOPE, "state": "s", "code_challenge": challenge,
        "code_challenge_method": "S256"})
    code = parse_qs(urlsplit(answer.headers["Location"]).query)["code"][0]
    return str(web.post("/oauth/token", headers={"Authorization": basic}, base_url=base_url,
                        data={"grant_type": "authorization_code", "code": code,
                              "redirect_uri": fx.REDIRECT_URI, "code_verifier": verifier}
                        ).get_json()["access_token"])


def flask_cases(state_dir: pathlib.Path) -> list[Case]:
    """Storage calls and whole requests through the bench target app, without HTTP."""
    env = {"BENCH_DATABASE_URL": f"sqlite:///{state_dir / 'micro.db'}",
           "BENCH_STATE_DIR": str(state_dir), "BENCH_ISSUER": "http://127.0.0.1:8000"}
    from bench.targets import fixtures as fx
    from bench.targets.authgate_lib import app as target

    target.seed(env)
    app = target.create_app(env)
    from authgate.sqla import oauth1 as sqla_oauth1
    from authgate.sqla.oauth2 import create_bearer_token_validator, create_query_client_func

    web = app.test_client()
    basic = "Basic " + base64.b64encode(f"{fx.CLIENT_ID}:{fx.CLIENT_SECRET}".encode()).decode()
    base_url = env["BENCH_ISSUER"]

    def issue() -> Any:
        return web.post("/oauth/token", headers={"Authorization": basic}, base_url=base_url,
                        data={"grant_type": "client_credentials", "scope": fx.SCOPE})

    ctx = app.app_context()
    ctx.push()
    query_client = create_query_client_func(target.db.session, target.Client)
    validator = create_bearer_token_validator(target.db.session, target.Token)()
    token = _user_token(web, base_url, basic)
    oauth1_client = sqla_oauth1.create_query_client_func(target.db.session, target.OAuth1Client)
    def me() -> Any:
        return web.get("/api/me", headers={"Authorization": "Bearer " + token},
                       base_url=base_url)

    return [
        ("storage: query_client (SQLite)", lambda: query_client(fx.CLIENT_ID)),
        ("storage: bearer authenticate_token (SQLite)",
         lambda: validator.authenticate_token(token)),
        ("storage: OAuth1 query_client (SQLite, decrypts the secret)",
         lambda: oauth1_client(fx.OAUTH1_CLIENT_KEY)),
        ("Flask test client: W1 client_credentials (SQLite, opaque)", issue),
        ("Flask test client: W2 GET /api/me (SQLite, opaque)", me),
    ]


def run(quick: bool = False) -> list[dict[str, Any]]:
    budget = 0.3 if quick else 1.5
    base = pathlib.Path("/dev/shm") if os.path.isdir("/dev/shm") else None
    with tempfile.TemporaryDirectory(prefix="authgate-micro-", dir=base) as tmp:
        cases: list[Case] = []
        for group in (security_cases, jwt_cases, oauth1_cases, core_cases):
            cases += group()
        cases += flask_cases(pathlib.Path(tmp))
        results = []
        for name, fn in cases:
            best, median = time_case(fn, budget)
            results.append({"name": name, "best_us": best, "median_us": median})
    return results


def main(argv: list[str]) -> int:
    results = run(quick="--quick" in argv)
    if "--json" in argv:
        print(json.dumps(results))
        return 0
    width = max(len(r["name"]) for r in results)
    print(f"{'case':<{width}}  {'best µs':>10}  {'median µs':>10}")
    for r in results:
        print(f"{r['name']:<{width}}  {r['best_us']:>10.1f}  {r['median_us']:>10.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
