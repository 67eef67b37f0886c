"""How the flask-oauth2-devices face puts an application's models under the device engine.

The app registers getters and setters for its own ``Client`` and ``Code``
models; these adapters turn them into what the core expects: a client with
the :class:`~authgate.core.oauth2.models.Client` methods, and a
:class:`~authgate.core.oauth2.device.DeviceCodeStore`. The app's ``Code``
rows carry the credential (user code, client, scopes, expiry, the device
code's digest); the user's decision and single use are taken with the
cache's atomic ``add``, so they hold across processes sharing the cache
however the app's models are stored, and are then written to the row.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from authgate.core.oauth2.device import (
    APPROVED,
    CONSUMED,
    DENIED,
    DEVICE_CODE_GRANT_TYPE,
    PENDING,
    DeviceCache,
    DeviceCredential,
    normalize_user_code,
)
from authgate.core.oauth2.scope import list_to_scope, scope_to_list
from authgate.core.security import constant_time_equals, verify_hashed_secret

__all__ = ["DevicesClient", "ModelDeviceStore", "UserRef", "expires_at_of", "scopes_of"]

log = logging.getLogger(__name__)


def scopes_of(obj: Any) -> list[str]:
    """Scopes of an app's code or token: ``scopes`` (list), ``scope`` or ``_scopes`` (text)."""
    for name in ("scopes", "scope", "_scopes"):
        value = getattr(obj, name, None)
        if value is not None:
            return scope_to_list(value)
    return []


def expires_at_of(obj: Any) -> float | None:
    """Unix time from ``expires_at`` or from ``expires`` (a naive datetime is UTC)."""
    value = getattr(obj, "expires_at", None)
    if value is not None:
        return float(value)
    expires = getattr(obj, "expires", None)
    if isinstance(expires, dt.datetime):
        if expires.tzinfo is None:
            expires = expires.replace(tzinfo=dt.UTC)
        return expires.timestamp()
    return None


class UserRef:
    """The approving user, by id, when the app registered no ``usergetter``."""

    def __init__(self, user_id: Any) -> None:
        self.id = user_id

    def get_user_id(self) -> Any:
        return self.id

    def __repr__(self) -> str:
        return f"UserRef({self.id!r})"


