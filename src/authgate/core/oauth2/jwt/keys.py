"""Signing keys and the key set that decides which one signs and which are published.

A key's life has three moments. It is *published* from the time it is added, so
resource servers can fetch it before the first token it signs reaches them
(AMWA IS-10 asks for two hours ahead); it *signs* from ``not_before`` until a
newer key takes over; and it stays published until ``retire_after``, the time
the last token it signed expires (RFC 7517 §5 sets hold several keys for exactly
this overlap). After that it can be dropped.

Everything here is in memory. Storing PEMs is the server's business.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from authgate.core.oauth2.jwt.jwk import (
    ALGORITHMS_BY_KTY,
    MIN_RSA_BITS,
    SUPPORTED_ALGORITHMS,
    PublicKey,
    VerificationKey,
    jwk_thumbprint,
    public_jwk_members,
)
from authgate.core.oauth2.jwt.jws import ALGORITHM_OBJECTS

__all__ = ["KeySet", "NoSigningKeyError", "PrivateKey", "SigningKey", "jwks_document"]

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey

_DEFAULT_ALG_BY_KTY = {"RSA": "RS256", "EC": "ES256", "OKP": "EdDSA"}


class NoSigningKeyError(LookupError):
    """No key in the set may sign at the given time."""


def _kty_of(key: PrivateKey) -> str:
    if isinstance(key, rsa.RSAPrivateKey):
        if key.key_size < MIN_RSA_BITS:
            raise ValueError(f"RSA keys must have at least {MIN_RSA_BITS} bits")
        return "RSA"
    if isinstance(key, ec.EllipticCurvePrivateKey):
        if not isinstance(key.curve, ec.SECP256R1):
            raise ValueError("only P-256 EC keys are supported")
        return "EC"
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return "OKP"
    raise ValueError("unsupported private key type")


class SigningKey:
    """A private key with its algorithm, its thumbprint ``kid`` and its lifetime.

    The ``kid`` is the RFC 7638 thumbprint, so the same key always has the same
    ``kid`` wherever and whenever it is loaded.
    """

    __slots__ = ("_jwk", "_private", "_public", "_verification", "alg", "created_at", "kid",
                 "not_before", "retire_after")

    def __init__(
        self,
        private_key: PrivateKey,
        alg: str | None = None,
        *,
        created_at: float | None = None,
        not_before: float | None = None,
        retire_after: float | None = None,
    ) -> None:
        kty = _kty_of(private_key)
        alg = alg or _DEFAULT_ALG_BY_KTY[kty]
        if alg not in ALGORITHMS_BY_KTY[kty]:
            raise ValueError(f"{alg} cannot be used with a {kty} key")
        self._private = private_key
        self._public: PublicKey = private_key.public_key()
        members = public_jwk_members(self._public)
        self.alg = alg
        self.kid = jwk_thumbprint(members)
        self.created_at = time.time() if created_at is None else float(created_at)
        self.not_before = self.created_at if not_before is None else float(not_before)
        self.retire_after = None if retire_after is None else float(retire_after)
        self._jwk: dict[str, str] = {**members, "kid": self.kid, "use": "sig", "alg": alg}
        self._verification = VerificationKey(kid=self.kid, kty=kty, key=self._public, alg=alg)

    @classmethod
    def generate(
        cls,
        alg: str = "RS256",
        *,
        created_at: float | None = None,
        not_before: float | None = None,
        rsa_bits: int = 2048,
    ) -> SigningKey:
        """A fresh key for ``alg`` (RSA 2048 bits unless told more, P-256, Ed25519)."""
        private: PrivateKey
        if alg in ("RS256", "RS512"):
            if rsa_bits < MIN_RSA_BITS:
                raise ValueError(f"RSA keys must have at least {MIN_RSA_BITS} bits")
            private = rsa.generate_private_key(public_exponent=65537, key_size=rsa_bits)
        elif alg == "ES256":
            private = ec.generate_private_key(ec.SECP256R1())
        elif alg == "EdDSA":
            private = ed25519.Ed25519PrivateKey.generate()
        else:
            raise ValueError(f"unsupported algorithm {alg!r}; use one of {SUPPORTED_ALGORITHMS}")
        return cls(private, alg, created_at=created_at, not_before=not_before)

    @classmethod
    def from_pem(
        cls,
        pem: bytes | str,
        alg: str | None = None,
        *,
        password: bytes | None = None,
        created_at: float | None = None,
        not_before: float | None = None,
        retire_after: float | None = None,
    ) -> SigningKey:
        """Load a PKCS#8 or traditional PEM private key; ``alg`` defaults by key type."""
        data = pem.encode("ascii") if isinstance(pem, str) else pem
        private = serialization.load_pem_private_key(data, password=password)
        if not isinstance(private, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
                          | ed25519.Ed25519PrivateKey):
            raise ValueError("unsupported private key type")
        return cls(private, alg, created_at=created_at, not_before=not_before,
                   retire_after=retire_after)

    def to_pem(self, password: bytes | None = None) -> bytes:
        """The private key as PKCS#8 PEM, encrypted when a password is given."""
        encryption: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(password) if password
            else serialization.NoEncryption()
        )
        return self._private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
        )

    def public_pem(self) -> bytes:
        """The public key as SubjectPublicKeyInfo PEM."""
        return self._public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    @property
    def public_key(self) -> PublicKey:
        return self._public

    @property
    def kty(self) -> str:
        return self._jwk["kty"]

    def public_jwk(self) -> dict[str, str]:
        """The public JWK (RFC 7517 §4) with ``kid``, ``use: sig`` and ``alg``."""
        return dict(self._jwk)

    def verification_key(self) -> VerificationKey:
        """The public half, pinned to this key's algorithm, for the validator."""
        return self._verification

    def sign(self, signing_input: bytes) -> bytes:
        """The JWS signature of ``signing_input`` with this key's algorithm."""
        return ALGORITHM_OBJECTS[self.alg].sign(signing_input, self._private)

    def replace(self, *, not_before: float | None = None,
                retire_after: float | None = None) -> SigningKey:
        """A copy with a new schedule; the key material is shared, not re-parsed."""
        copy = object.__new__(SigningKey)
        for name in self.__slots__:
            object.__setattr__(copy, name, getattr(self, name))
        if not_before is not None:
            copy.not_before = float(not_before)
        if retire_after is not None:
            copy.retire_after = float(retire_after)
        return copy

    def is_published(self, now: float) -> bool:
        return self.retire_after is None or now < self.retire_after

    def can_sign(self, now: float) -> bool:
        return self.not_before <= now and self.is_published(now)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SigningKey):
            return NotImplemented
        return (self.kid, self.alg, self.not_before, self.retire_after) == (
            other.kid, other.alg, other.not_before, other.retire_after)

    def __hash__(self) -> int:
        return hash(self.kid)

    def __repr__(self) -> str:
        return (f"SigningKey(alg={self.alg!r}, kid={self.kid!r}, not_before={self.not_before!r},"
                f" retire_after={self.retire_after!r})")


