"""Authorization server metadata (RFC 8414), derived from what is registered."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from authgate.core.oauth2.jwt.jwk import SUPPORTED_ALGORITHMS
from authgate.core.oauth2.pkce import CodeChallenge

if TYPE_CHECKING:
    from authgate.core.oauth2.server import AuthorizationServer

__all__ = ["DEFAULT_PATHS", "build_metadata"]

DEFAULT_PATHS = {
    "authorization": "/oauth/authorize",
    "token": "/oauth/token",
    "revocation": "/oauth/revoke",
    "introspection": "/oauth/introspect",
    "device_authorization": "/oauth/device",
    "registration": "/oauth/register",
    "jwks": "/certs",
}


def build_metadata(server: AuthorizationServer, **extra: Any) -> dict[str, Any]:
    """The metadata document; only endpoints and grants actually registered are listed."""
    config = server.config
    issuer = (config.issuer or "").rstrip("/")
    paths = {**DEFAULT_PATHS, **config.endpoint_paths}

    def url(name: str) -> str:
        path = paths[name]
        return path if "://" in path else issuer + path

    data: dict[str, Any] = {"issuer": issuer}
    grant_types = list(server.token_grants)
    response_types = list(server.authorization_grants)
    if response_types:
        data["authorization_endpoint"] = url("authorization")
    if grant_types:
        data["token_endpoint"] = url("token")
    for name in ("revocation", "introspection", "device_authorization", "registration"):
        if name in server.endpoints:
            data[f"{name}_endpoint"] = url(name)
    if "token" in server.authorization_grants:
        grant_types.append("implicit")
    data["grant_types_supported"] = grant_types
    data["response_types_supported"] = response_types
    data["response_modes_supported"] = ["query", "fragment"] if "token" in response_types \
        else ["query"]
    methods: list[str] = []
    for grant_cls, _ in server.token_grants.values():
        for method in grant_cls.TOKEN_ENDPOINT_AUTH_METHODS:
            if method in server.auth_methods and method not in methods:
                methods.append(method)
    data["token_endpoint_auth_methods_supported"] = methods
    signing_algs = _signing_algorithms(server)
    if signing_algs and "private_key_jwt" in methods:
        data["token_endpoint_auth_signing_alg_values_supported"] = signing_algs
    for name in ("revocation", "introspection"):
        endpoint = server.endpoints.get(name)
        if endpoint is not None:
            allowed = getattr(endpoint, "CLIENT_AUTH_METHODS", ())
            listed = [m for m in allowed if m in server.auth_methods]
            data[f"{name}_endpoint_auth_methods_supported"] = listed
            if signing_algs and "private_key_jwt" in listed:
                data[f"{name}_endpoint_auth_signing_alg_values_supported"] = signing_algs
    code = server.authorization_grants.get("code")
    if code is not None:
        extensions = [e for e in code[1] if isinstance(e, CodeChallenge)]
        data["code_challenge_methods_supported"] = list(
            extensions[0].methods if extensions else CodeChallenge.SUPPORTED_METHODS
        )
    if config.scopes_supported is not None:
        data["scopes_supported"] = list(config.scopes_supported)
    data["authorization_response_iss_parameter_supported"] = True
    if config.service_documentation:
        data["service_documentation"] = config.service_documentation
    data.update(extra)
    return data


def _signing_algorithms(server: AuthorizationServer) -> list[str]:
    """The JWS algorithms of a registered ``private_key_jwt`` method (RFC 8414 §2)."""
    method = server.auth_methods.get("private_key_jwt")
    if method is None:
        return []
    return list(getattr(method, "algorithms", SUPPORTED_ALGORITHMS))
