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


def test_header_errors_are_reported_in_reading_order() -> None:
    """Whole-value validation must not change which error a bad header gets."""
    import pytest

    from authgate.core.oauth1.encoding import parse_authorization_header
    from authgate.core.oauth1.errors import (
        DuplicatedOAuthProtocolParameterError,
        InvalidRequestError,
    )

    assert parse_authorization_header('OAuth a="1", b="%41%20", realm="r",') == [
        ("a", "1"), ("b", "A "), ("realm", "r")]
    assert parse_authorization_header("OAuth ") == []
    with pytest.raises(DuplicatedOAuthProtocolParameterError):
        parse_authorization_header('OAuth a="1", a="2", broken')
    with pytest.raises(InvalidRequestError) as caught:
        parse_authorization_header('OAuth a="1", broken, a="2"')
    assert not isinstance(caught.value, DuplicatedOAuthProtocolParameterError)
    with pytest.raises(InvalidRequestError):
        parse_authorization_header('OAuth a="1" b="2"')


def test_with_credentials_carries_every_other_field() -> None:
    """``with_credentials`` is written out field by field: a field added later must be
    carried over too."""
    import dataclasses
    from types import MappingProxyType

    from authgate.core.oauth1.request import OAuth1Request

    original = OAuth1Request(
        method="POST", uri="https://h/p", params=(("a", "1"),),
        oauth_params=MappingProxyType({"oauth_nonce": "n"}), signature="sig", realm="r",
        is_secure=True, remote_addr="10.0.0.1", accept_language="fr",
        client="old client", credential="old credential", client_secret="old cs",
        token_secret="old ts", rsa_public_key="old key")
    changed = {"client": "c", "client_secret": "cs", "rsa_public_key": None,
               "credential": "t", "token_secret": "ts"}
    signed = original.with_credentials(**changed)
    for item in dataclasses.fields(OAuth1Request):
        expected = changed[item.name] if item.name in changed else getattr(original, item.name)
        assert getattr(signed, item.name) == expected, item.name


def _reference_base_string_uri(uri: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    default = {"http": 80, "https": 443}.get(scheme)
    netloc = host if port is None or default == port else f"{host}:{port}"
    return urlunsplit((scheme, netloc, parts.path or "/", "", ""))


def test_cached_base_string_uri_agrees_with_a_plain_parse() -> None:
    """The query is left out of the cache key; nothing else may change."""
    from authgate.core.oauth1.signature import base_string_uri

    pieces = ["http", "HTTPS", "://", "Ex.COM", ":80", ":443", ":8080", ":x", "[::1]", "[::1",
              "/", "/p", "?", "#", "q=1", "&", "\t", "%3F", "@", "user:pw@", ";"]
    rng = random.Random(3412)
    for _ in range(20000):
        uri = "".join(rng.choice(pieces) for _ in range(rng.randrange(9)))
        try:
            expected: object = _reference_base_string_uri(uri)
        except ValueError:
            expected = ValueError
        try:
            got: object = base_string_uri(uri)
        except ValueError:
            got = ValueError
        assert got == expected, uri
