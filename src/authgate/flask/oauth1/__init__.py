"""OAuth 1.0a for Flask: an authorization server and a resource protector.

::

    from authgate.flask.oauth1 import AuthorizationServer, ResourceProtector, current_credential

Storage helpers live with their backends: :mod:`authgate.cache.oauth1` and
:mod:`authgate.sqla.oauth1`. See ``docs/oauth1.md``.
"""

from authgate.core.oauth1 import AuthorizationRequest, OAuth1Error
from authgate.flask.oauth1.authorization_server import AuthorizationServer
from authgate.flask.oauth1.resource_protector import ResourceProtector, current_credential

__all__ = [
    "AuthorizationRequest",
    "AuthorizationServer",
    "OAuth1Error",
    "ResourceProtector",
    "current_credential",
]
