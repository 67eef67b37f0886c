"""Settings of the ready-to-run server: defaults, then a config file, then env, then code.

Everything the operator sets is an ``AUTHGATE_*`` name, whether it comes from
the environment, from the file named by ``AUTHGATE_CONFIG`` (TOML, or Python
whose upper-case globals are read) or from the ``config`` dict given to
``create_app``; later sources win, so a test's dict beats a stray variable in
the environment. Other upper-case keys of the dict and the file go to Flask's
``app.config`` untouched.
"""

from __future__ import annotations

import os
import runpy
import secrets
import time
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["JWT_ALGORITHMS", "PROFILES", "Settings", "load_secret_key", "load_settings"]

JWT_ALGORITHMS = ("RS256", "RS512", "ES256", "EdDSA")
PROFILES = ("default", "nmos")
_TRUE = {"1", "true", "yes", "on"}

DEFAULTS: dict[str, Any] = {
    "AUTHGATE_DATABASE_URL": None,
    "AUTHGATE_REDIS_URL": None,
    "AUTHGATE_REDIS_PREFIX": "authgate:",
    "AUTHGATE_ISSUER": "http://127.0.0.1:4999",
    "AUTHGATE_SECRET_KEY": None,
    "AUTHGATE_INSECURE_TRANSPORT": False,
    "AUTHGATE_JWT_ALG": "RS256",
    "AUTHGATE_PROFILE": "default",
    "AUTHGATE_INSTANCE_PATH": None,
    "AUTHGATE_AUDIENCE": None,
    "AUTHGATE_SCOPES": "profile email",
    "AUTHGATE_TOKEN_LIFETIME": 3600,
    "AUTHGATE_KEY_RELOAD_INTERVAL": 60,
    "AUTHGATE_DEVICE_INTERVAL": 5,
    "AUTHGATE_MIGRATE": True,
    "AUTHGATE_ADVERTISE": False,
    "AUTHGATE_ADVERTISE_PRIORITY": 100,
    "AUTHGATE_PROXY_FIX": 0,
}
#: IS-10 scopes are the NMOS API names; the NMOS profile offers them unless told otherwise
#: (and still ``profile email``, which the server's own ``/api/me`` needs).
NMOS_SCOPES = "profile email registration query node connection events channelmapping"


@dataclass(frozen=True)
class Settings:
    """The parsed ``AUTHGATE_*`` settings; ``flask`` holds every other config key."""

    database_url: str
    redis_url: str | None
    redis_prefix: str
    issuer: str
    secret_key: str
    insecure_transport: bool
    jwt_alg: str
    profile: str
    instance_path: Path
    audience: str | list[str]
    scopes: tuple[str, ...]
    token_lifetime: int
    key_reload_interval: float
    migrate: bool
    #: RFC 8628 §3.2 ``interval``: seconds a device waits between polls (faster: slow_down).
    device_interval: int = 5
    advertise: bool = False
    advertise_priority: int = 100
    #: How many reverse proxies in front set ``X-Forwarded-*`` (0: trust none).
    proxy_fix: int = 0
    clock: Callable[[], float] = time.time
    flask: Mapping[str, Any] = field(default_factory=dict)

    @property
    def nmos(self) -> bool:
        return self.profile == "nmos"

    @property
    def key_not_before_delay(self) -> float:
        """IS-10 asks that a new key be published two hours before it signs."""
        return 2 * 3600.0 if self.nmos else 0.0

    def __repr__(self) -> str:  # the secret key and database password stay out of logs
        return f"Settings(issuer={self.issuer!r}, profile={self.profile!r}, secret_key=<redacted>)"


def _read_file(path: str) -> dict[str, Any]:
    if path.endswith(".toml"):
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
        return {str(k).upper(): v for k, v in data.items()}
    values = runpy.run_path(path)
    return {k: v for k, v in values.items() if k.isupper()}


