"""What the command line (and, later, the web pages) do to users, clients and keys.

Each function checks its input before touching the database and raises
``ValueError`` with a message for the operator, so a bad value changes
nothing. Called inside an app context.
"""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from sqlalchemy import select

from authgate.core.oauth2.jwt import SigningKey
from authgate.server.app import state
from authgate.server.keys import rotate_keys
from authgate.server.models import InitialAccessToken, OAuth1Client, OAuth2Client, User

__all__ = [
    "create_initial_access_token",
    "create_oauth1_client",
    "create_oauth2_client",
    "create_user",
    "rotate_signing_keys",
    "validate_redirect_uri",
]

DEFAULT_GRANT_TYPES = ["authorization_code", "refresh_token"]
LOOPBACK_HOSTS = {"127.0.0.1", "::1", "localhost"}
MAX_NAME = 120


def _check_name(name: str, what: str) -> str:
    name = name.strip()
    if not name or len(name) > MAX_NAME or any(ord(c) < 32 for c in name):
        raise ValueError(f"{what} must be 1 to {MAX_NAME} printable characters")
    return name


def create_user(username: str, password: str, scopes: str) -> User:
    username = _check_name(username, "the username")
    if len(username) > 80 or any(c.isspace() for c in username):
        raise ValueError("the username must be at most 80 characters, without spaces")
    if len(password) < 8:
        raise ValueError("the password must have at least 8 characters")
    session = state().db.session
    if session.execute(select(User.id).filter_by(username=username)).first() is not None:
        raise ValueError(f"the user {username!r} exists already")
    user = User(username=username, scopes=" ".join(dict.fromkeys(scopes.split())),
                created_at=int(state().settings.clock()))
    user.set_password(password)
    session.add(user)
    session.commit()
    state().audit.record("user.created", actor=username)
    return user


