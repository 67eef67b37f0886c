"""User codes (RFC 8628 §6.1): short, unambiguous, typed by a person on another screen.

Twenty consonants (no vowels, so no words are spelt by accident) and eight of
them give about 34.6 bits; guessing is further bounded by the rate limit on
wrong entries (§5.1). Codes are stored normalised (``BCDFGHJK``) and shown
grouped (``BCDF-GHJK``); what a person types is matched ignoring case,
dashes and spaces.
"""

from __future__ import annotations

import secrets

__all__ = [
    "USER_CODE_ALPHABET",
    "USER_CODE_LENGTH",
    "format_user_code",
    "generate_user_code",
    "normalize_user_code",
]

USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"
USER_CODE_LENGTH = 8
_IGNORED = str.maketrans("", "", "- \t")
_ALPHABET = frozenset(USER_CODE_ALPHABET)


def generate_user_code() -> str:
    """A new user code in its normalised form, from a CSPRNG."""
    return "".join(secrets.choice(USER_CODE_ALPHABET) for _ in range(USER_CODE_LENGTH))


def normalize_user_code(text: str | None) -> str | None:
    """The stored form of what a person typed, or None if it cannot be a user code."""
    if not text or len(text) > 4 * USER_CODE_LENGTH:
        return None
    code = text.translate(_IGNORED).upper()
    if len(code) != USER_CODE_LENGTH or not _ALPHABET.issuperset(code):
        return None
    return code


def format_user_code(code: str) -> str:
    """The form shown to people: two groups of four joined by a dash."""
    half = len(code) // 2
    return f"{code[:half]}-{code[half:]}"
