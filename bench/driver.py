"""The Python load driver for the flow workloads (W3-W5), run as its own process.

    python -m bench.driver SPEC.json

It prepares (logs in, pre-signs OAuth 1 requests), runs the warm-up, prints
``READY`` and waits for a line on stdin; then it runs the timed part, prints
one JSON line of results and waits for stdin to close, so the harness can
read this process's CPU time from /proc at both ends of the window.

Workloads:
  W3  GET /oauth/authorize (session, consent remembered) -> 302 with a code,
      then POST /oauth/token (authorization_code + PKCE) -> 200. One flow = both.
  W4  GET /oauth1/api/me signed with HMAC-SHA1, every nonce unique, signed in advance
      (``presign_rate`` <= 0, the soak: signed in batches as the run goes).
  W5  POST /oauth/device -> 200, then ``polls`` POST /oauth/token -> 400
      authorization_pending. One flow = the authorization and its polls.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, quote_plus, urlencode, urlsplit

from bench import httpclient, oauth1_sign

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
FORM = "application/x-www-form-urlencoded"
CSRF_FIELD = re.compile(rb'name="csrf_token" value="([^"]+)"')


@dataclass
class Stats:
    requests: int = 0
    flows: int = 0
    errors: int = 0
    latencies: list[float] = field(default_factory=list)
    samples: list[str] = field(default_factory=list)
    exhausted: bool = False
    #: W5: how many polls got each accepted ``error`` (authorization_pending, slow_down).
    poll_answers: dict[str, int] = field(default_factory=dict)

    def error(self, what: str) -> None:
        self.errors += 1
        if len(self.samples) < 5:
            self.samples.append(what[:300])


class Context:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.address = ("127.0.0.1", int(spec["port"]))
        self.host = f"127.0.0.1:{spec['port']}"
        fx = spec["fixtures"]
        self.fx = fx
        self.basic = "Basic " + base64.b64encode(
            f"{fx['client_id']}:{fx['client_secret']}".encode()).decode()

    def request(self, method: str, path: str, headers: dict[str, str] | None = None,
                body: bytes = b"") -> httpclient.Reply:
        return httpclient.send(self.address, httpclient.build(method, path, self.host,
                                                              headers, body))

    def form_request(self, path: str, values: dict[str, str],
                     headers: dict[str, str] | None = None) -> bytes:
        """The bytes of a form POST, for requests sent many times unchanged."""
        return httpclient.build("POST", path, self.host, {"Content-Type": FORM, **(headers or {})},
                                urlencode(values).encode())

    def form(self, path: str, values: dict[str, str], headers: dict[str, str] | None = None
             ) -> httpclient.Reply:
        return httpclient.send(self.address, self.form_request(path, values, headers))

    def login(self) -> str:
        """Sign the user in; the session cookie (``name=value``) to send with /oauth/authorize.

        The bench apps take a bare form post; ``authgate serve``'s sign-in page is
        CSRF-protected (its seed says so with ``login_csrf``), so the driver first
        reads the form like a browser: the token and the cookie holding its session.
        """
        values = {"username": self.fx["username"], "password": self.fx["password"]}
        headers = {}
        if self.fx.get("login_csrf"):
            page = self.request("GET", "/login")
            found = CSRF_FIELD.search(page.body)
            cookie = page.headers.get("set-cookie", "")
            if page.status != 200 or not found or not cookie:
                raise RuntimeError(f"login page: {page.status} {page.body[:200]!r}")
            values["csrf_token"] = found.group(1).decode()
            headers["Cookie"] = cookie.split(";", 1)[0]
        reply = self.form("/login", values, headers)
        cookie = reply.headers.get("set-cookie", "")
        if reply.status not in (200, 302, 303) or not cookie:
            raise RuntimeError(f"login failed: {reply.status} {reply.body[:200]!r}")
        return cookie.split(";", 1)[0]


@dataclass(frozen=True)
class PkcePair:
    """A PKCE verifier with the parts of its W3 requests that never change, encoded once.

    ``urlencode`` costs about 10 µs a call, taken from the cores the server is
    measured on; what changes per flow (the state, the code) is quoted alone and
    put in between, giving the same bytes as encoding the whole form each time.
    """

    verifier: str
    authorize_head: str  # the /oauth/authorize query up to and with "state="
    authorize_tail: str  # "&code_challenge=...&code_challenge_method=S256"
    token_tail: str  # "&redirect_uri=...&code_verifier=..." after the code in the token form

    def authorize_query(self, state: str) -> str:
        return self.authorize_head + quote_plus(state) + self.authorize_tail

    def token_form(self, code: str) -> bytes:
        return f"grant_type=authorization_code&code={quote_plus(code)}{self.token_tail}".encode()


def _pkce_pairs(fx: dict[str, Any], n: int) -> list[PkcePair]:
    pairs = []
    for _ in range(n):
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(
            hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        head = urlencode({"response_type": "code", "client_id": fx["client_id"],
                          "redirect_uri": fx["redirect_uri"], "scope": fx["scope"]})
        tail = urlencode({"code_challenge": challenge, "code_challenge_method": "S256"})
        token_tail = urlencode({"redirect_uri": fx["redirect_uri"], "code_verifier": verifier})
        pairs.append(PkcePair(verifier, head + "&state=", "&" + tail, "&" + token_tail))
    return pairs


def authorization_code_flow(ctx: Context, cookie: str, pair: PkcePair, state: str
                            ) -> tuple[int, str | None, str]:
    """One W3 flow; (requests sent, error or None, access token)."""
    reply = ctx.request("GET", "/oauth/authorize?" + pair.authorize_query(state),
                        {"Cookie": cookie})
    location = reply.headers.get("location", "")
    codes = parse_qs(urlsplit(location).query).get("code")
    if reply.status != 302 or not codes:
        return 1, f"authorize: {reply.status} {location[:100]} {reply.body[:150]!r}", ""
    reply = ctx.request("POST", "/oauth/token", {"Content-Type": FORM, "Authorization": ctx.basic},
                        pair.token_form(codes[0]))
    if reply.status != 200 or b'"access_token"' not in reply.body:
        return 2, f"token: {reply.status} {reply.body[:200]!r}", ""
    return 2, None, json.loads(reply.body)["access_token"]


def obtain_user_tokens(port: int, fixtures: dict[str, Any], n: int) -> list[str]:
    """Access tokens bound to the user, through W3 flows (for W2's token pool)."""
    ctx = Context({"port": port, "fixtures": fixtures})
    cookie = ctx.login()
    tokens = []
    for pair in _pkce_pairs(fixtures, n):
        _, error, token = authorization_code_flow(ctx, cookie, pair, "s")
        if error:
            raise RuntimeError(f"could not obtain a token: {error}")
        tokens.append(token)
    return tokens


# -- the workloads, one thread's loop each ---------------------------------------------
def run_w3(ctx: Context, deadline: float, stats: Stats, prepared: Any) -> None:
    cookie, pairs = prepared
    i = 0
    while time.perf_counter() < deadline:
        pair = pairs[i % len(pairs)]
        i += 1
        start = time.perf_counter()
        try:
            sent, error, _ = authorization_code_flow(ctx, cookie, pair, str(i))
        except OSError as exc:
            sent, error = 1, f"socket: {exc}"
        stats.requests += sent
        if error:
            stats.error(error)
            continue
        stats.flows += 1
        stats.latencies.append(time.perf_counter() - start)


def prepare_w3(ctx: Context) -> Any:
    return ctx.login(), _pkce_pairs(ctx.fx, 64)


def run_w4(ctx: Context, deadline: float, stats: Stats, prepared: Any) -> None:
    for raw in prepared:
        if time.perf_counter() >= deadline:
            return
        start = time.perf_counter()
        try:
            reply = httpclient.send(ctx.address, raw)
        except OSError as exc:
            stats.requests += 1
            stats.error(f"socket: {exc}")
            continue
        stats.requests += 1
        if reply.status != 200 or b'"username"' not in reply.body:
            stats.error(f"{reply.status} {reply.body[:200]!r}")
            continue
        stats.flows += 1
        stats.latencies.append(time.perf_counter() - start)
    stats.exhausted = True


def presign_w4(ctx: Context, count: int) -> list[bytes]:
    o1 = ctx.fx["oauth1"]
    url = f"http://{ctx.host}/oauth1/api/me"
    now = int(time.time())
    signed = []
    for _ in range(count):
        header = oauth1_sign.authorization_header(
            "GET", url, client_key=o1["client_key"], client_secret=o1["client_secret"],
            token=o1["token"], token_secret=o1["token_secret"], timestamp=now)
        signed.append(httpclient.build("GET", "/oauth1/api/me", ctx.host,
                                       {"Authorization": header}))
    return signed


def signed_as_needed(ctx: Context, batch: int = 100) -> Iterator[bytes]:
    """W4 requests without end, signed a batch at a time with the current clock.

    For the soak: minutes of pre-signed requests would cost the driver hundreds of
    MiB and a long preparation, and could outlast the server's timestamp window.
    The signing happens before each request's timer starts, as with pre-signing.
    """
    while True:
        yield from presign_w4(ctx, batch)


def run_w5(ctx: Context, deadline: float, stats: Stats, prepared: Any) -> None:
    """Device authorizations, each polled ``polls`` times back to back.

    A poll must be answered 400 with an error the target's seed lists in
    ``device_poll_answers`` (default: only ``authorization_pending``: every target
    runs with no polling interval, ``authgate serve`` through
    ``AUTHGATE_DEVICE_INTERVAL=0``); the answers are counted apart.
    """
    polls = int(ctx.spec.get("polls", 10))
    scope = ctx.fx["scope"]
    accepted = [(name, f'"{name}"'.encode())
                for name in ctx.fx.get("device_poll_answers") or ["authorization_pending"]]
    device = ctx.form_request("/oauth/device", {"scope": scope}, {"Authorization": ctx.basic})
    while time.perf_counter() < deadline:
        start = time.perf_counter()
        try:
            reply = httpclient.send(ctx.address, device)
        except OSError as exc:
            stats.requests += 1
            stats.error(f"socket: {exc}")
            continue
        stats.requests += 1
        if reply.status != 200 or b'"device_code"' not in reply.body:
            stats.error(f"device: {reply.status} {reply.body[:200]!r}")
            continue
        stats.latencies.append(time.perf_counter() - start)
        device_code = json.loads(reply.body)["device_code"]
        raw = ctx.form_request("/oauth/token", {"grant_type": DEVICE_GRANT,
                                                "device_code": device_code},
                               {"Authorization": ctx.basic})
        for _ in range(polls):
            if time.perf_counter() >= deadline:
                break
            start = time.perf_counter()
            try:
                reply = httpclient.send(ctx.address, raw)
            except OSError as exc:
                stats.requests += 1
                stats.error(f"socket: {exc}")
                continue
            stats.requests += 1
            answer = next((name for name, quoted in accepted if quoted in reply.body), None)
            if reply.status != 400 or answer is None:
                stats.error(f"poll: {reply.status} {reply.body[:200]!r}")
                continue
            stats.poll_answers[answer] = stats.poll_answers.get(answer, 0) + 1
            stats.latencies.append(time.perf_counter() - start)
        stats.flows += 1


RUNNERS = {"W3": run_w3, "W4": run_w4, "W5": run_w5}


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


def run_phase(ctx: Context, workload: str, seconds: float, prepared: list[Any]
              ) -> dict[str, Any]:
    runner = RUNNERS[workload]
    threads_n = len(prepared)
    all_stats = [Stats() for _ in range(threads_n)]
    start = time.perf_counter()
    deadline = start + seconds
    threads = [threading.Thread(target=runner, args=(ctx, deadline, all_stats[i], prepared[i]))
               for i in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    latencies = [x for s in all_stats for x in s.latencies]
    poll_answers: dict[str, int] = {}
    for s in all_stats:
        for name, count in s.poll_answers.items():
            poll_answers[name] = poll_answers.get(name, 0) + count
    return {
        "duration_s": elapsed,
        "requests": sum(s.requests for s in all_stats),
        "flows": sum(s.flows for s in all_stats),
        "errors": sum(s.errors for s in all_stats),
        "error_samples": [x for s in all_stats for x in s.samples][:5],
        "p50_ms": (percentile(latencies, 50) or 0) * 1000,
        "p99_ms": (percentile(latencies, 99) or 0) * 1000,
        "exhausted": any(s.exhausted for s in all_stats),
        "poll_answers": poll_answers,
    }


def prepare(ctx: Context, workload: str, seconds: float) -> list[Any]:
    threads_n = int(ctx.spec.get("threads", 8))
    if workload == "W3":
        return [prepare_w3(ctx) for _ in range(threads_n)]
    if workload == "W4":
        rate = int(ctx.spec.get("presign_rate", 7000))
        if rate <= 0:
            return [signed_as_needed(ctx) for _ in range(threads_n)]
        per_thread = max(1, int(rate * seconds / threads_n) + 1)
        return [presign_w4(ctx, per_thread) for _ in range(threads_n)]
    return [None] * threads_n


def main(argv: list[str]) -> int:
    with open(argv[0]) as f:
        spec = json.load(f)
    ctx = Context(spec)
    workload = spec["workload"]
    warmup = float(spec.get("warmup", 1))
    duration = float(spec["duration"])
    if warmup > 0:
        run_phase(ctx, workload, warmup, prepare(ctx, workload, warmup))
    prepared = prepare(ctx, workload, duration)
    print("READY", flush=True)
    sys.stdin.readline()
    result = run_phase(ctx, workload, duration, prepared)
    print(json.dumps(result), flush=True)
    sys.stdin.read()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
