"""A loopback TCP proxy that can be cut and restored, to fake a backing service going down.

The fault tests put one between a server and Redis or PostgreSQL instead of
stopping the real service, which other tests use in parallel. ``cut()`` is a
crash as the server sees it: every open connection is reset and new ones are
refused (the listening socket is closed, so connecting fails with
``ECONNREFUSED``); ``restore()`` listens on the same port again, as a
restarted service would.
"""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress

__all__ = ["TcpProxy", "tcp_proxy"]

#: How often the accept loop looks at its stop flag: the only latency cut() adds.
ACCEPT_POLL_S = 0.05


def _reset(sock: socket.socket) -> None:
    """Close with RST rather than FIN, as a crashed peer's kernel would."""
    with suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


class TcpProxy:
    """Forwards ``127.0.0.1:<port>`` to ``target``, one pair of pump threads per connection."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self._acceptor: threading.Thread | None = None
        self._stop = threading.Event()
        self.connections = 0  # accepted so far, so tests can see traffic went through us

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> TcpProxy:
        self._listen()
        return self

    def cut(self) -> None:
        """Stop listening and reset every forwarded connection."""
        self._stop.set()
        if self._acceptor is not None:
            self._acceptor.join(5)
        with self._lock:
            doomed, self._sockets = list(self._sockets), set()
        for sock in doomed:
            _reset(sock)

    def restore(self) -> None:
        """Listen again on the same port."""
        if self._acceptor is not None and self._acceptor.is_alive():
            return
        self._listen()

    def close(self) -> None:
        self.cut()

    # -- internals ---------------------------------------------------------------------------

    def _listen(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        listener.settimeout(ACCEPT_POLL_S)
        self.port = listener.getsockname()[1]
        self._listener = listener
        self._stop = threading.Event()
        self._acceptor = threading.Thread(target=self._accept_loop, args=(listener, self._stop),
                                          name=f"tcp-proxy-{self.port}", daemon=True)
        self._acceptor.start()

    def _accept_loop(self, listener: socket.socket, stop: threading.Event) -> None:
        try:
            while not stop.is_set():
                try:
                    client, _ = listener.accept()
                except TimeoutError:
                    continue
                except OSError:
                    return
                client.settimeout(None)
                try:
                    upstream = socket.create_connection(self.target, timeout=5)
                    upstream.settimeout(None)
                except OSError:
                    _reset(client)
                    continue
                with self._lock:
                    if stop.is_set():
                        _reset(client)
                        _reset(upstream)
                        return
                    self._sockets.update((client, upstream))
                    self.connections += 1
                for source, sink in ((client, upstream), (upstream, client)):
                    threading.Thread(target=self._pump, args=(source, sink),
                                     daemon=True).start()
        finally:
            listener.close()  # refuses new connections from here on

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            # One side ended: end both, and forget them.
            with self._lock:
                self._sockets.discard(source)
                self._sockets.discard(sink)
            for sock in (source, sink):
                with suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()


@contextmanager
def tcp_proxy(target_host: str, target_port: int) -> Iterator[TcpProxy]:
    """A started proxy to ``target``, cut when the block ends."""
    proxy = TcpProxy(target_host, target_port).start()
    try:
        yield proxy
    finally:
        proxy.close()
