"""The device authorization flow (RFC 8628): one engine behind every face.

:class:`DeviceFlow` owns the rules; the device authorization endpoint, the
device-code grant at the token endpoint, the activation page of an
application and the flask-oauth2-devices face all call it, so a rule (single
use, expiry, ``slow_down``, the user-code rate limit) lives in one place.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from authgate.core.oauth2.device.credential import (
    APPROVED,
    CONSUMED,
    DENIED,
    PENDING,
    DeviceCache,
    DeviceCodeStore,
    DeviceCredential,
)
from authgate.core.oauth2.device.polling import AttemptLimiter, PollingPace
from authgate.core.oauth2.device.user_code import (
    format_user_code,
    generate_user_code,
    normalize_user_code,
)
from authgate.core.oauth2.errors import (
    AccessDeniedError,
    AuthorizationPendingError,
    ExpiredTokenError,
    InvalidGrantError,
    OAuth2Error,
    ServerError,
)
from authgate.core.oauth2.models import client_id_of
from authgate.core.oauth2.scope import scope_to_list
from authgate.core.security import constant_time_equals, token_digest

if TYPE_CHECKING:
    from authgate.core.oauth2.device.endpoint import DeviceAuthorizationEndpoint
    from authgate.core.oauth2.device.grant import DeviceCodeGrant


class GrantRegistry(Protocol):
    """What :meth:`DeviceFlow.register` needs of a server."""

    def register_grant(self, grant_cls: Any, extensions: Any = None) -> None: ...

    def register_endpoint(self, endpoint: Any) -> None: ...

__all__ = [
    "DEVICE_CODE_BYTES",
    "DeviceFlow",
    "DevicePrompt",
    "InvalidUserCodeError",
    "UserCodeUsedError",
]

#: 32 random bytes: the 256 bits a device code must at least carry.
DEVICE_CODE_BYTES = 32
_SAVE_ATTEMPTS = 8


class InvalidUserCodeError(OAuth2Error):
    """What a person typed is no live user code (unknown, mistyped or expired)."""

    error = "invalid_grant"
    default_description = "This code is not valid. Check it and try again."


class UserCodeUsedError(OAuth2Error):
    """The user code was already approved or denied: a decision is never changed."""

    error = "invalid_grant"
    default_description = "This code was already used."


@dataclass(frozen=True)
class DevicePrompt:
    """What an activation page shows before the user decides."""

    credential: DeviceCredential
    client: Any
    scopes: tuple[str, ...]

    @property
    def user_code(self) -> str:
        return format_user_code(self.credential.user_code)


class DeviceFlow:
    """Issues device and user codes, answers polls, and records the user's decision.

    ``query_client(client_id)`` and ``get_user(user_id)`` find clients and
    users; ``clock`` is injectable so tests can expire codes. ``store`` keeps
    credentials, ``cache`` the polling pace and the wrong-entry counters,
    shared by every process that shares the cache.
    """

    def __init__(
        self,
        store: DeviceCodeStore,
        cache: DeviceCache,
        *,
        query_client: Callable[[str], Any],
        get_user: Callable[[Any], Any],
        clock: Callable[[], float] = time.time,
        expires_in: int = 600,
        interval: int = 5,
        verification_uri: str | None = None,
        default_scope: Callable[[Any], str] | None = None,
        limiter: AttemptLimiter | None = None,
    ) -> None:
        self.store = store
        self.cache = cache
        self.query_client = query_client
        self.get_user = get_user
        self.clock = clock
        self.expires_in = expires_in
        self.interval = interval
        self.verification_uri = verification_uri
        self.default_scope = default_scope
        self.pace = PollingPace(cache)
        self.limiter = limiter or AttemptLimiter(cache)
        self._grant_class: type[DeviceCodeGrant] | None = None
        self._endpoint_class: type[DeviceAuthorizationEndpoint] | None = None

    def __repr__(self) -> str:
        return f"<DeviceFlow store={type(self.store).__name__} cache={type(self.cache).__name__}>"

    # -- faces -----------------------------------------------------------------------
    @property
    def grant_class(self) -> type[DeviceCodeGrant]:
        """A :class:`DeviceCodeGrant` bound to this flow, to pass to ``register_grant``."""
        if self._grant_class is None:
            from authgate.core.oauth2.device.grant import DeviceCodeGrant

            self._grant_class = type("DeviceCodeGrant", (DeviceCodeGrant,), {"flow": self})
        return self._grant_class

    @property
    def endpoint_class(self) -> type[DeviceAuthorizationEndpoint]:
        """A :class:`DeviceAuthorizationEndpoint` bound to this flow, for ``register_endpoint``."""
        if self._endpoint_class is None:
            from authgate.core.oauth2.device.endpoint import DeviceAuthorizationEndpoint

            self._endpoint_class = type(
                "DeviceAuthorizationEndpoint", (DeviceAuthorizationEndpoint,), {"flow": self}
            )
        return self._endpoint_class

    def register(self, server: GrantRegistry) -> None:
        """Register the grant and the endpoint on a server (the core's or a face of it)."""
        server.register_grant(self.grant_class)
        server.register_endpoint(self.endpoint_class)

    # -- device authorization (§3.1, §3.2) ---------------------------------------------
    def authorize(self, client: Any, scope: str, *, expires_in: int | None = None,
                  interval: int | None = None) -> tuple[str, DeviceCredential]:
        """Issue a device code (returned in clear, once) and its stored credential."""
        if not scope and self.default_scope is not None:
            scope = self.default_scope(client)
        now = self.clock()
        lifetime = self.expires_in if expires_in is None else expires_in
        for _ in range(_SAVE_ATTEMPTS):
            device_code = secrets.token_urlsafe(DEVICE_CODE_BYTES)
            credential = DeviceCredential(
                device_code_hash=token_digest(device_code),
                user_code=generate_user_code(),
                client_id=client_id_of(client),
                scope=scope,
                expires_at=now + lifetime,
                interval=self.interval if interval is None else interval,
            )
            if self.store.save_device_credential(credential, now):
                return device_code, credential
        # 20^8 codes: repeated collisions mean the store is full or broken.
        raise ServerError("No free user code could be allocated.")

    def verification_uri_for(self, issuer: str) -> str:
        return self.verification_uri or issuer.rstrip("/") + "/activate"

    def response_body(self, device_code: str, credential: DeviceCredential,
                      verification_uri: str) -> dict[str, Any]:
        """The §3.2 members; the user code is shown grouped, as people will type it."""
        shown = format_user_code(credential.user_code)
        separator = "&" if "?" in verification_uri else "?"
        return {
            "device_code": device_code,
            "user_code": shown,
            "verification_uri": verification_uri,
            "verification_uri_complete": f"{verification_uri}{separator}user_code={shown}",
            "expires_in": max(0, round(credential.expires_at - self.clock())),
            "interval": credential.interval,
        }

    # -- polling (§3.4, §3.5) ---------------------------------------------------------
    def find(self, device_code: str) -> DeviceCredential | None:
        return self.store.query_device_credential(token_digest(device_code))

    def check_poll(self, client: Any, device_code: str) -> DeviceCredential:
        """The approved credential for this poll, or the §3.5 error to answer.

        Final states are reported before the pace is checked, so polls of a
        denied, used or expired code change nothing; a code of another client
        is indistinguishable from an unknown one.
        """
        return self.check_found(client, self.find(device_code))

    def check_found(self, client: Any, credential: DeviceCredential | None) -> DeviceCredential:
        """:meth:`check_poll` for a credential already read for this poll (None: unknown)."""
        if credential is None or not constant_time_equals(
                credential.client_id, client_id_of(client)):
            raise InvalidGrantError("The device code is invalid.")
        now = self.clock()
        if credential.is_expired(now):
            raise ExpiredTokenError()
        if credential.status == CONSUMED:
            raise InvalidGrantError("The device code was already used.")
        if credential.status == DENIED:
            raise AccessDeniedError()
        self.pace.check(credential, now)
        if credential.status == PENDING:
            raise AuthorizationPendingError()
        if credential.status != APPROVED:
            raise InvalidGrantError("The device code is invalid.")
        return credential

    def consume(self, credential: DeviceCredential) -> bool:
        """Use the approved credential up; only one caller ever gets True."""
        return self.store.consume_device_credential(credential, self.clock())

    def current_interval(self, device_code: str) -> int | None:
        credential = self.find(device_code)
        return None if credential is None else self.pace.interval(credential)

    # -- the user's side (§3.3, §5.1) --------------------------------------------------
    @staticmethod
    def _subjects(remote_addr: str | None, session_key: str | None) -> list[str]:
        subjects = [f"addr:{remote_addr or 'unknown'}"]
        if session_key:
            subjects.append(f"session:{token_digest(session_key)[:32]}")
        return subjects

    def lookup(self, user_code: str | None, *, remote_addr: str | None = None,
               session_key: str | None = None) -> DevicePrompt:
        """The pending request behind what the user typed, for the consent page.

        Raises :class:`InvalidUserCodeError`, :class:`UserCodeUsedError`, or
        :class:`~authgate.core.oauth2.errors.RateLimitedError` once this
        address or session typed too many wrong codes.
        """
        subjects = self._subjects(remote_addr, session_key)
        now = self.clock()
        self.limiter.check(subjects, now)
        code = normalize_user_code(user_code)
        credential = self.store.query_user_code(code) if code else None
        client = None
        if credential is not None and not credential.is_expired(now):
            client = self.query_client(credential.client_id)
        if credential is None or client is None or credential.is_expired(now):
            self.limiter.record_miss(subjects, now)
            raise InvalidUserCodeError()
        if credential.status != PENDING:
            self.limiter.record_miss(subjects, now)
            raise UserCodeUsedError()
        return DevicePrompt(credential, client, tuple(scope_to_list(credential.scope)))

    def approve(self, user_code: str | None, user: Any, *, remote_addr: str | None = None,
                session_key: str | None = None) -> DeviceCredential:
        """Approve for ``user``; a code someone already decided stays as it was."""
        prompt = self.lookup(user_code, remote_addr=remote_addr, session_key=session_key)
        user_id = user.get_user_id()
        if not self.store.approve_device_credential(prompt.credential, user_id, self.clock()):
            raise UserCodeUsedError()
        return prompt.credential.with_(status=APPROVED, user_id=user_id)

    def deny(self, user_code: str | None, *, remote_addr: str | None = None,
             session_key: str | None = None) -> DeviceCredential:
        prompt = self.lookup(user_code, remote_addr=remote_addr, session_key=session_key)
        if not self.store.deny_device_credential(prompt.credential, self.clock()):
            raise UserCodeUsedError()
        return prompt.credential.with_(status=DENIED)
