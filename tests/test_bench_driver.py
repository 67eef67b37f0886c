"""The benchmark's load generators: bench.httpclient, the Python driver's requests, the W2 Lua.

They were made cheaper per request (the driver shares the server's cores), by
reading only what the reply's Content-Length says, parsing headers lazily,
encoding the unchanging parts of W3's requests once and formatting W2's wrk
requests once per thread. None of that may change what goes on the wire or
what is counted as an error; these tests hold that against tiny loopback
servers, no gunicorn needed (the W2 test needs ``wrk`` and skips without it).
"""

from __future__ import annotations

import json
import pathlib
import shutil
import socket
import socketserver
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from urllib.parse import urlencode

import pytest
from bench import driver, httpclient, wrkload

Answer = Callable[[bytes], list[bytes]]


@contextmanager
def loopback_server(answer: Answer) -> Iterator[tuple[tuple[str, int], list[bytes]]]:
    """A one-request-per-connection server on 127.0.0.1: ``answer(request)`` gives the
    reply's pieces, sent apart (so the client must read on) before the server closes.
    Yields the address and the list of raw requests received."""
    received: list[bytes] = []

    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = self.request.recv(65536)
                if not chunk:
                    return
                data += chunk
            head, _, body = data.partition(b"\r\n\r\n")
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    while len(body) < int(line.split(b":")[1]):
                        body += self.request.recv(65536)
            received.append(head + b"\r\n\r\n" + body)
            for piece in answer(data):
                self.request.sendall(piece)
                time.sleep(0.005)

    socketserver.ThreadingTCPServer.allow_reuse_address = True
    with socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler) as server:
        server.daemon_threads = True
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield server.server_address, received
        finally:
            server.shutdown()


def test_send_reads_exactly_content_length_and_parses_headers_on_demand() -> None:
    body = b'{"username": "alice"}'
    pieces = [b"HTTP/1.1 200 OK\r\nServer: test\r\nSet-Cookie: a=1\r\n",
              b"content-LENGTH: %d\r\nSet-Cookie: b=2; Path=/\r\n\r\n" % len(body),
              body[:5], body[5:]]
    with loopback_server(lambda _: pieces) as (address, received):
        raw = httpclient.build("GET", "/x", f"127.0.0.1:{address[1]}", {"Authorization": "t"})
        reply = httpclient.send(address, raw)
    assert received == [raw]
    assert reply.status == 200
    assert reply.body == body
    assert reply.headers["content-length"] == str(len(body))
    assert reply.headers["set-cookie"] == "b=2; Path=/"  # a repeated header keeps its last value
    assert reply.headers.get("server") == "test"


def test_send_without_content_length_reads_to_the_end() -> None:
    pieces = [b"HTTP/1.1 302 FOUND\r\nLocation: https://c.example/cb?code=abc\r\n\r\n",
              b"first ", b"second"]
    with loopback_server(lambda _: pieces) as (address, _):
        reply = httpclient.send(address, httpclient.build("GET", "/", "h"))
    assert (reply.status, reply.body) == (302, b"first second")
    assert reply.headers["location"] == "https://c.example/cb?code=abc"


def test_send_raises_os_errors_the_driver_counts() -> None:
    with (loopback_server(lambda _: [b"HTTP/1.1 200 OK\r\n"]) as (address, _),
          pytest.raises(ConnectionError)):
        httpclient.send(address, httpclient.build("GET", "/", "h"))
    with socket.socket() as silent:  # accepts (backlog) but never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        with pytest.raises(TimeoutError):
            httpclient.send(silent.getsockname(), httpclient.build("GET", "/", "h"), timeout=0.2)


