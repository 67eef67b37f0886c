"""SQLAlchemy 2.0 layer for the OAuth 2.0 server: mixins, hook helpers and a store.

Three ways in, from least to most done for you:

* the mixins (:class:`OAuth2ClientMixin`, :class:`OAuth2AuthorizationCodeMixin`,
  :class:`OAuth2TokenMixin`) on the application's own models;
* the seed-style helpers (``create_query_client_func``, ``create_save_token_func``,
  ``create_revocation_endpoint``, ``create_bearer_token_validator``) and the
  atomic hook helpers (``consume_authorization_code``, ``rotate_refresh_token``)
  for hand-written grant subclasses;
* :class:`SQLAlchemyStore`, which implements every storage interface of
  :mod:`authgate.core.oauth2.storage` for ``create_server``.
"""

from authgate.sqla.oauth2.functions import (
    Bind,
    SessionLike,
    consume_authorization_code,
    create_bearer_token_validator,
    create_query_client_func,
    create_query_token_func,
    create_revocation_endpoint,
    create_revoke_token_family_func,
    create_save_token_func,
    query_token_record,
    revoke_token_family,
    revoke_token_record,
    rotate_refresh_token,
    save_token_record,
)
from authgate.sqla.oauth2.mixins import (
    OAuth2AuthorizationCodeMixin,
    OAuth2ClientMixin,
    OAuth2TokenMixin,
)
from authgate.sqla.oauth2.store import SQLAlchemyStore
from authgate.sqla.oauth2.types import HashedToken

__all__ = [
    "Bind",
    "HashedToken",
    "OAuth2AuthorizationCodeMixin",
    "OAuth2ClientMixin",
    "OAuth2TokenMixin",
    "SQLAlchemyStore",
    "SessionLike",
    "consume_authorization_code",
    "create_bearer_token_validator",
    "create_query_client_func",
    "create_query_token_func",
    "create_revocation_endpoint",
    "create_revoke_token_family_func",
    "create_save_token_func",
    "query_token_record",
    "revoke_token_family",
    "revoke_token_record",
    "rotate_refresh_token",
    "save_token_record",
]