class KeySet:
    """An ordered set of signing keys (oldest ``not_before`` first), keyed by ``kid``.

    Mutations swap an immutable tuple, so readers in other threads always see a
    consistent set without taking a lock.
    """

    def __init__(self, keys: Iterable[SigningKey] = ()) -> None:
        self._keys: tuple[SigningKey, ...] = ()
        for key in keys:
            self.add(key)

    def _store(self, keys: Iterable[SigningKey]) -> None:
        self._keys = tuple(sorted(keys, key=lambda k: (k.not_before, k.created_at)))

    def add(self, key: SigningKey) -> None:
        if key.kid in self:
            raise ValueError(f"key {key.kid} is already in the set")
        self._store((*self._keys, key))

    def remove(self, kid: str) -> None:
        """Forget a key at once (e.g. a compromised one); its tokens stop validating."""
        self._store(k for k in self._keys if k.kid != kid)

    def replace(self, key: SigningKey) -> None:
        """Swap in a new schedule for a key already in the set (same ``kid``)."""
        if key.kid not in self:
            raise KeyError(key.kid)
        self._store(key if k.kid == key.kid else k for k in self._keys)

    def rotate(self, new_key: SigningKey, *, max_token_lifetime: float) -> None:
        """Add ``new_key`` and schedule the retirement of the keys it supersedes.

        Every key that signs before ``new_key.not_before`` and has no retirement
        yet stays published until its last token expires: ``new_key.not_before
        + max_token_lifetime``.
        """
        retire_at = new_key.not_before + max_token_lifetime
        updated = [
            k.replace(retire_after=retire_at)
            if k.retire_after is None and k.not_before <= new_key.not_before else k
            for k in self._keys
        ]
        if new_key.kid in {k.kid for k in updated}:
            raise ValueError(f"key {new_key.kid} is already in the set")
        self._store((*updated, new_key))

    def prune(self, now: float) -> list[SigningKey]:
        """Drop keys past ``retire_after`` and return them (to delete from storage)."""
        gone = [k for k in self._keys if not k.is_published(now)]
        self._store(k for k in self._keys if k.is_published(now))
        return gone

    def find(self, kid: str) -> SigningKey | None:
        for key in self._keys:
            if key.kid == kid:
                return key
        return None

    def active_at(self, now: float) -> SigningKey:
        """The key that signs at ``now``: the newest whose ``not_before`` has come."""
        for key in reversed(self._keys):
            if key.can_sign(now):
                return key
        raise NoSigningKeyError("no signing key is active at this time")

    def published(self, now: float) -> list[SigningKey]:
        """Every key a resource server may need at ``now``, pending ones included."""
        return [k for k in self._keys if k.is_published(now)]

    def jwks(self, now: float) -> dict[str, list[dict[str, str]]]:
        """The JWK Set document (RFC 7517 §5) of :meth:`published` keys."""
        return {"keys": [k.public_jwk() for k in self.published(now)]}

    def resolve_key(self, kid: str) -> VerificationKey | None:
        """The validator's key resolver interface."""
        key = self.find(kid)
        return key.verification_key() if key is not None else None

    def __iter__(self) -> Iterator[SigningKey]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, kid: object) -> bool:
        return any(k.kid == kid for k in self._keys)

    def __repr__(self) -> str:
        return f"KeySet({[k.kid for k in self._keys]!r})"


def jwks_document(keyset: KeySet, now: float | None = None) -> dict[str, Any]:
    """The body of ``GET /certs``: every key still published at ``now``."""
    return keyset.jwks(time.time() if now is None else now)
