"""``POST /oauth/device/authorize``: the poll flask-oauth2-devices clients send.

Such a client polls its ``authorize_link`` with ``auth_code`` (the user code)
and ``device_code`` instead of calling the token endpoint. The answer must be
what an RFC 8628 client gets at ``/oauth/token`` (single use, expiry,
``authorization_pending`` / ``slow_down`` / ``access_denied`` /
``expired_token``, an RFC 6749 §5.1 token), so the poll runs as the device-code
grant of the server's one :class:`DeviceFlow`: same store, same polling pace in
the same cache, same token issuance and audit. Only client identification
differs: legacy clients may send no credentials, and then holding both codes
identifies the client, as in :mod:`authgate.flask.devices`.
"""

from __future__ import annotations

import functools
import hmac
from typing import Any

from authgate.core.http import Request, Response, json_response
from authgate.core.oauth2.device import DEVICE_CODE_GRANT_TYPE, DeviceFlow, normalize_user_code
from authgate.oauth2 import (
    InvalidClientError,
    InvalidGrantError,
    InvalidRequestError,
    OAuth2Error,
    OAuth2Request,
)

__all__ = ["legacy_poll"]


def _required(request: OAuth2Request, name: str) -> str:
    value = request.data.get(name)
    if not value:
        raise InvalidRequestError("Missing '{name}' parameter.", params={"name": name})
    return str(value)


@functools.lru_cache(maxsize=8)
def _legacy_grant_class(flow: DeviceFlow) -> type[Any]:
    """The flow's device-code grant, identifying the client by its two codes if need be."""

    class LegacyPollGrant(flow.grant_class):  # type: ignore[misc,name-defined]
        request: OAuth2Request

        def authenticate_token_endpoint_client(self) -> Any:
            user_code = normalize_user_code(_required(self.request, "auth_code"))
            credential = self.find_credential(_required(self.request, "device_code"))
            if credential is None or user_code is None or \
                    not hmac.compare_digest(credential.user_code, user_code):
                raise InvalidGrantError("The device code is invalid.")
            data = self.request.data
            if "authorization" in self.request.headers or "client_id" in data \
                    or "client_secret" in data:
                return super().authenticate_token_endpoint_client()
            client = self.server.query_client(credential.client_id)
            if client is None:
                raise InvalidClientError()
            self.request = self.request.with_(client=client, auth_method="device_code")
            return client

    return LegacyPollGrant


def legacy_poll(core_server: Any, flow: DeviceFlow, request: Request) -> Response:
    """Answer one legacy poll exactly as the token endpoint answers a device-code poll."""
    try:
        core_server.check_transport(request)
        oauth_request = OAuth2Request.from_form(request)
        oauth_request = oauth_request.with_(
            data={**oauth_request.data, "grant_type": DEVICE_CODE_GRANT_TYPE})
        grant_cls = _legacy_grant_class(flow)
        grant = grant_cls(oauth_request, core_server)
        grant.validate_token_request()
        return json_response(200, grant.create_token_response())
    except OAuth2Error as error:
        answer: Response = core_server.error_response(request, error)
        return answer
