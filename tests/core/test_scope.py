"""Scope matching (RFC 6749 §3.3): the rules hold whatever form the arguments take,
and the parse caches never let one call's answer leak into another's."""

from __future__ import annotations

import pytest

from authgate.core.oauth2.scope import list_to_scope, scope_to_list, scopes_satisfied


@pytest.mark.parametrize(("granted", "required", "expected"), [
    ("profile email", ["profile"], True),
    ("profile email", ["profile email"], True),
    ("profile", ["profile email"], False),              # one alternative needs both
    ("email", ["profile", "email"], True),             # either alternative
    ("admin", ["profile", "email"], False),
    ("Profile", ["profile"], False),                   # case-sensitive
    ("  profile   email ", ["email  profile"], True),  # extra spaces are not scopes
    ("", ["profile"], False),
    (None, ["profile"], False),
    (None, [], True),                                  # nothing required
    ("profile", None, True),
    ("profile", ["", " "], True),                      # only empty alternatives
    ("profile", "profile", True),                      # a string is one alternative
    ("pro", "profile", False),                         # ...not a set of letters
    (["profile", "email"], ["email profile"], True),   # granted as a list
    ("profile email", [["profile", "email"]], True),   # an alternative as a list
    ("profile", [["profile", "email"]], False),
    ("profile email", [("profile", "email")], True),   # ...or as a tuple
])
def test_scopes_satisfied(granted: object, required: object, expected: bool) -> None:
    assert scopes_satisfied(granted, required) is expected  # type: ignore[arg-type]
    assert scopes_satisfied(granted, required) is expected  # served from the caches


def test_cached_parse_is_not_shared_between_different_strings() -> None:
    for i in range(3000):  # past both caches' sizes
        assert scopes_satisfied(f"s{i}", [f"s{i}"])
        assert not scopes_satisfied(f"s{i}", [f"s{i + 1}"])


def test_scope_lists_and_strings() -> None:
    assert scope_to_list("a  b ") == ["a", "b"]
    assert scope_to_list(None) == []
    assert scope_to_list(["a", "", "b"]) == ["a", "b"]
    assert list_to_scope(["b", "a", "b", ""]) == "b a"
    assert list_to_scope(None) == ""
