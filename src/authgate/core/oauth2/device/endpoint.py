"""The device authorization endpoint (RFC 8628 §3.1, §3.2)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from authgate.core.http import Request, Response, json_response
from authgate.core.oauth2.device.grant import DEVICE_CODE_GRANT_TYPE
from authgate.core.oauth2.errors import UnauthorizedClientError
from authgate.core.oauth2.grants.base import BaseGrant
from authgate.core.oauth2.request import OAuth2Request
from authgate.core.oauth2.server import AuthorizationServer, Endpoint

if TYPE_CHECKING:
    from authgate.core.oauth2.device.flow import DeviceFlow

__all__ = ["DeviceAuthorizationEndpoint"]


class DeviceAuthorizationEndpoint(Endpoint):
    """Answers a device's request for codes; served as ``device_authorization``.

    Clients authenticate as at the token endpoint (§3.1): Basic, in the body,
    or, for public clients, by ``client_id`` alone.
    """

    ENDPOINT_NAME = "device_authorization"
    CLIENT_AUTH_METHODS: ClassVar[tuple[str, ...]] = (
        "client_secret_basic", "client_secret_post", "none",
    )
    flow: ClassVar[DeviceFlow | None] = None

    def __init__(self, server: AuthorizationServer, flow: DeviceFlow | None = None) -> None:
        super().__init__(server)
        self._flow = flow or type(self).flow

    @property
    def device_flow(self) -> DeviceFlow:
        if self._flow is None:
            raise RuntimeError("register DeviceFlow.endpoint_class, or pass flow=")
        return self._flow

    def authorize(self, request: Request, **overrides: Any) -> dict[str, Any]:
        """Validate the request and issue codes; the §3.2 members as a dict.

        ``overrides`` (``expires_in``, ``interval``, ``verification_uri``) let
        another face reuse the endpoint with its own settings.
        """
        self.server.check_transport(request)
        oauth_request = OAuth2Request.from_form(request)
        client, method = self.server.authenticate_client(
            oauth_request, self.CLIENT_AUTH_METHODS, self.ENDPOINT_NAME
        )
        oauth_request = oauth_request.with_(client=client, auth_method=method)
        if not client.check_grant_type(DEVICE_CODE_GRANT_TYPE):
            raise UnauthorizedClientError(
                "The client is not allowed to use the '{grant_type}' grant.",
                params={"grant_type": DEVICE_CODE_GRANT_TYPE},
            )
        scope = BaseGrant(oauth_request, self.server).validate_requested_scope()
        flow = self.device_flow
        verification_uri = overrides.pop("verification_uri", None) or \
            flow.verification_uri_for(self._issuer(request))
        device_code, credential = flow.authorize(client, scope, **overrides)
        return flow.response_body(device_code, credential, verification_uri)

    def _issuer(self, request: Request) -> str:
        issuer_for = getattr(self.server, "issuer_for", None)
        if callable(issuer_for):
            return str(issuer_for(request))
        return self.server.config.issuer or ""

    def create_endpoint_response(self, request: Request) -> Response:
        return json_response(200, self.authorize(request))
