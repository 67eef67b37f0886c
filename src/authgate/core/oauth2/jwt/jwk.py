"""JSON Web Keys: public JWKs out of key objects, key objects out of JWKs, thumbprints.

Only the three key families authgate signs with are understood: RSA (RFC 7518
§6.3), EC P-256 (RFC 7518 §6.2) and Ed25519 (RFC 8037 §2). Anything else in a
JWKS is skipped rather than guessed at, because a verifier that is lenient about
key types is how algorithm-confusion attacks start.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

__all__ = [
    "ALGORITHMS_BY_KTY",
    "SUPPORTED_ALGORITHMS",
    "PublicKey",
    "VerificationKey",
    "b64url_decode",
    "b64url_encode",
    "jwk_thumbprint",
    "public_jwk_members",
    "verification_key_from_jwk",
]

PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey

SUPPORTED_ALGORITHMS: tuple[str, ...] = ("RS256", "RS512", "ES256", "EdDSA")

# Which JWS algorithms each key type may verify: the pin against key confusion.
ALGORITHMS_BY_KTY: Mapping[str, frozenset[str]] = {
    "RSA": frozenset({"RS256", "RS512"}),
    "EC": frozenset({"ES256"}),
    "OKP": frozenset({"EdDSA"}),
}

MIN_RSA_BITS = 2048
_THUMBPRINT_MEMBERS = {
    "RSA": ("e", "kty", "n"),
    "EC": ("crv", "kty", "x", "y"),
    "OKP": ("crv", "kty", "x"),
}
_B64URL = re.compile(r"[A-Za-z0-9_-]*")


def b64url_encode(data: bytes) -> str:
    """Base64url without padding (RFC 7515 §2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Strict base64url: no padding, no characters outside the alphabet.

    The stdlib decoder silently drops stray characters, which would let one
    token be spelled many ways; we refuse that instead.
    """
    if not _B64URL.fullmatch(text) or len(text) % 4 == 1:
        raise ValueError("not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except binascii.Error as exc:  # pragma: no cover - the regex already guards
        raise ValueError("not base64url") from exc


def _int_to_b64(value: int, length: int | None = None) -> str:
    size = length if length is not None else max(1, (value.bit_length() + 7) // 8)
    return b64url_encode(value.to_bytes(size, "big"))


def _b64_to_int(text: object) -> int:
    if not isinstance(text, str) or not text:
        raise ValueError("missing key member")
    return int.from_bytes(b64url_decode(text), "big")


def public_jwk_members(key: PublicKey) -> dict[str, str]:
    """The required public members of a key, as RFC 7638 §3.2 lists them."""
    if isinstance(key, rsa.RSAPublicKey):
        numbers = key.public_numbers()
        return {"e": _int_to_b64(numbers.e), "kty": "RSA", "n": _int_to_b64(numbers.n)}
    if isinstance(key, ec.EllipticCurvePublicKey):
        if not isinstance(key.curve, ec.SECP256R1):
            raise ValueError("only P-256 EC keys are supported")
        point = key.public_numbers()
        return {
            "crv": "P-256",
            "kty": "EC",
            "x": _int_to_b64(point.x, 32),
            "y": _int_to_b64(point.y, 32),
        }
    if isinstance(key, ed25519.Ed25519PublicKey):
        raw = key.public_bytes(Encoding.Raw, PublicFormat.Raw)
        return {"crv": "Ed25519", "kty": "OKP", "x": b64url_encode(raw)}
    raise ValueError("unsupported key type")


def jwk_thumbprint(members: Mapping[str, str]) -> str:
    """The RFC 7638 SHA-256 thumbprint of a JWK's required members, base64url."""
    names = _THUMBPRINT_MEMBERS.get(members.get("kty", ""))
    if names is None:
        raise ValueError("unsupported kty")
    canonical = json.dumps({n: members[n] for n in names}, separators=(",", ":"), sort_keys=True)
    return b64url_encode(hashlib.sha256(canonical.encode("utf-8")).digest())


@dataclass(frozen=True)
class VerificationKey:
    """A public key ready to verify signatures, with what its JWK allows it to verify."""

    kid: str
    kty: str
    key: PublicKey = field(repr=False)
    alg: str | None = None

    def allows(self, alg: str) -> bool:
        """Whether a token signed with ``alg`` may be checked with this key.

        The key type decides the family (RFC 8725 §3.1); a JWK ``alg``, when
        present, narrows it to exactly one algorithm (RFC 7517 §4.4).
        """
        if alg not in ALGORITHMS_BY_KTY.get(self.kty, frozenset()):
            return False
        return self.alg is None or self.alg == alg


def _public_key_from_members(jwk: Mapping[str, Any]) -> PublicKey:
    kty = jwk.get("kty")
    if kty == "RSA":
        numbers = rsa.RSAPublicNumbers(_b64_to_int(jwk.get("e")), _b64_to_int(jwk.get("n")))
        rsa_key = numbers.public_key()
        if rsa_key.key_size < MIN_RSA_BITS:
            raise ValueError("RSA key too short")
        return rsa_key
    if kty == "EC":
        if jwk.get("crv") != "P-256":
            raise ValueError("unsupported curve")
        x, y = jwk.get("x"), jwk.get("y")
        if not isinstance(x, str) or not isinstance(y, str):
            raise ValueError("missing key member")
        if len(b64url_decode(x)) != 32 or len(b64url_decode(y)) != 32:
            raise ValueError("bad P-256 coordinate length")
        point = ec.EllipticCurvePublicNumbers(_b64_to_int(x), _b64_to_int(y), ec.SECP256R1())
        return point.public_key()  # raises ValueError when the point is off the curve
    if kty == "OKP":
        x = jwk.get("x")
        if jwk.get("crv") != "Ed25519" or not isinstance(x, str):
            raise ValueError("unsupported OKP key")
        raw = b64url_decode(x)
        if len(raw) != 32:
            raise ValueError("bad Ed25519 key length")
        return ed25519.Ed25519PublicKey.from_public_bytes(raw)
    raise ValueError("unsupported kty")


def verification_key_from_jwk(jwk: Mapping[str, Any]) -> VerificationKey:
    """Parse one JWK of a JWKS; ``ValueError`` when it cannot verify our signatures.

    Keys marked for encryption (``use`` other than ``sig``, or ``key_ops``
    without ``verify``) are refused too (RFC 7517 §4.2-4.3).
    """
    kid = jwk.get("kid")
    if not isinstance(kid, str) or not kid:
        raise ValueError("JWK without kid")
    use = jwk.get("use")
    if use is not None and use != "sig":
        raise ValueError("JWK not for signatures")
    key_ops = jwk.get("key_ops")
    if key_ops is not None and (not isinstance(key_ops, list) or "verify" not in key_ops):
        raise ValueError("JWK not for verification")
    alg = jwk.get("alg")
    kty = str(jwk.get("kty"))
    if alg is not None and (not isinstance(alg, str) or alg not in ALGORITHMS_BY_KTY.get(kty, ())):
        raise ValueError("JWK alg does not fit its kty")
    return VerificationKey(kid=kid, kty=kty, key=_public_key_from_members(jwk), alg=alg)
