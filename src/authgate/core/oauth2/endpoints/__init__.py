"""Endpoints besides authorize and token: revocation, introspection, metadata."""

from authgate.core.oauth2.endpoints.introspection import IntrospectionEndpoint
from authgate.core.oauth2.endpoints.metadata import build_metadata
from authgate.core.oauth2.endpoints.revocation import RevocationEndpoint

__all__ = ["IntrospectionEndpoint", "RevocationEndpoint", "build_metadata"]
