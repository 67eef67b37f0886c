"""Encryption of signing keys at rest: AES-256-GCM under a key derived from the secret key.

A database dump alone must not let anyone mint tokens, so private keys are
stored encrypted; the key for that is derived (HKDF-SHA256) from the server's
secret key, which lives outside the database (the instance folder or the
environment). The ``kid`` is bound in as associated data, so a ciphertext
copied onto another key's row does not decrypt.
"""

from __future__ import annotations

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = ["KeyCipher", "KeyDecryptionError"]

_PREFIX = "ag-key1."
_NONCE_BYTES = 12


class KeyDecryptionError(ValueError):
    """The stored key does not decrypt: wrong secret key, or a tampered row."""


class KeyCipher:
    """Encrypts and decrypts PEM bytes for one ``kid``."""

    def __init__(self, secret_key: str) -> None:
        if not secret_key:
            raise ValueError("a secret key is required")
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                       info=b"authgate server signing keys").derive(secret_key.encode())
        self._aead = AESGCM(derived)

    def __repr__(self) -> str:
        return "KeyCipher(<redacted>)"

    def encrypt(self, pem: bytes, kid: str) -> str:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, pem, kid.encode())
        return _PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode()

    def decrypt(self, stored: str, kid: str) -> bytes:
        if not stored.startswith(_PREFIX):
            raise KeyDecryptionError("not an encrypted signing key")
        try:
            raw = base64.urlsafe_b64decode(stored[len(_PREFIX):])
            return self._aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], kid.encode())
        except (InvalidTag, ValueError) as exc:
            raise KeyDecryptionError(f"signing key {kid} does not decrypt") from exc