def test_w3_requests_are_the_bytes_of_encoding_each_form_whole() -> None:
    fx = {"client_id": "c i/d", "redirect_uri": "https://c.example/cb?x=1&y", "scope": "a b"}
    pair = driver._pkce_pairs(fx, 1)[0]
    challenge = pair.authorize_tail.split("code_challenge=")[1].split("&")[0]
    assert pair.authorize_query("s 1") == urlencode({
        "response_type": "code", "client_id": fx["client_id"],
        "redirect_uri": fx["redirect_uri"], "scope": fx["scope"], "state": "s 1",
        "code_challenge": challenge, "code_challenge_method": "S256"})
    assert pair.token_form("co+de/") == urlencode({
        "grant_type": "authorization_code", "code": "co+de/", "redirect_uri": fx["redirect_uri"],
        "code_verifier": pair.verifier}).encode()


def _w4_context(port: int) -> driver.Context:
    fixtures = {"client_id": "c", "client_secret": "s", "scope": "profile",
                "oauth1": {"client_key": "k", "client_secret": "s", "token": "t",
                           "token_secret": "ts"}}
    return driver.Context({"port": port, "fixtures": fixtures, "threads": 3})


@pytest.mark.parametrize(("status", "body", "flows", "errors"), [
    (b"200 OK", b'{"username": "alice"}', 12, 0),
    (b"200 OK", b'{"nobody": 1}', 0, 12),  # a wrong body is an error
    (b"401 UNAUTHORIZED", b'{"username": "alice"}', 0, 12),  # so is a wrong status
])
def test_driver_phase_counts_replies_and_errors(status: bytes, body: bytes, flows: int,
                                               errors: int) -> None:
    def answer(_: bytes) -> list[bytes]:
        return [b"HTTP/1.1 " + status + b"\r\nContent-Length: %d\r\n\r\n" % len(body) + body]

    with loopback_server(answer) as (address, received):
        ctx = _w4_context(address[1])
        prepared = [driver.presign_w4(ctx, 4) for _ in range(3)]
        result = driver.run_phase(ctx, "W4", 30, prepared)
    assert sorted(received) == sorted(raw for batch in prepared for raw in batch)
    assert (result["requests"], result["flows"], result["errors"]) == (12, flows, errors)
    assert result["exhausted"]  # every pre-signed request was used before the deadline
    assert (result["p50_ms"] > 0) == (flows > 0)


def _capture_wrk(script: str, status: bytes, tmp_path: pathlib.Path) -> tuple[list[bytes], dict]:
    with loopback_server(lambda _: [b"HTTP/1.1 " + status + b"\r\nContent-Length: 0\r\n"
                                    b"Connection: close\r\n\r\n"]) as (address, received):
        path = tmp_path / "w2.lua"
        path.write_text(script)
        done = subprocess.run(["wrk", "-t", "1", "-c", "1", "-d", "1s", "-s", str(path),
                               f"http://127.0.0.1:{address[1]}"],
                              capture_output=True, text=True, timeout=30)
        lines = [x for x in done.stdout.splitlines() if x.startswith("BENCHJSON ")]
        assert lines, f"wrk gave no result:\n{done.stdout}{done.stderr}"
        return list(received), json.loads(lines[0][len("BENCHJSON "):])


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")
def test_w2_script_sends_the_pool_round_robin_and_counts_wrong_statuses(
        tmp_path: pathlib.Path) -> None:
    script = wrkload.script("W2", {}, ["t0", "t1", "t2"])
    received, result = _capture_wrk(script, b"200 OK", tmp_path)
    assert len(received) >= 6 and result["wrong_status"] == 0
    host = received[0].split(b"\r\n")[1]
    assert host.startswith(b"Host: 127.0.0.1:")
    first = int(received[0][-5:-4])  # wrk asks for one request before the first it sends
    expected = [b"GET /api/me HTTP/1.1\r\n" + host + b"\r\nAuthorization: Bearer t%d\r\n\r\n"
                % ((first + n) % 3) for n in range(6)]
    assert received[:6] == expected
    received, result = _capture_wrk(script, b"404 NOT FOUND", tmp_path)
    assert result["wrong_status"] == result["requests"] > 0
