"""The device authorization grant (RFC 8628): engine, endpoint, grant and stores.

::

    flow = DeviceFlow(MemoryDeviceStore(), MemoryCache(),
                      query_client=store.query_client, get_user=store.get_user)
    flow.register(server)           # the grant and the device_authorization endpoint
    flow.lookup(code) / flow.approve(code, user) / flow.deny(code)   # the activation page
"""

from authgate.core.oauth2.device.credential import (
    APPROVED,
    CONSUMED,
    DENIED,
    PENDING,
    DeviceCache,
    DeviceCodeStore,
    DeviceCredential,
)
from authgate.core.oauth2.device.endpoint import DeviceAuthorizationEndpoint
from authgate.core.oauth2.device.flow import (
    DeviceFlow,
    DevicePrompt,
    InvalidUserCodeError,
    UserCodeUsedError,
)
from authgate.core.oauth2.device.grant import DEVICE_CODE_GRANT_TYPE, DeviceCodeGrant
from authgate.core.oauth2.device.memory import MemoryDeviceStore
from authgate.core.oauth2.device.polling import SLOW_DOWN_STEP, AttemptLimiter, PollingPace
from authgate.core.oauth2.device.user_code import (
    USER_CODE_ALPHABET,
    format_user_code,
    generate_user_code,
    normalize_user_code,
)

__all__ = [
    "APPROVED",
    "CONSUMED",
    "DENIED",
    "DEVICE_CODE_GRANT_TYPE",
    "PENDING",
    "SLOW_DOWN_STEP",
    "USER_CODE_ALPHABET",
    "AttemptLimiter",
    "DeviceAuthorizationEndpoint",
    "DeviceCache",
    "DeviceCodeGrant",
    "DeviceCodeStore",
    "DeviceCredential",
    "DeviceFlow",
    "DevicePrompt",
    "InvalidUserCodeError",
    "MemoryDeviceStore",
    "PollingPace",
    "UserCodeUsedError",
    "format_user_code",
    "generate_user_code",
    "normalize_user_code",
]
