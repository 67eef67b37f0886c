"""A stand-in authorization server: RFC 8414 metadata and a JWKS, served live on loopback.

It only publishes keys; tokens are minted in the test with the same
:class:`KeySet`, exactly as the real server's generator would mint them.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from werkzeug.wrappers import Request, Response

from authgate.core.oauth2.jwt import JWTAccessTokenGenerator, KeySet, SigningKey, jwks_document
from tests.support.live import live_server


class AuthSide:
    """The WSGI app; ``down`` makes every answer a 503, ``hits`` counts requests per path."""

    def __init__(self, keys: KeySet) -> None:
        self.keys = keys
        self.issuer = ""
        self.down = False
        self.hits: dict[str, int] = {}
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        with self._lock:
            self.hits[request.path] = self.hits.get(request.path, 0) + 1
        if self.down:
            response = Response("down", status=503)
        elif request.path == "/.well-known/oauth-authorization-server":
            response = self._json({"issuer": self.issuer, "jwks_uri": self.issuer + "/certs"})
        elif request.path == "/certs":
            response = self._json(jwks_document(self.keys, time.time()))
        else:
            response = Response("not found", status=404)
        return response(environ, start_response)

    @staticmethod
    def _json(document: dict[str, Any]) -> Response:
        return Response(json.dumps(document), mimetype="application/json")

    @property
    def jwks_fetches(self) -> int:
        return self.hits.get("/certs", 0)

    def generator(self, audience: str | list[str], *, key: SigningKey | None = None,
                  clock: Any = time.time, **options: Any) -> JWTAccessTokenGenerator:
        keys = (lambda: key) if key is not None else self.keys
        return JWTAccessTokenGenerator(self.issuer, keys, default_audience=audience,
                                       clock=clock, **options)


@contextmanager
def running(keys: KeySet) -> Iterator[AuthSide]:
    side = AuthSide(keys)
    with live_server(side) as base:
        side.issuer = base
        yield side
