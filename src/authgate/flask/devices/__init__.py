"""The flask-oauth2-devices face of authgate's device flow (RFC 8628).

::

    from authgate.flask.devices import OAuth2DevicesProvider

    oauth = OAuth2DevicesProvider(app)
"""

from authgate.flask.devices.adapters import DevicesClient, UserRef
from authgate.flask.devices.provider import OAuth2DevicesProvider, OAuthContext

__all__ = ["DevicesClient", "OAuth2DevicesProvider", "OAuthContext", "UserRef"]
