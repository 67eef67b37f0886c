"""The JWS Compact Serialization (RFC 7515 §7.1), spelled strictly.

PyJWT supplies the signature primitives; framing and JSON parsing are done here
so that exactly one reading of a token exists: no padding, no stray characters,
no duplicate JSON members (RFC 7515 §5.2 lets us refuse them, RFC 8725 §3.10
asks us to), and only the algorithms authgate signs with are even known.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from jwt.algorithms import Algorithm, get_default_algorithms

from authgate.core.oauth2.jwt.jwk import SUPPORTED_ALGORITHMS, b64url_decode, b64url_encode

__all__ = [
    "ALGORITHM_OBJECTS",
    "CompactJWS",
    "encode_compact",
    "parse_compact",
    "parse_json_object",
]

_DEFAULTS = get_default_algorithms()
# Only asymmetric algorithms: "none" and HS* are not in the table at all.
ALGORITHM_OBJECTS: Mapping[str, Algorithm] = {
    name: _DEFAULTS[name] for name in SUPPORTED_ALGORITHMS
}

MAX_TOKEN_LENGTH = 16 * 1024


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for name, value in pairs:
        if name in result:
            raise ValueError("duplicate JSON member")
        result[name] = value
    return result


def _no_constants(name: str) -> Any:
    raise ValueError(f"JSON constant {name} not allowed")


def parse_json_object(data: bytes) -> dict[str, Any]:
    """A JSON object from UTF-8 bytes; ``ValueError`` for anything else."""
    value = json.loads(
        data.decode("utf-8"), object_pairs_hook=_no_duplicates, parse_constant=_no_constants
    )
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")
    return value


def _compact_json(value: Mapping[str, Any]) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def encode_compact(
    header: Mapping[str, Any], claims: Mapping[str, Any], sign: Callable[[bytes], bytes]
) -> str:
    """``header.payload.signature`` with ``sign`` applied to the first two parts."""
    signing_input = f"{b64url_encode(_compact_json(header))}.{b64url_encode(_compact_json(claims))}"
    return f"{signing_input}.{b64url_encode(sign(signing_input.encode('ascii')))}"


@dataclass(frozen=True)
class CompactJWS:
    """A parsed but not yet verified token."""

    header: dict[str, Any]
    payload: bytes
    signing_input: bytes
    signature: bytes


def parse_compact(token: str) -> CompactJWS:
    """Split and decode a compact JWS; ``ValueError`` when it is not well formed."""
    if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH:
        raise ValueError("not a compact JWS")
    parts = token.split(".")
    if len(parts) != 3 or not all(parts):
        raise ValueError("not a compact JWS")
    header_b64, payload_b64, signature_b64 = parts
    header = parse_json_object(b64url_decode(header_b64))
    return CompactJWS(
        header=header,
        payload=b64url_decode(payload_b64),
        signing_input=f"{header_b64}.{payload_b64}".encode("ascii"),
        signature=b64url_decode(signature_b64),
    )
