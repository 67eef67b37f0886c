"""The public API of the JWT package is pinned."""

from __future__ import annotations

import authgate.core.oauth2.jwt as package

PINNED = {
    "SUPPORTED_ALGORITHMS", "AccessTokenClaims", "InvalidJWTError", "JWKSClient",
    "JWKSFetchError", "JWKSKeys", "JWTAccessTokenGenerator", "JWTAccessTokenValidator",
    "KeyResolver", "KeySet", "NoSigningKeyError", "SigningKey", "TokenContext",
    "VerificationKey", "jwk_thumbprint", "jwks_document", "verification_key_from_jwk",
}


def test_all_is_pinned() -> None:
    assert set(package.__all__) == PINNED
    for name in package.__all__:
        if name != "SUPPORTED_ALGORITHMS":
            assert getattr(package, name).__module__.startswith("authgate.core.oauth2.jwt")


def test_core_imports_no_web_framework() -> None:
    import subprocess
    import sys

    code = ("import sys, authgate.core.oauth2.jwt; "
            "bad = {'flask', 'werkzeug', 'sqlalchemy', 'redis', 'jinja2', 'click', "
            "'authgate.core.oauth1'} & set(sys.modules); print(sorted(bad))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
