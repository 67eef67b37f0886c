"""Scope values (RFC 6749 §3.3): space-delimited, case-sensitive, order-free."""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

__all__ = ["list_to_scope", "scope_to_list", "scopes_satisfied"]


def scope_to_list(scope: str | Iterable[str] | None) -> list[str]:
    if scope is None:
        return []
    if isinstance(scope, str):
        return [s for s in scope.split(" ") if s]
    return [str(s) for s in scope if s]


def list_to_scope(scopes: Iterable[str] | None) -> str:
    if scopes is None:
        return ""
    seen: dict[str, None] = {}
    for item in scopes:
        if item:
            seen.setdefault(item, None)
    return " ".join(seen)


def scopes_satisfied(granted: str | None, required: Iterable[str] | None) -> bool:
    """Does ``granted`` satisfy ``required``?

    ``required`` is a list of alternatives, each a space-delimited set that must
    be held entirely: ``["a b"]`` needs both, ``["a", "b"]`` either.
    """
    if not required:
        return True
    if isinstance(required, str):  # one alternative, not a list of one-letter scopes
        required = (required,)
    try:
        alternatives = _alternatives(tuple(required))
    except TypeError:  # an alternative given as a list: not hashable, parse it here
        alternatives = _parse_alternatives(required)
    if not alternatives:
        return True
    held = _held(granted) if isinstance(granted, str) else frozenset(scope_to_list(granted))
    return any(alt <= held for alt in alternatives)


# A resource server checks the same few scope strings on every request: a token's
# granted scope and a view's required ones. Parsing them once each is what these
# small caches are for; both hold immutable results only.
@lru_cache(maxsize=1024)
def _held(granted: str) -> frozenset[str]:
    return frozenset(scope_to_list(granted))


@lru_cache(maxsize=256)
def _alternatives(required: tuple[str | tuple[str, ...], ...]) -> tuple[frozenset[str], ...]:
    return _parse_alternatives(required)


def _parse_alternatives(required: Iterable[str | Iterable[str]]) -> tuple[frozenset[str], ...]:
    parsed = (frozenset(scope_to_list(item)) for item in required)
    return tuple(alt for alt in parsed if alt)
