"""What each scope means, in words a person deciding on a consent page understands.

The server's scopes are configurable (``AUTHGATE_SCOPES``), so a scope missing
here is still shown, by name, with a generic line. Under the NMOS profile the
scopes are IS-10 API names, and what a user may grant is stored as access
rights (``registration query:read``, see :mod:`authgate.core.oauth2.nmos`).
"""

from __future__ import annotations

from dataclasses import dataclass

from authgate.core.oauth2.nmos import NMOS_APIS, format_access_rights, parse_access_rights
from authgate.server.config import Settings

__all__ = ["Choice", "describe", "offered_rights", "parse_rights", "scope_items"]

DESCRIPTIONS = {
    "profile": "Your username and account id",
    "email": "Your e-mail address",
    "openid": "Signing you in to the application",
    "offline_access": "Keeping access while you are away",
    "registration": "Register devices and their resources (IS-04 Registration API)",
    "query": "Look up registered devices and resources (IS-04 Query API)",
    "node": "Read and change devices directly (IS-04 Node API)",
    "connection": "Connect senders to receivers (IS-05 Connection API)",
    "events": "Send and receive events and tally (IS-07 Events API)",
    "channelmapping": "Map audio channels (IS-08 Channel Mapping API)",
}


@dataclass(frozen=True)
class Choice:
    """One checkbox of the sign-up form: the value posted as ``scope``, and its words."""

    value: str
    label: str
    description: str


def describe(scope: str) -> str:
    return DESCRIPTIONS.get(scope, f"Access named “{scope}”")


def scope_items(scope: str | list[str] | tuple[str, ...] | None) -> list[tuple[str, str]]:
    """``(name, description)`` for each distinct scope, in the order asked."""
    names = scope.split() if isinstance(scope, str) else list(scope or [])
    return [(name, describe(name)) for name in dict.fromkeys(names)]


def _nmos_apis(settings: Settings) -> list[str]:
    apis = [s for s in settings.scopes if s in NMOS_APIS]
    return apis or list(NMOS_APIS)


def offered_rights(settings: Settings) -> list[Choice]:
    """What a new user may pick: the server's scopes, or read / read-and-write per NMOS API."""
    if not settings.nmos:
        return [Choice(s, s, describe(s)) for s in settings.scopes]
    choices = []
    for api in _nmos_apis(settings):
        choices.append(Choice(f"{api}:read", f"{api}: read", describe(api)))
        choices.append(Choice(api, f"{api}: read and write", describe(api)))
    return choices


def parse_rights(settings: Settings, values: list[str]) -> str:
    """The posted ``scope`` values as the string to store; ValueError names what is wrong.

    Values may each hold several entries (``"registration query:read"``), so a
    script can post the access-rights string as one field.
    """
    entries = [e for value in values for e in value.split()]
    if not settings.nmos:
        unknown = [e for e in dict.fromkeys(entries) if e not in settings.scopes]
        if unknown:
            raise ValueError(f"not a scope of this server: {', '.join(unknown)}")
        return " ".join(dict.fromkeys(entries))
    rights = parse_access_rights(" ".join(entries))
    unknown = [api for api in rights if api not in _nmos_apis(settings)]
    if unknown:
        raise ValueError(f"not an API of this server: {', '.join(sorted(unknown))}")
    return format_access_rights(rights)