class DevicesClient:
    """An app's client (``client_id``, ``client_secret``, ``client_type``, ``default_scopes``).

    The secret is compared in constant time, hashed (``sha256$...``) or,
    for existing tables, clear. Public clients may also identify by
    ``client_id`` alone (RFC 8628 §3.1). Other attributes pass through.
    """

    def __init__(self, client: Any) -> None:
        self.client = client

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    def __repr__(self) -> str:
        return f"<DevicesClient {self.get_client_id()!r}>"

    def get_client_id(self) -> str:
        return str(self.client.client_id)

    def get_default_redirect_uri(self) -> str | None:
        return None

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return False

    def check_response_type(self, response_type: str) -> bool:
        return False

    def get_default_scope(self) -> str:
        return list_to_scope(getattr(self.client, "default_scopes", None) or [])

    def get_allowed_scope(self, scope: str | None) -> str:
        wanted = scope_to_list(scope)
        validate = getattr(self.client, "validate_scopes", None)
        if callable(validate) and not validate(wanted):
            return ""
        return list_to_scope(wanted)

    def check_client_secret(self, client_secret: str) -> bool:
        return verify_hashed_secret(getattr(self.client, "client_secret", None), client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if method == "none":
            return getattr(self.client, "client_type", "confidential") == "public"
        return bool(getattr(self.client, "client_secret", None))

    def check_grant_type(self, grant_type: str) -> bool:
        allowed = getattr(self.client, "allowed_grant_types", None)
        if allowed is not None:
            return grant_type in allowed
        return grant_type == DEVICE_CODE_GRANT_TYPE


class ModelDeviceStore:
    """A :class:`DeviceCodeStore` over the app's ``authcodegetter`` / ``authcodesetter``."""

    def __init__(self, getter: Callable[[str], Any], setter: Callable[..., Any],
                 cache: DeviceCache, clock: Callable[[], float]) -> None:
        self.getter = getter
        self.setter = setter
        self.cache = cache
        self.clock = clock

    def __repr__(self) -> str:
        return "<ModelDeviceStore>"

    @staticmethod
    def _key(kind: str, digest: str) -> str:
        return f"devices:{kind}:{digest}"

    def _credential(self, code: Any) -> DeviceCredential | None:
        if code is None:
            return None
        digest = getattr(code, "device_code_hash", None)
        user_code = normalize_user_code(getattr(code, "code", None))
        expires_at = expires_at_of(code)
        if not digest or user_code is None or expires_at is None:
            return None
        status = getattr(code, "status", None) or PENDING
        user_id = getattr(code, "user_id", None)
        decision = self.cache.get(self._key("decision", digest))
        if isinstance(decision, dict):
            status, user_id = decision["status"], decision["user_id"]
        if self.cache.get(self._key("consumed", digest)):
            status = CONSUMED
        return DeviceCredential(
            device_code_hash=digest, user_code=user_code, client_id=str(code.client_id),
            scope=list_to_scope(scopes_of(code)), expires_at=expires_at,
            interval=int(getattr(code, "interval", None) or 5), status=status, user_id=user_id,
        )

    def save_device_credential(self, credential: DeviceCredential, now: float) -> bool:
        current = self._credential(self.getter(credential.user_code))
        if current is not None and not current.is_expired(now):
            return False
        lifetime = max(1, round(credential.expires_at - now))
        self.setter({
            "code": credential.user_code,
            "scope": credential.scope,
            "expires_in": lifetime,
            "expires": dt.datetime.fromtimestamp(credential.expires_at, dt.UTC)
                         .replace(tzinfo=None),
            "device_code_hash": credential.device_code_hash,
            "interval": credential.interval,
        }, credential.client_id, None)
        self.cache.set(self._key("index", credential.device_code_hash), credential.user_code,
                       expires=lifetime + 60)
        return True

    def query_user_code(self, user_code: str) -> DeviceCredential | None:
        return self._credential(self.getter(user_code))

    def query_device_credential(self, device_code_hash: str) -> DeviceCredential | None:
        user_code = self.cache.get(self._key("index", device_code_hash))
        if not isinstance(user_code, str):
            return None
        credential = self.query_user_code(user_code)
        if credential is None or not constant_time_equals(credential.device_code_hash,
                                                           device_code_hash):
            return None
        return credential

    def _decide(self, credential: DeviceCredential, now: float, kind: str, source: str,
                value: Any, **attributes: Any) -> bool:
        current = self.query_user_code(credential.user_code)
        if current is None or current.device_code_hash != credential.device_code_hash \
                or current.status != source or current.is_expired(now):
            return False
        ttl = max(1, round(current.expires_at - now) + 60)
        if not self.cache.add(self._key(kind, credential.device_code_hash), value, expires=ttl):
            return False
        self._write(credential.user_code, attributes)
        return True

    def _write(self, user_code: str, attributes: dict[str, Any]) -> None:
        """Mirror the decision onto the app's row, committing its SQLAlchemy session."""
        code = self.getter(user_code)
        if code is None:
            return
        for name, value in attributes.items():
            if hasattr(code, name):
                setattr(code, name, value)
        try:
            from sqlalchemy.orm import object_session
        except ImportError:  # pragma: no cover - SQLAlchemy is optional
            return
        try:
            session = object_session(code)
        except Exception:  # not a mapped object: nothing to commit
            return
        if session is not None:
            session.commit()

    def approve_device_credential(self, credential: DeviceCredential, user_id: Any,
                                  now: float) -> bool:
        decision = {"status": APPROVED, "user_id": user_id}
        return self._decide(credential, now, "decision", PENDING, decision,
                            status=APPROVED, user_id=user_id, is_active=1)

    def deny_device_credential(self, credential: DeviceCredential, now: float) -> bool:
        decision = {"status": DENIED, "user_id": None}
        return self._decide(credential, now, "decision", PENDING, decision,
                            status=DENIED, is_active=0)

    def consume_device_credential(self, credential: DeviceCredential, now: float) -> bool:
        return self._decide(credential, now, "consumed", APPROVED, 1, status=CONSUMED)
