"""Access tokens checked as an outside resource server would: PyJWT and the JWKS.

The keys are found through the metadata's ``jwks_uri``; nothing of authgate is
imported, so the check is independent of the server's own validator.
"""

from __future__ import annotations

import functools
import time
from typing import Any

import jwt
import requests

from tests.e2e.server.served import Served


@functools.cache
def _jwks_client(base: str) -> jwt.PyJWKClient:
    metadata = requests.get(base + "/.well-known/oauth-authorization-server", timeout=5).json()
    assert metadata["issuer"] == base and metadata["jwks_uri"] == base + "/certs"
    return jwt.PyJWKClient(metadata["jwks_uri"], cache_keys=True)


def verified(served: Served, access_token: str, client_id: str, scope: str,
             user: str | None = "alice") -> dict[str, Any]:
    """Check an access token as an outside resource server would: PyJWT and the JWKS."""
    header = jwt.get_unverified_header(access_token)
    assert header["typ"] == "at+jwt" and header["alg"] == "RS256" and header["kid"]
    key = _jwks_client(served.base).get_signing_key_from_jwt(access_token)
    claims: dict[str, Any] = jwt.decode(
        access_token, key.key, algorithms=["RS256"], audience=served.base,
        issuer=served.base,
        options={"require": ["iss", "sub", "aud", "exp", "iat", "jti", "client_id", "scope"]})
    assert claims["client_id"] == client_id
    assert set(claims["scope"].split()) == set(scope.split())
    assert claims["iat"] <= time.time() + 5 and claims["exp"] - claims["iat"] <= 3600
    if user is not None:
        me = requests.get(served.base + "/api/me", timeout=5,
                          headers={"Authorization": "Bearer " + access_token})
        assert me.status_code == 200, me.text
        assert me.json() == {"username": user, "sub": claims["sub"]}
    return claims
