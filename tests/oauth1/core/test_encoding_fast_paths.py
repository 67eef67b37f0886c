"""The fast paths of percent-encoding give exactly what ``quote`` gives (RFC 5849 §3.6)."""

from __future__ import annotations

import random
import string
from urllib.parse import quote

from authgate.core.oauth1.encoding import escape
from authgate.core.oauth1.signature import _escape_normalized, normalize_parameters

ALPHABET = string.printable + "é€😀\u2028\x00"


def _reference(value: str) -> str:
    return quote(value, safe="-._~")


def _text(rng: random.Random, longest: int) -> str:
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randrange(longest)))


def test_escape_agrees_with_quote_on_every_ascii_character() -> None:
    for code in range(128):
        assert escape(chr(code)) == _reference(chr(code))
    assert escape("") == ""
    assert escape("abc-._~XYZ019") == "abc-._~XYZ019"
    assert escape("a b+c\n") == "a%20b%2Bc%0A"


def test_escape_agrees_with_quote_on_random_text() -> None:
    rng = random.Random(5849)
    for _ in range(5000):
        value = _text(rng, 12)
        assert escape(value) == _reference(value)


def test_normalized_parameters_are_encoded_as_quote_would() -> None:
    rng = random.Random(3412)
    for _ in range(2000):
        params = [(_text(rng, 6), _text(rng, 6)) for _ in range(rng.randrange(6))]
        normalized = normalize_parameters(params)
        assert _escape_normalized(normalized) == _reference(normalized)
