"""Scope values (RFC 6749 §3.3): space-delimited, case-sensitive, order-free."""

from __future__ import annotations

from collections.abc import Iterable

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
    alternatives = [scope_to_list(item) for item in (required or [])]
    alternatives = [alt for alt in alternatives if alt]
    if not alternatives:
        return True
    held = set(scope_to_list(granted))
    return any(held.issuperset(alt) for alt in alternatives)
