"""Small security primitives shared by both protocol cores.

Secrets and tokens here are high-entropy random strings, so a single SHA-256
is the right cost for storing them (a password hash would only slow the hot
path, see RFC 9700 §2.6 on token storage); comparisons are constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import string

__all__ = ["constant_time_equals", "generate_token", "hash_secret", "verify_hashed_secret"]

UNICODE_ASCII_CHARACTER_SET = string.ascii_letters + string.digits
_HASH_PREFIX = "sha256$"


_ALNUM = (string.ascii_letters + string.digits).encode()
# 248 = 4 * 62: bytes below it map uniformly onto the 62 characters; the rest
# are dropped (rejection sampling), so no character is more likely than another.
_ALNUM_TABLE = bytes(_ALNUM[i % 62] for i in range(248)) + bytes(8)
_REJECTED = bytes(range(248, 256))


def generate_token(length: int = 48, chars: str = UNICODE_ASCII_CHARACTER_SET) -> str:
    """A random string from a CSPRNG; 48 alphanumerics carry about 285 bits.

    The default alphabet takes one ``os.urandom`` call per token (about 1 µs),
    not one ``secrets.choice`` per character: tokens are made on the hot path.
    """
    if chars != UNICODE_ASCII_CHARACTER_SET:
        return "".join(secrets.choice(chars) for _ in range(length))
    out = b""
    while len(out) < length:
        out += os.urandom(length + 8).translate(_ALNUM_TABLE, _REJECTED)
    return out[:length].decode("ascii")


def constant_time_equals(a: str | bytes | None, b: str | bytes | None) -> bool:
    """Compare two secrets without leaking, through timing, where they differ."""
    if a is None or b is None:
        return False
    ab = a.encode() if isinstance(a, str) else a
    bb = b.encode() if isinstance(b, str) else b
    return hmac.compare_digest(ab, bb)


def token_digest(value: str) -> str:
    """The hex SHA-256 of a token: what is stored and indexed instead of the token."""
    return hashlib.sha256(value.encode()).hexdigest()


def hash_secret(secret: str) -> str:
    """The storable form of a client secret (``sha256$<hex>``)."""
    return _HASH_PREFIX + token_digest(secret)


def verify_hashed_secret(stored: str | None, presented: str | None) -> bool:
    """Check a presented secret against its stored form, in constant time.

    A stored value without the ``sha256$`` prefix is a legacy clear-text secret
    and is compared as is, so existing databases keep working while new
    secrets are always hashed.
    """
    if stored is None or presented is None:
        # Do the same work as a real comparison so the timing says nothing.
        hmac.compare_digest(token_digest(presented or ""), token_digest(""))
        return False
    if stored.startswith(_HASH_PREFIX):
        return hmac.compare_digest(stored, _HASH_PREFIX + token_digest(presented))
    return constant_time_equals(stored, presented)
