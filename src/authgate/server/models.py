"""The server's tables, on the library's mixins wherever the library has one.

Times are POSIX seconds, as in the library's mixins. Nothing secret is kept
in clear: passwords as argon2id hashes, OAuth 2 secrets, codes, tokens and
initial access tokens as digests (the mixins and :class:`HashedToken`), OAuth 1
secrets encrypted by the library's column type, and signing keys encrypted
by :mod:`.crypto` before they reach ``private_pem``.
"""

from __future__ import annotations

import contextlib
import functools
import json
import time
from typing import Any, cast

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from authgate.server.database import Base
from authgate.sqla.device import DeviceCodeMixin
from authgate.sqla.oauth1 import (
    OAuth1ClientMixin,
    OAuth1TemporaryCredentialMixin,
    OAuth1TimestampNonceMixin,
    OAuth1TokenCredentialMixin,
)
from authgate.sqla.oauth2 import (
    HashedToken,
    OAuth2AuthorizationCodeMixin,
    OAuth2ClientMixin,
    OAuth2TokenMixin,
)
from authgate.sqla.rows import RowLoader

__all__ = [
    "AuditEvent",
    "Consent",
    "DeviceCode",
    "InitialAccessToken",
    "OAuth1Client",
    "OAuth1Nonce",
    "OAuth1TemporaryCredential",
    "OAuth1TokenCredential",
    "OAuth2AuthorizationCode",
    "OAuth2Client",
    "OAuth2Token",
    "SigningKeyRecord",
    "User",
    "load_user",
]

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the user does not exist, so timing does not tell usernames
    apart; made on first use, so commands that never check a password don't pay for it."""
    return _hasher.hash("authgate-dummy-password")


def _now() -> int:
    return int(time.time())


def _user_fk(nullable: bool = True) -> Mapped[Any]:
    return mapped_column(Integer, ForeignKey("user.id", ondelete="CASCADE"), nullable=nullable,
                         index=True)


class User(Base):
    """A person who signs in; ``scopes`` are the access rights they may grant to clients."""

    __tablename__ = "user"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    scopes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[int] = mapped_column(Integer, default=_now)

    def __repr__(self) -> str:
        return f"<User {self.username!r}>"

    def get_user_id(self) -> int:
        return self.id

    @property
    def scope_list(self) -> list[str]:
        return self.scopes.split()

    def set_password(self, password: str) -> None:
        self.password_hash = _hasher.hash(password)

    def check_password(self, password: str) -> bool:
        try:
            return bool(_hasher.verify(self.password_hash, password))
        except (VerificationError, InvalidHashError):
            return False

    def may_grant(self, scope: str | None) -> bool:
        """True if every scope asked for is among the user's access rights.

        An NMOS right with a level (``query:read``, ``query:write``) lets the
        user grant the bare API scope ``query``; the token's ``x-nmos-query``
        claim then carries only that level.
        """
        rights = set(self.scope_list)
        rights |= {r.rpartition(":")[0] for r in rights if r.endswith((":read", ":write"))}
        return set((scope or "").split()) <= rights


def verify_dummy_password(password: str) -> None:
    """Spend the time of a real check for a user that does not exist."""
    with contextlib.suppress(VerificationError, InvalidHashError):
        _hasher.verify(_dummy_hash(), password)


class OAuth2Client(Base, OAuth2ClientMixin):
    __tablename__ = "oauth2_client"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int | None] = _user_fk()


class OAuth2AuthorizationCode(Base, OAuth2AuthorizationCodeMixin):
    __tablename__ = "oauth2_code"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = _user_fk(nullable=False)


class OAuth2Token(Base, OAuth2TokenMixin):
    __tablename__ = "oauth2_token"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int | None] = _user_fk()
    user: Mapped[User | None] = relationship(User)


class SigningKeyRecord(Base):
    """A JWT signing key; ``private_pem`` is AES-GCM ciphertext (see :mod:`.crypto`)."""

    __tablename__ = "signing_key"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kid: Mapped[str] = mapped_column(String(64), unique=True)
    alg: Mapped[str] = mapped_column(String(16))
    private_pem: Mapped[str] = mapped_column(Text)
    created_at: Mapped[float] = mapped_column(Float)
    not_before: Mapped[float] = mapped_column(Float)
    retire_after: Mapped[float | None] = mapped_column(Float, default=None)

    def __repr__(self) -> str:
        return f"<SigningKeyRecord kid={self.kid!r} alg={self.alg!r} private_pem=<redacted>>"


class Consent(Base):
    """The scopes a user granted a client, so the consent page is not shown again for them."""

    __tablename__ = "consent"
    __table_args__ = (UniqueConstraint("user_id", "client_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = _user_fk(nullable=False)
    client_id: Mapped[str] = mapped_column(String(48))
    scopes: Mapped[str] = mapped_column(Text, default="")
    granted_at: Mapped[int] = mapped_column(Integer, default=_now)

    def covers(self, scope: str | None) -> bool:
        return set((scope or "").split()) <= set(self.scopes.split())


class InitialAccessToken(Base):
    """A bearer credential for RFC 7591 registration beyond the code grant; stored hashed."""

    __tablename__ = "initial_access_token"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token: Mapped[str] = mapped_column(HashedToken, unique=True)
    created_at: Mapped[int] = mapped_column(Integer, default=_now)
    expires_at: Mapped[int | None] = mapped_column(Integer, default=None)
    revoked_at: Mapped[int | None] = mapped_column(Integer, default=None)

    def __repr__(self) -> str:
        return f"<InitialAccessToken id={self.id!r} token=<redacted>>"


class AuditEvent(Base):
    """Who did what to which client, when; ``detail`` is JSON and never holds a secret."""

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[float] = mapped_column(Float, index=True)
    kind: Mapped[str] = mapped_column(String(40), index=True)
    actor: Mapped[str | None] = mapped_column(String(120), default=None)
    client_id: Mapped[str | None] = mapped_column(String(48), default=None)
    detail: Mapped[str] = mapped_column(Text, default="{}")

    @property
    def details(self) -> dict[str, Any]:
        return dict(json.loads(self.detail or "{}"))


class OAuth1Client(Base, OAuth1ClientMixin):
    __tablename__ = "oauth1_client"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_name: Mapped[str] = mapped_column(String(120), default="")
    user_id: Mapped[int | None] = _user_fk()


class OAuth1TemporaryCredential(Base, OAuth1TemporaryCredentialMixin):
    """Only used without Redis; with it, temporary credentials live in the cache."""

    __tablename__ = "oauth1_temporary_credential"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int | None] = _user_fk()


class OAuth1TokenCredential(Base, OAuth1TokenCredentialMixin):
    __tablename__ = "oauth1_token_credential"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int | None] = _user_fk()
    user: Mapped[User | None] = relationship(User)


class OAuth1Nonce(Base, OAuth1TimestampNonceMixin):
    """Only used without Redis, like the temporary credentials."""

    __tablename__ = "oauth1_nonce"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)


class DeviceCode(Base, DeviceCodeMixin):
    __tablename__ = "device_code"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)


_USER_BY_ID = RowLoader(User, User.id)


def load_user(session: Any, user_id: object) -> User | None:
    """The user with this id, or None: an int, or its decimal text (tokens' ``sub`` and
    the device store carry it as text). Read afresh, so a deleted user is gone at once."""
    if isinstance(user_id, bool) or not isinstance(user_id, int | str):
        return None
    if isinstance(user_id, str):
        if not user_id.isdigit():
            return None
        user_id = int(user_id)
    return cast("User | None", _USER_BY_ID.load(session, user_id))
