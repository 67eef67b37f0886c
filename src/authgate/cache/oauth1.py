"""OAuth 1 nonces and temporary credentials kept in a cache.

Works with any object offering ``get``, ``set(key, value, expires=None)`` and
``delete`` (the seed API's cache). When the cache is an authgate
:class:`~authgate.cache.base.Cache`, its atomic ``add`` and ``pop`` decide
nonce reuse, authorization and single use, so two server processes cannot
both win; a plain get/set/delete cache falls back to read-then-write, which
is only safe within one process (documented in ``docs/oauth1.md``).

The temporary credential's secret is stored encrypted with the server's
:meth:`secret_cipher` (RFC 5849 §4.5 wants it usable, not hashed), bound to
its token, so a cache dump does not yield signing keys.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from authgate.cache.base import Cache
from authgate.core.oauth1.encoding import escape
from authgate.core.oauth1.models import TemporaryCredentialMethods
from authgate.core.oauth1.secrets import SecretCipher
from authgate.core.security import token_digest

__all__ = [
    "CachedTemporaryCredential",
    "create_exists_nonce_func",
    "register_nonce_hooks",
    "register_temporary_credential_hooks",
]

NONCE_PREFIX = "oauth1:nonce:"
TEMPORARY_PREFIX = "oauth1:temporary:"


class _Server(Protocol):
    def register_hook(self, name: str, func: Callable[..., Any]) -> None: ...

    def secret_cipher(self) -> SecretCipher: ...


def create_exists_nonce_func(
    cache: Any, key_prefix: str = NONCE_PREFIX, expires: int = 86400
) -> Callable[[str, str, str, str | None], bool]:
    """An ``exists_nonce(nonce, timestamp, client_id, oauth_token)`` that also records the nonce.

    ``expires`` must outlast the server's timestamp window (600 s each way by
    default); a day leaves room for wider windows.
    """
    atomic = isinstance(cache, Cache)

    def exists_nonce(nonce: str, timestamp: str, client_id: str, oauth_token: str | None) -> bool:
        parts = (client_id, oauth_token or "", timestamp, nonce)
        key = key_prefix + ":".join(escape(part) for part in parts)
        if atomic:
            return not cache.add(key, 1, expires)
        if cache.get(key) is not None:
            return True
        cache.set(key, 1, expires)
        return False

    return exists_nonce


def register_nonce_hooks(
    server: _Server, cache: Any, key_prefix: str = NONCE_PREFIX, expires: int = 86400
) -> None:
    server.register_hook("exists_nonce", create_exists_nonce_func(cache, key_prefix, expires))


@dataclass(frozen=True, slots=True)
class CachedTemporaryCredential(TemporaryCredentialMethods):
    """A temporary credential read back from the cache; ``repr`` hides the secret."""

    client_id: str
    oauth_token: str
    oauth_token_secret: str = field(repr=False)
    oauth_callback: str
    oauth_verifier: str | None = field(default=None, repr=False)
    user_id: Any = None


def _purpose(token: str) -> str:
    return "oauth1 temporary credential secret:" + token


def register_temporary_credential_hooks(
    server: _Server, cache: Any, key_prefix: str = TEMPORARY_PREFIX, expires: int = 3600
) -> None:
    """Register the four temporary-credential hooks on ``server``, over ``cache``.

    A temporary credential lives ``expires`` seconds (an hour by default): long
    enough for a user to log in and approve, short enough not to linger.
    """
    atomic = isinstance(cache, Cache)

    def key(token: str) -> str:
        return key_prefix + escape(token)

    def create_temporary_credential(
        token: dict[str, str], client_id: str, redirect_uri: str
    ) -> CachedTemporaryCredential:
        oauth_token, secret = token["oauth_token"], token["oauth_token_secret"]
        sealed = server.secret_cipher().encrypt(secret, _purpose(oauth_token))
        cache.set(key(oauth_token), {"client_id": client_id, "secret": sealed,
                                     "oauth_callback": redirect_uri}, expires)
        return CachedTemporaryCredential(client_id, oauth_token, secret, redirect_uri)

    def get_temporary_credential(oauth_token: str) -> CachedTemporaryCredential | None:
        data = cache.get(key(oauth_token))
        if not isinstance(data, dict):
            return None
        grant = cache.get(key(oauth_token) + ":verifier") or {}
        secret = server.secret_cipher().decrypt(data["secret"], _purpose(oauth_token))
        return CachedTemporaryCredential(
            client_id=data["client_id"],
            oauth_token=oauth_token,
            oauth_token_secret=secret,
            oauth_callback=data["oauth_callback"],
            oauth_verifier=grant.get("oauth_verifier"),
            user_id=grant.get("user_id"),
        )

    def create_authorization_verifier(credential: Any, grant_user: Any, verifier: str) -> bool:
        grant_key = key(credential.get_oauth_token()) + ":verifier"
        grant = {"oauth_verifier": token_digest(verifier), "user_id": grant_user.get_user_id()}
        if atomic:
            return bool(cache.add(grant_key, grant, expires))
        if cache.get(grant_key) is not None:
            return False
        cache.set(grant_key, grant, expires)
        return True

    def delete_temporary_credential(oauth_token: str) -> bool:
        if atomic:
            existed = cache.pop(key(oauth_token)) is not None
        else:
            existed = cache.get(key(oauth_token)) is not None
            cache.delete(key(oauth_token))
        cache.delete(key(oauth_token) + ":verifier")
        return existed

    server.register_hook("create_temporary_credential", create_temporary_credential)
    server.register_hook("get_temporary_credential", get_temporary_credential)
    server.register_hook("create_authorization_verifier", create_authorization_verifier)
    server.register_hook("delete_temporary_credential", delete_temporary_credential)
