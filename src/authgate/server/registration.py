"""RFC 7591 dynamic registration and ``private_key_jwt`` (RFC 7523) on the server.

The library's :class:`ClientRegistrationEndpoint` does the checking; this
module supplies what only the server knows: where clients are stored (the
server's ``OAuth2Client`` table, like every client the CLI makes), which
initial access tokens are valid, and the NMOS profile's extra rules.

Initial access tokens (``authgate create-initial-token``) are **reusable
until they expire or are revoked**, not single use: an operator commissioning
a rack of NMOS Nodes hands the same token to all of them, and the expiry
(a week by default, ``--expires-in``) bounds the damage of a leak. Each
registration made with one records the token's row id in the audit log, so
a leaked token's clients can be found and removed.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from sqlalchemy import select

from authgate.core.http import Request
from authgate.core.oauth2.errors import InvalidClientMetadataError
from authgate.core.oauth2.jwt import jwk_thumbprint, verification_key_from_jwk
from authgate.core.oauth2.nmos import client_credentials_scope_allowed
from authgate.oauth2 import ClientRegistrationEndpoint, PrivateKeyJWT
from authgate.server.audit import AuditLog
from authgate.server.config import Settings
from authgate.server.database import Database
from authgate.server.models import InitialAccessToken, OAuth2Client

__all__ = [
    "NMOS_CLIENT_ID_LENGTH",
    "ServerRegistration",
    "bearer_credential",
    "build_private_key_jwt",
    "client_key_metadata",
]

#: IS-10 wants client_ids of at least 20 characters; 24 is the library's default anyway.
NMOS_CLIENT_ID_LENGTH = 24
#: What the server puts in its own columns; the rest of the metadata goes to the JSON column.
SERVER_FIELDS = frozenset({"client_id", "client_secret", "client_id_issued_at",
                           "client_secret_expires_at"})
#: Members only a private or symmetric JWK has; such a key is never registered.
PRIVATE_JWK_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
#: IS-10 §4.3 refuses these two grants outright, with or without an initial token.
NMOS_REFUSED_GRANTS = frozenset({"implicit", "password"})


def bearer_credential(request: Request) -> str | None:
    """The value of ``Authorization: Bearer`` (RFC 6750 §2.1), or ``None``."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    value = value.strip()
    return value if scheme.lower() == "bearer" and value and len(value) <= 512 else None


def client_key_metadata(jwks: Any = None, jwks_uri: str | None = None) -> dict[str, Any]:
    """``jwks`` or ``jwks_uri`` for a ``private_key_jwt`` client made by the CLI.

    The same rules as RFC 7591 registration: exactly one of them, public
    signature keys only (a private key given by mistake is refused, not
    stored), and an https ``jwks_uri``. Raises ``ValueError`` for the operator.
    """
    if (jwks is None) == (jwks_uri is None):
        raise ValueError("private_key_jwt needs exactly one of --jwks FILE and --jwks-uri")
    if jwks_uri is not None:
        if not jwks_uri.startswith("https://") or "#" in jwks_uri or len(jwks_uri) > 2048:
            raise ValueError("--jwks-uri must be an https URL without a fragment")
        return {"jwks_uri": jwks_uri}
    keys = jwks.get("keys") if isinstance(jwks, dict) else None
    if not isinstance(keys, list) or not 0 < len(keys) <= 10:
        raise ValueError("the JWKS needs a 'keys' list of 1 to 10 public keys")
    for key in keys:
        if not isinstance(key, dict) or PRIVATE_JWK_MEMBERS.intersection(key):
            raise ValueError("the JWKS holds a private key: register the public half only")
        try:
            verification_key_from_jwk({**key, "kid": key.get("kid") or jwk_thumbprint(key)})
        except (ValueError, TypeError, KeyError):
            raise ValueError("the JWKS holds a key that is not a public signature key") from None
    return {"jwks": {"keys": keys}}


def build_private_key_jwt(settings: Settings, cache: Any) -> PrivateKeyJWT:
    """``private_key_jwt`` with a fixed audience, and used ``jti``s in the shared cache.

    The token endpoint URL and the issuer are configured so a forged ``Host``
    cannot widen the accepted audience; the server cache (Redis when
    configured) is the replay cache, so an assertion used at one instance is
    refused at every other.
    """
    return PrivateKeyJWT(settings.issuer + "/oauth/token", issuer=settings.issuer,
                         replay_cache=cache, clock=settings.clock)


class ServerRegistration(ClientRegistrationEndpoint):
    """The registration endpoint with the server's storage, token check and profile."""

    def __init__(self, server: Any, settings: Settings, db: Database, audit: AuditLog) -> None:
        nmos = settings.nmos
        super().__init__(
            server,
            client_id_length=NMOS_CLIENT_ID_LENGTH,
            allowed_grant_types=None if not nmos else
            set(server.token_grants) - NMOS_REFUSED_GRANTS,
        )
        self.settings = settings
        self.db = db
        self.audit = audit

    def authenticate_token(self, request: Request) -> InitialAccessToken | None:
        """A live initial access token, found by its digest.

        The column holds SHA-256 digests, so the database compares digests of
        an unguessable value, which tells a prober nothing; the digest is then
        compared once more in constant time, so even a collation quirk of the
        database cannot make a near miss match.
        """
        value = bearer_credential(request)
        if value is None:
            return None
        with self.db.session_factory() as session:
            record = session.execute(
                select(InitialAccessToken).filter_by(token=value)).scalar_one_or_none()
            if record is None:
                return None
            session.expunge(record)
        digest = hashlib.sha256(value.encode()).hexdigest()
        if not hmac.compare_digest(record.token, digest):
            return None
        now = self.settings.clock()
        if record.revoked_at is not None or (record.expires_at is not None
                                             and record.expires_at <= now):
            return None
        return record

    def check_policy(self, metadata: dict[str, Any], token: Any, request: Request) -> None:
        """IS-10: client credentials only for the ``registration`` and ``events`` APIs."""
        if not self.settings.nmos:
            return
        if "client_credentials" in metadata["grant_types"] and \
                not client_credentials_scope_allowed(metadata["scope"]):
            raise InvalidClientMetadataError(
                "The scope '{scope}' is not available.", params={"scope": metadata["scope"][:64]})

    def save_client(self, metadata: dict[str, Any], request: Request) -> OAuth2Client:
        client = OAuth2Client(client_id=metadata["client_id"],
                              client_id_issued_at=metadata["client_id_issued_at"])
        client.client_secret = metadata.get("client_secret")  # hashed on assignment
        client.set_client_metadata({k: v for k, v in metadata.items()
                                    if k not in SERVER_FIELDS})
        session = self.db.session
        session.add(client)
        session.commit()
        token_id = getattr(self._current_token(request), "id", None)
        self.audit.record("client.registered", client_id=client.client_id, via="rfc7591",
                          grant_types=metadata["grant_types"],
                          auth_method=metadata["token_endpoint_auth_method"],
                          initial_token_id=token_id, remote_addr=request.remote_addr)
        return client

    def _current_token(self, request: Request) -> InitialAccessToken | None:
        return self.authenticate_token(request) if bearer_credential(request) else None
