"""The OAuth 2.0 face for Flask, in the style of Authlib's Flask integration."""

from authgate.flask.oauth2.authorization_server import AuthorizationServer
from authgate.flask.oauth2.resource_protector import ResourceProtector, current_token

__all__ = ["AuthorizationServer", "ResourceProtector", "current_token"]
