"""The OAuth 1.0a side of the server, with the library's Flask face and storage helpers.

Token credentials always live in the database. Nonces and temporary
credentials go to Redis when ``AUTHGATE_REDIS_URL`` is set (so several
instances share them, and they expire by themselves), and to the database
otherwise: a process-local memory cache would let a nonce be replayed
against another gunicorn worker.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from authgate.cache import oauth1 as cache_oauth1
from authgate.flask.oauth1 import AuthorizationServer, ResourceProtector
from authgate.server.config import Settings
from authgate.server.database import Database
from authgate.server.models import (
    OAuth1Client,
    OAuth1Nonce,
    OAuth1TemporaryCredential,
    OAuth1TokenCredential,
)
from authgate.sqla import oauth1 as sqla_oauth1

__all__ = ["OAuth1Parts", "build_oauth1"]


@dataclass
class OAuth1Parts:
    server: AuthorizationServer
    require_oauth: ResourceProtector


def build_oauth1(app: Any, settings: Settings, db: Database, cache: Any) -> OAuth1Parts:
    app.config.setdefault("OAUTH1_SUPPORTED_SIGNATURE_METHODS",
                          ["HMAC-SHA1", "RSA-SHA1", "PLAINTEXT"])
    # Lookups and nonces on the engine's own connections: a signed request needs no
    # session (docs/oauth1.md, "Keeping signed requests out of the session").
    query_client = sqla_oauth1.create_query_client_func(db.engine, OAuth1Client)
    server = AuthorizationServer(app, query_client=query_client)
    if settings.redis_url:
        cache_oauth1.register_nonce_hooks(server, cache)
        cache_oauth1.register_temporary_credential_hooks(server, cache)
        exists_nonce = cache_oauth1.create_exists_nonce_func(cache)
    else:
        sqla_oauth1.register_nonce_hooks(server, db.engine, OAuth1Nonce)
        sqla_oauth1.register_temporary_credential_hooks(server, db.session,
                                                        OAuth1TemporaryCredential)
        exists_nonce = sqla_oauth1.create_exists_nonce_func(db.engine, OAuth1Nonce)
    sqla_oauth1.register_token_credential_hooks(server, db.session, OAuth1TokenCredential)
    protector = ResourceProtector(
        app, query_client=query_client,
        query_token=sqla_oauth1.create_query_token_func(db.engine, OAuth1TokenCredential),
        exists_nonce=exists_nonce, realm=settings.issuer)
    return OAuth1Parts(server, protector)
