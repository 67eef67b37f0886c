"""The layering of STYLE.md, checked on the sources (import-linter checks it in CI too)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "authgate"
FORBIDDEN_IN_CORE = {"flask", "werkzeug", "sqlalchemy", "redis", "jinja2", "click",
                     "authgate.flask", "authgate.sqla", "authgate.cache", "authgate.server"}


def imports_of(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _hits(path: Path, forbidden: set[str]) -> list[str]:
    return sorted(name for name in imports_of(path)
                  if any(name == f or name.startswith(f + ".") for f in forbidden))


@pytest.mark.parametrize("path", sorted((SRC / "core").rglob("*.py")), ids=str)
def test_core_imports_no_framework(path: Path) -> None:
    assert _hits(path, FORBIDDEN_IN_CORE) == []


@pytest.mark.parametrize("path", sorted((SRC / "core" / "oauth1").rglob("*.py")), ids=str)
def test_oauth1_core_does_not_import_oauth2(path: Path) -> None:
    assert _hits(path, {"authgate.core.oauth2"}) == []


@pytest.mark.parametrize("path", sorted((SRC / "core" / "oauth2").rglob("*.py")), ids=str)
def test_oauth2_core_does_not_import_oauth1(path: Path) -> None:
    assert _hits(path, {"authgate.core.oauth1"}) == []


@pytest.mark.parametrize("layer", ["sqla", "cache"])
def test_storage_layers_do_not_import_flask(layer: str) -> None:
    for path in sorted((SRC / layer).rglob("*.py")):
        assert _hits(path, {"flask", "werkzeug", "authgate.flask", "authgate.server"}) == [], path


def test_modules_stay_small() -> None:
    too_long = {str(p.relative_to(SRC)): n for p in SRC.rglob("*.py")
                if (n := len(p.read_text().splitlines())) > 500}
    assert too_long == {}