def _flag(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in _TRUE
    return bool(value)


def _device_interval(value: Any) -> int:
    """``AUTHGATE_DEVICE_INTERVAL``: whole seconds, 0 or more (0: devices may poll at will)."""
    try:
        seconds = int(value)
    except (TypeError, ValueError):
        seconds = -1
    if seconds < 0 or str(value).strip() != str(seconds):
        raise ValueError("AUTHGATE_DEVICE_INTERVAL must be a whole number of seconds, 0 or more")
    return seconds


def _proxy_count(value: Any) -> int:
    """``AUTHGATE_PROXY_FIX``: a number of proxies; ``true``/``on`` mean one."""
    if isinstance(value, str) and value.strip().lower() in _TRUE:
        return 1
    count = int(value or 0)
    if count < 0:
        raise ValueError("AUTHGATE_PROXY_FIX must be 0 or a number of proxies")
    return count


def load_secret_key(instance_path: Path) -> str:
    """The key kept in ``<instance>/secret_key``, made on first start with mode 0600.

    ``O_EXCL`` makes concurrent first starts (several gunicorn workers) agree:
    the one that loses the race reads the winner's key.
    """
    path = instance_path / "secret_key"
    instance_path.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(50):
            key = path.read_text().strip()
            if key:
                return key
            time.sleep(0.02)  # the winner is still writing
        raise RuntimeError(f"{path} is empty; delete it to make a new key") from None
    key = secrets.token_urlsafe(48)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key


def load_settings(config: Mapping[str, Any] | None, default_instance: Path) -> Settings:
    """Merge the sources (later wins) and check what is checkable before starting."""
    merged: dict[str, Any] = dict(DEFAULTS)
    config = dict(config or {})
    file_name = config.get("AUTHGATE_CONFIG") or os.environ.get("AUTHGATE_CONFIG")
    extra: dict[str, Any] = {}
    layers: list[Mapping[str, Any]] = []
    if file_name:
        layers.append(_read_file(str(file_name)))
    layers.append({k: v for k, v in os.environ.items() if k in DEFAULTS})
    layers.append(config)
    for layer in layers:
        for key, value in layer.items():
            if key in DEFAULTS:
                merged[key] = value
            elif key.isupper() and not key.startswith("AUTHGATE_"):
                extra[key] = value
    instance = Path(merged["AUTHGATE_INSTANCE_PATH"] or default_instance).resolve()
    alg = str(merged["AUTHGATE_JWT_ALG"])
    profile = str(merged["AUTHGATE_PROFILE"] or "default").lower()
    if profile not in PROFILES:
        raise ValueError(f"AUTHGATE_PROFILE must be one of {PROFILES}, not {profile!r}")
    if "AUTHGATE_JWT_ALG" not in {**os.environ, **config} and profile == "nmos":
        alg = "RS512"  # IS-10 tokens are RS512
    if alg not in JWT_ALGORITHMS:
        raise ValueError(f"AUTHGATE_JWT_ALG must be one of {JWT_ALGORITHMS}, not {alg!r}")
    issuer = str(merged["AUTHGATE_ISSUER"]).rstrip("/")
    audience_value = merged["AUTHGATE_AUDIENCE"]
    audience: str | list[str]
    if isinstance(audience_value, list | tuple):
        audience = [str(a) for a in audience_value]
    elif audience_value:
        parts = [a.strip() for a in str(audience_value).split(",") if a.strip()]
        audience = parts[0] if len(parts) == 1 else parts
    elif profile == "nmos":
        from authgate.core.oauth2.nmos import default_audience

        audience = default_audience(issuer)  # IS-10: every host of the issuer's domain
    else:
        audience = issuer
    if profile == "nmos" and isinstance(audience, str):
        audience = [audience]  # IS-10 tokens carry an aud array
    scopes = merged["AUTHGATE_SCOPES"]
    if profile == "nmos" and scopes is DEFAULTS["AUTHGATE_SCOPES"]:  # not set anywhere
        scopes = NMOS_SCOPES
    if isinstance(scopes, str):
        scopes = scopes.split()
    database_url = merged["AUTHGATE_DATABASE_URL"] or f"sqlite:///{instance / 'authgate.sqlite'}"
    secret = merged["AUTHGATE_SECRET_KEY"] or load_secret_key(instance)
    return Settings(
        database_url=str(database_url),
        redis_url=merged["AUTHGATE_REDIS_URL"] or None,
        redis_prefix=str(merged["AUTHGATE_REDIS_PREFIX"]),
        issuer=issuer,
        secret_key=str(secret),
        insecure_transport=_flag(merged["AUTHGATE_INSECURE_TRANSPORT"]),
        jwt_alg=alg,
        profile=profile,
        instance_path=instance,
        audience=audience,
        scopes=tuple(str(s) for s in scopes),
        token_lifetime=int(merged["AUTHGATE_TOKEN_LIFETIME"]),
        key_reload_interval=float(merged["AUTHGATE_KEY_RELOAD_INTERVAL"]),
        device_interval=_device_interval(merged["AUTHGATE_DEVICE_INTERVAL"]),
        migrate=_flag(merged["AUTHGATE_MIGRATE"]),
        advertise=_flag(merged["AUTHGATE_ADVERTISE"]),
        advertise_priority=int(merged["AUTHGATE_ADVERTISE_PRIORITY"]),
        proxy_fix=_proxy_count(merged["AUTHGATE_PROXY_FIX"]),
        clock=config.get("AUTHGATE_CLOCK") or time.time,
        flask=extra,
    )
