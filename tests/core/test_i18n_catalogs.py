"""Every protocol error message the code can produce has a German and a French text."""

from __future__ import annotations

import ast
import importlib
import inspect
import json
import pkgutil
from pathlib import Path

import pytest

import authgate
from authgate.core.errors import ProtocolError

SRC = Path(authgate.__file__).parent
CATALOGS = SRC / "core" / "i18n"


def _all_protocol_errors() -> dict[str, type[ProtocolError]]:
    for info in pkgutil.walk_packages([str(SRC)], "authgate."):
        if ".server" in info.name:
            continue  # the server's own pages have their own texts
        try:
            importlib.import_module(info.name)
        except ImportError:
            continue
    found: dict[str, type[ProtocolError]] = {}
    stack = [ProtocolError]
    while stack:
        cls = stack.pop()
        found[cls.__name__] = cls
        stack.extend(cls.__subclasses__())
    return found


def _takes_description(cls: type[ProtocolError]) -> bool:
    parameters = list(inspect.signature(cls.__init__).parameters)
    return len(parameters) > 1 and parameters[1] == "description"


def _messages() -> set[str]:
    errors = _all_protocol_errors()
    describable = {name for name, cls in errors.items() if _takes_description(cls)}
    messages = {cls.default_description for cls in errors.values() if cls.default_description}
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            first = node.args[0]
            if name in describable and isinstance(first, ast.Constant):
                messages.add(str(first.value))
    return messages


@pytest.mark.parametrize("language", ["de", "fr"])
def test_catalog_is_complete(language: str) -> None:
    catalog = json.loads((CATALOGS / f"{language}.json").read_text())
    missing = sorted(m for m in _messages() if m and m not in catalog)
    assert missing == []


@pytest.mark.parametrize("language", ["de", "fr"])
def test_translations_keep_their_placeholders(language: str) -> None:
    import string

    catalog = json.loads((CATALOGS / f"{language}.json").read_text())
    for english, text in catalog.items():
        fields = {f for _, f, _, _ in string.Formatter().parse(english) if f}
        assert {f for _, f, _, _ in string.Formatter().parse(text) if f} == fields, english
