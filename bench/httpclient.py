"""A minimal HTTP/1.1 client over raw sockets, one connection per request.

gunicorn's sync workers close the connection after every response, so
there is nothing to keep alive. The driver shares the server's two cores, so
every microsecond spent here is taken from the server being measured; hence:

* the socket is a plain ``AF_INET`` one connected to a numeric address
  (``socket.create_connection`` would run ``getaddrinfo`` for every request);
* the request bytes are built by the caller, once when they do not change;
* the reply is read up to the end of its head, then exactly Content-Length
  more bytes (to EOF when there is none), and only the status is parsed at
  once: the header dict is built on first use of ``Reply.headers``, which only
  a few requests (sign-in, /oauth/authorize) need.
"""

from __future__ import annotations

import socket

_HEAD_END = b"\r\n\r\n"
_LENGTH = b"\r\ncontent-length:"
_CHUNK = 65536


class Reply:
    """Status, body and, parsed when first asked for, the headers of one response."""

    __slots__ = ("_head", "_headers", "body", "status")

    def __init__(self, status: int, head: bytes, body: bytes) -> None:
        self.status = status
        self.body = body
        self._head = head
        self._headers: dict[str, str] | None = None

    @property
    def headers(self) -> dict[str, str]:
        """Lower-cased names; a repeated header keeps its last value."""
        if self._headers is None:
            headers = {}
            for line in self._head.decode("latin-1").split("\r\n")[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            self._headers = headers
        return self._headers

    def __repr__(self) -> str:
        return f"Reply({self.status}, {self._head!r}, {self.body!r})"


def build(method: str, path: str, host: str, headers: dict[str, str] | None = None,
          body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", "Connection: close"]
    for name, value in (headers or {}).items():
        lines.append(f"{name}: {value}")
    if body or method == "POST":
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def send(address: tuple[str, int], raw: bytes, timeout: float = 10.0) -> Reply:
    """Send ``raw`` on a new connection to ``address`` (a numeric IPv4 address) and read the reply.

    Raises ``OSError`` (``TimeoutError`` after ``timeout`` seconds without
    progress, ``ConnectionError`` when the server closes before the head ended).
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        sock.connect(address)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.sendall(raw)
        data = sock.recv(_CHUNK)
        end = data.find(_HEAD_END)
        while end < 0:
            chunk = sock.recv(_CHUNK)
            if not chunk:
                raise ConnectionError("connection closed before the headers ended")
            data += chunk
            end = data.find(_HEAD_END)
        head = data[:end]
        body = data[end + 4:]
        at = head.lower().find(_LENGTH)
        if at < 0:
            while chunk := sock.recv(_CHUNK):
                body += chunk
        else:
            stop = head.find(b"\r\n", at + len(_LENGTH))
            want = int(head[at + len(_LENGTH):stop if stop >= 0 else len(head)])
            while len(body) < want:
                chunk = sock.recv(_CHUNK)
                if not chunk:
                    break
                body += chunk
    finally:
        sock.close()
    return Reply(int(head.split(b" ", 2)[1]), head, body)