def validate_redirect_uri(uri: str) -> str:
    """Absolute, no fragment; plain http only to loopback (RFC 8252 §7.3, RFC 9700 §2.1)."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        raise ValueError(f"not a URI: {uri!r}") from None
    if not parts.scheme or parts.fragment or "#" in uri or any(c.isspace() for c in uri):
        raise ValueError(f"a redirect URI must be absolute, without a fragment: {uri!r}")
    if parts.scheme in ("http", "https") and not parts.hostname:
        raise ValueError(f"a redirect URI needs a host: {uri!r}")
    if parts.scheme == "http" and parts.hostname not in LOOPBACK_HOSTS \
            and not state().settings.insecure_transport:
        raise ValueError(f"plain http is only allowed for loopback redirect URIs: {uri!r}")
    if parts.scheme.lower() in ("javascript", "data", "file", "vbscript"):
        raise ValueError(f"this scheme cannot be a redirect URI: {uri!r}")
    return uri


def create_oauth2_client(name: str, grant_types: list[str], redirect_uris: list[str],
                         scope: str, auth_method: str, *, client_uri: str = "",
                         response_types: list[str] | None = None, owner_id: int | None = None,
                         via: str = "cli", keys: dict[str, Any] | None = None
                         ) -> dict[str, Any]:
    """Register a client; returns its registration, with the secret (shown only now).

    ``owner_id`` is the user who registered it on the web page (their home page
    lists it); ``response_types`` default to what the grants imply.
    """
    settings = state().settings
    name = _check_name(name, "the client name")
    grants = list(dict.fromkeys(grant_types or DEFAULT_GRANT_TYPES))
    supported = set(state().oauth2.server.metadata()["grant_types_supported"])
    unknown = [g for g in grants if g not in supported]
    if unknown:
        raise ValueError(f"grant types not offered by this server: {', '.join(unknown)}")
    if auth_method == "none" and "client_credentials" in grants:
        raise ValueError("client_credentials needs a confidential client (not --auth-method none)")
    redirects = [validate_redirect_uri(u) for u in redirect_uris]
    if not redirects and {"authorization_code", "implicit"} & set(grants):
        raise ValueError("the authorization code and implicit grants need a --redirect-uri")
    scopes = list(dict.fromkeys(scope.split()))
    unknown = [s for s in scopes if s not in settings.scopes]
    if unknown:
        raise ValueError(f"scopes not offered by this server: {', '.join(unknown)}")
    implied = [rt for grant, rt in (("authorization_code", "code"), ("implicit", "token"))
               if grant in grants]
    if response_types is not None and set(response_types) != set(implied):
        raise ValueError(f"the response types must be {' '.join(implied) or 'none'} "
                         "for these grant types")
    metadata = {"client_name": name, "redirect_uris": redirects, "grant_types": grants,
                "response_types": implied, "scope": " ".join(scopes),
                "token_endpoint_auth_method": auth_method}
    if client_uri:
        metadata["client_uri"] = client_uri
    if auth_method == "private_key_jwt":  # RFC 7523: the client's public keys, no secret
        if not keys:
            raise ValueError("private_key_jwt needs --jwks FILE or --jwks-uri")
        metadata.update(keys)
    client = OAuth2Client(client_id=secrets.token_urlsafe(18),
                          client_id_issued_at=int(settings.clock()), user_id=owner_id)
    secret = None if auth_method in ("none", "private_key_jwt") else secrets.token_urlsafe(36)
    client.client_secret = secret
    client.set_client_metadata(metadata)
    session = state().db.session
    session.add(client)
    session.commit()
    state().audit.record("client.registered", client_id=client.client_id, grant_types=grants,
                         via=via)
    info: dict[str, Any] = {"client_id": client.client_id}
    if secret is not None:
        info["client_secret"] = secret
        info["client_secret_expires_at"] = 0
    info["client_id_issued_at"] = client.client_id_issued_at
    return {**info, **metadata}


def create_oauth1_client(name: str, callback_uri: str, rsa_public_key: str | None
                         ) -> dict[str, Any]:
    name = _check_name(name, "the client name")
    if callback_uri:
        parts = urlsplit(callback_uri)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.fragment:
            raise ValueError(f"the callback must be an absolute http(s) URI: {callback_uri!r}")
    if rsa_public_key is not None:
        try:
            key = load_pem_public_key(rsa_public_key.encode())
        except ValueError:
            raise ValueError("the RSA public key is not a PEM public key") from None
        if not isinstance(key, rsa.RSAPublicKey) or key.key_size < 2048:
            raise ValueError("the public key must be RSA of at least 2048 bits")
    secret = secrets.token_urlsafe(36)
    client = OAuth1Client(client_id=secrets.token_urlsafe(18), client_secret=secret,
                          client_name=name, default_redirect_uri=callback_uri,
                          rsa_public_key=rsa_public_key)
    session = state().db.session
    session.add(client)
    session.commit()
    state().audit.record("oauth1.client.registered", client_id=client.client_id, via="cli")
    return {"client_id": client.client_id, "client_secret": secret, "client_name": name,
            "callback_uri": callback_uri}


def rotate_signing_keys() -> tuple[SigningKey, list[str]]:
    """A new key: published now, signing now (or in two hours under the NMOS profile)."""
    server_state = state()
    settings = server_state.settings
    with server_state.db.session_factory() as session:
        new_key, gone = rotate_keys(
            session, server_state.cipher, settings.jwt_alg, settings.clock(),
            not_before_delay=settings.key_not_before_delay,
            max_token_lifetime=settings.token_lifetime + settings.key_reload_interval)
    server_state.keys.reload()
    server_state.audit.record("keys.rotated", kid=new_key.kid, pruned=gone)
    return new_key, gone


def create_initial_access_token(expires_in: int) -> tuple[str, int]:
    settings = state().settings
    token = secrets.token_urlsafe(32)
    now = int(settings.clock())
    session = state().db.session
    session.add(InitialAccessToken(token=token, created_at=now, expires_at=now + expires_in))
    session.commit()
    state().audit.record("initial_token.created", expires_at=now + expires_in)
    return token, now + expires_in
