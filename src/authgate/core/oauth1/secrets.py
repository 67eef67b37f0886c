"""Authenticated encryption of the OAuth 1 secrets kept at rest.

OAuth 1 signatures are keyed with the client secret and the token secret
themselves (RFC 5849 §3.4.2, §4.5), so unlike OAuth 2 secrets they cannot be
stored hashed. They are stored encrypted instead: AES-256-GCM with a key
derived (HKDF-SHA256) from the application's secret key, and a *purpose*
(say ``"client_secret"``) bound in as associated data so a ciphertext copied
into another column does not decrypt. Old keys can be listed for
decryption only, which is how a key is rotated.

The stored form is ``ag1.<key id>.<base64url(nonce || ciphertext)>``; the key
id (8 hex digits of a digest of the derived key) picks the key to decrypt
with, so rotation does not cost a trial of every key.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Iterable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = ["SecretCipher", "SecretDecryptionError"]

_PREFIX = "ag1"
_INFO = b"authgate oauth1 secrets at rest v1"


class SecretDecryptionError(ValueError):
    """A stored secret could not be decrypted: wrong key, or tampered with."""


def _derive(master: str | bytes) -> bytes:
    raw = master.encode() if isinstance(master, str) else master
    if not raw:
        raise ValueError("an empty key cannot protect secrets")
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(raw)


def _key_id(key: bytes) -> str:
    return hashlib.sha256(b"kid" + key).hexdigest()[:8]


class SecretCipher:
    """Encrypts with the current key, decrypts with it or any of ``fallbacks``."""

    def __init__(self, key: str | bytes, fallbacks: Iterable[str | bytes] = ()) -> None:
        current = _derive(key)
        self._current_id = _key_id(current)
        self._keys: dict[str, AESGCM] = {self._current_id: AESGCM(current)}
        for old in fallbacks:
            derived = _derive(old)
            self._keys.setdefault(_key_id(derived), AESGCM(derived))

    def __repr__(self) -> str:
        return f"SecretCipher(key_id={self._current_id!r}, keys={len(self._keys)})"

    @staticmethod
    def is_encrypted(value: str) -> bool:
        return value.startswith(_PREFIX + ".")

    def encrypt(self, plaintext: str, purpose: str) -> str:
        nonce = os.urandom(12)
        sealed = self._keys[self._current_id].encrypt(nonce, plaintext.encode(), purpose.encode())
        body = base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")
        return f"{_PREFIX}.{self._current_id}.{body}"

    def decrypt(self, stored: str, purpose: str) -> str:
        prefix, _, rest = stored.partition(".")
        key_id, _, body = rest.partition(".")
        aead = self._keys.get(key_id)
        if prefix != _PREFIX or aead is None:
            raise SecretDecryptionError("unknown secret format or key")
        try:
            blob = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
            return aead.decrypt(blob[:12], blob[12:], purpose.encode()).decode()
        except (InvalidTag, ValueError) as exc:
            raise SecretDecryptionError("the secret does not decrypt with this key") from exc
