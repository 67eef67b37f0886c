"""Signature base string (RFC 5849 §3.4.1) and the built-in signature methods (§3.4.2-3.4.4).

A signature method is a ``verify(request) -> bool`` function over an
authenticated :class:`~authgate.core.oauth1.request.OAuth1Request` (its
``client_secret``, ``token_secret`` and ``rsa_public_key`` filled in). A
function may instead return the signature it expects (``str`` or ``bytes``),
which is then compared with the one sent in constant time: that keeps
"compute the signature" style plug-ins working without each having to get
the comparison right.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from authgate.core.oauth1.encoding import escape
from authgate.core.oauth1.request import OAuth1Request
from authgate.core.security import constant_time_equals

__all__ = [
    "BUILTIN_SIGNATURE_METHODS",
    "SignatureMethod",
    "base_string_uri",
    "check_signature",
    "escape",
    "generate_signature_base_string",
    "hmac_sha1_signature",
    "normalize_parameters",
    "plaintext_signature",
    "rsa_sha1_signature",
    "verify_hmac_sha1",
    "verify_plaintext",
    "verify_rsa_sha1",
]

SignatureMethod = Callable[[OAuth1Request], bool | str | bytes]

_DEFAULT_PORTS = {"http": 80, "https": 443}


def base_string_uri(uri: str) -> str:
    """The base string URI (§3.4.1.2): scheme and host lower-cased, no default port, no query."""
    # The query never counts (nothing before the first "?" can end the path
    # differently without it), so it stays out of the cache key.
    return _base_string_uri(uri.partition("?")[0])


@lru_cache(maxsize=512)
def _base_string_uri(uri: str) -> str:
    """A pure function of the URI; a protected API sees the same few over and over, so
    the parse is cached (``urlsplit``'s ``ValueError`` for a bad port is not)."""
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:  # an IPv6 literal keeps its brackets
        host = f"[{host}]"
    port = parts.port
    netloc = host if port is None or _DEFAULT_PORTS.get(scheme) == port else f"{host}:{port}"
    return urlunsplit((scheme, netloc, parts.path or "/", "", ""))


@lru_cache(maxsize=512)
def _encoded_base_string_uri(uri: str) -> str:
    """``escape(base_string_uri(uri))`` for a URI without its query, cached likewise."""
    return escape(_base_string_uri(uri))


def normalize_parameters(params: Iterable[tuple[str, str]]) -> str:
    """Encode, sort by name then value, and join the parameters (§3.4.1.3.2)."""
    encoded = sorted((escape(name), escape(value)) for name, value in params)
    return "&".join(f"{name}={value}" for name, value in encoded)


def _escape_normalized(normalized: str) -> str:
    """``escape(normalized)`` for the output of :func:`normalize_parameters`.

    That text holds only unreserved characters, ``%XX`` escapes, ``=`` and
    ``&``, so encoding it again (§3.4.1.1) is three replacements, ``%`` first;
    ``quote`` would walk the whole string byte by byte in Python.
    """
    return normalized.replace("%", "%25").replace("=", "%3D").replace("&", "%26")


def generate_signature_base_string(request: OAuth1Request) -> str:
    """The text a client signs (§3.4.1.1): method, base URI and parameters, each encoded."""
    return "&".join(
        (
            escape(request.method.upper()),
            _encoded_base_string_uri(request.uri.partition("?")[0]),
            _escape_normalized(normalize_parameters(request.params)),
        )
    )


def _hmac_key(client_secret: str | None, token_secret: str | None) -> str:
    return f"{escape(client_secret or '')}&{escape(token_secret or '')}"


def hmac_sha1_signature(
    base_string: str, client_secret: str | None, token_secret: str | None
) -> str:
    """The HMAC-SHA1 signature of a base string (§3.4.2)."""
    key = _hmac_key(client_secret, token_secret).encode()
    digest = hmac.new(key, base_string.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def plaintext_signature(client_secret: str | None, token_secret: str | None) -> str:
    """The PLAINTEXT "signature" (§3.4.4): just the two secrets, encoded and joined."""
    return _hmac_key(client_secret, token_secret)


def rsa_sha1_signature(base_string: str, private_key_pem: str | bytes) -> str:
    """The RSA-SHA1 signature of a base string (§3.4.3), for clients and tests."""
    key = serialization.load_pem_private_key(
        private_key_pem.encode() if isinstance(private_key_pem, str) else private_key_pem,
        password=None,
    )
    if not isinstance(key, rsa.RSAPrivateKey):
        raise TypeError("RSA-SHA1 needs an RSA private key")
    signed = key.sign(base_string.encode(), padding.PKCS1v15(), hashes.SHA1())  # noqa: S303
    return base64.b64encode(signed).decode()


def verify_hmac_sha1(request: OAuth1Request) -> bool:
    expected = hmac_sha1_signature(
        generate_signature_base_string(request), request.client_secret, request.token_secret
    )
    return constant_time_equals(expected, request.signature or "")


def verify_plaintext(request: OAuth1Request) -> bool:
    expected = plaintext_signature(request.client_secret, request.token_secret)
    return constant_time_equals(expected, request.signature or "")


@lru_cache(maxsize=1)
def _stand_in_rsa_key() -> rsa.RSAPublicKey:
    # Clients without a registered key are verified against this one, so an
    # unknown client costs an RSA verification like a known one.
    return rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()


@lru_cache(maxsize=256)
def _load_rsa_public_key(pem: str) -> rsa.RSAPublicKey | None:
    try:
        key = serialization.load_pem_public_key(pem.encode())
    except (ValueError, TypeError):
        return None
    return key if isinstance(key, rsa.RSAPublicKey) else None


def verify_rsa_sha1(request: OAuth1Request) -> bool:
    key = _load_rsa_public_key(request.rsa_public_key) if request.rsa_public_key else None
    usable = key is not None
    try:
        signature = base64.b64decode(request.signature or "", validate=True)
    except (binascii.Error, ValueError):
        signature, usable = b"", False
    try:
        (key or _stand_in_rsa_key()).verify(
            signature,
            generate_signature_base_string(request).encode(),
            padding.PKCS1v15(),
            hashes.SHA1(),  # noqa: S303 - RSA-SHA1 is what §3.4.3 defines
        )
    except (InvalidSignature, ValueError):
        return False
    return usable


BUILTIN_SIGNATURE_METHODS: Mapping[str, SignatureMethod] = MappingProxyType(
    {"HMAC-SHA1": verify_hmac_sha1, "RSA-SHA1": verify_rsa_sha1, "PLAINTEXT": verify_plaintext}
)


def check_signature(verify: SignatureMethod, request: OAuth1Request) -> bool:
    """Run ``verify``; a returned signature is compared with the one sent, in constant time."""
    result: Any = verify(request)
    if isinstance(result, bool):
        return result
    if isinstance(result, bytes):
        result = result.decode("ascii", "replace")
    if isinstance(result, str):
        return constant_time_equals(result, request.signature or "")
    raise TypeError(f"signature method returned {type(result).__name__}, not bool or str")
