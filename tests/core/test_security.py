"""Token generation, secret hashing and comparison."""

from __future__ import annotations

import collections
import string

from authgate.core.security import (
    constant_time_equals,
    generate_token,
    hash_secret,
    verify_hashed_secret,
)


def test_tokens_have_the_length_and_alphabet_asked_for() -> None:
    for length in (1, 20, 42, 48, 200):
        token = generate_token(length)
        assert len(token) == length and token.isalnum() and token.isascii()
    assert set(generate_token(64, "ab")) <= {"a", "b"}
    assert len({generate_token() for _ in range(1000)}) == 1000


def test_every_character_is_about_equally_likely() -> None:
    counts = collections.Counter("".join(generate_token(48) for _ in range(5000)))
    assert set(counts) == set(string.ascii_letters + string.digits)
    expected = 5000 * 48 / 62
    assert all(abs(n - expected) < expected * 0.1 for n in counts.values())


def test_hashed_secrets() -> None:
    stored = hash_secret("s3cret")
    assert stored.startswith("sha256$") and "s3cret" not in stored
    assert verify_hashed_secret(stored, "s3cret")
    assert not verify_hashed_secret(stored, "s3cret ")
    assert not verify_hashed_secret(None, "s3cret")
    assert not verify_hashed_secret(stored, None)
    assert verify_hashed_secret("legacy-clear", "legacy-clear")  # pre-hash rows still work
    assert constant_time_equals("a", "a") and not constant_time_equals("a", None)
