"""The device-code grant at the token endpoint (RFC 8628 §3.4, §3.5)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from authgate.core.oauth2.device.credential import DeviceCredential
from authgate.core.oauth2.errors import InvalidGrantError
from authgate.core.oauth2.grants.base import BaseGrant, TokenEndpointMixin, require

if TYPE_CHECKING:
    from authgate.core.oauth2.device.flow import DeviceFlow

__all__ = ["DEVICE_CODE_GRANT_TYPE", "DeviceCodeGrant"]

DEVICE_CODE_GRANT_TYPE = "urn:ietf:params:oauth:grant-type:device_code"


class DeviceCodeGrant(BaseGrant, TokenEndpointMixin):
    """Exchanges an approved device code for a token, once.

    Register ``flow.grant_class`` (or a subclass setting ``flow``). The rules
    of a poll live in :meth:`DeviceFlow.check_poll`; the code is consumed in
    :meth:`create_token_response` by a conditional update in the store, so of
    many concurrent polls exactly one gets a token.
    """

    GRANT_TYPE = DEVICE_CODE_GRANT_TYPE
    TOKEN_ENDPOINT_AUTH_METHODS = ("client_secret_basic", "client_secret_post", "none")
    ISSUES_REFRESH_TOKEN = True
    flow: ClassVar[DeviceFlow | None] = None
    #: The device code this request's credential was read for, and what was read.
    _found: tuple[str, DeviceCredential | None] | None = None

    @property
    def device_flow(self) -> DeviceFlow:
        if self.flow is None:
            raise RuntimeError("DeviceCodeGrant needs a flow: register DeviceFlow.grant_class")
        return self.flow

    def validate_token_request(self) -> None:
        """§3.4 in order: client, grant type, device code, then the §3.5 poll rules."""
        client = self.authenticate_token_endpoint_client()
        self.check_grant_type_allowed()
        device_code = require(self.request, "device_code")
        credential = self.device_flow.check_found(client, self.find_credential(device_code))
        user = self.device_flow.get_user(credential.user_id)
        if user is None:
            raise InvalidGrantError("The user who approved this device is gone.")
        self.request = self.request.with_(
            user=user, credential=credential, scope=credential.scope or None,
        )

    def find_credential(self, device_code: str) -> DeviceCredential | None:
        """The stored credential of ``device_code``, read once per request.

        A face that must see the credential before the client is known (a legacy
        poll identifies its client by the codes) reads it here, and the poll rules
        then check that same read instead of going to the store a second time.
        """
        found = self._found
        if found is None or found[0] != device_code:
            found = self._found = (device_code, self.device_flow.find(device_code))
        return found[1]

    def create_token_response(self) -> dict[str, Any]:
        if not self.device_flow.consume(self.request.credential):
            raise InvalidGrantError("The device code was already used.")
        token = self.generate_token(user=self.request.user, scope=self.request.scope)
        self.save_token(token)
        return token
