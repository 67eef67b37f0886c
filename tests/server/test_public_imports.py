"""The server is built only on the library's public API.

Every ``authgate.*`` import in ``src/authgate/server`` must come from a
module on the allow-list below, and no private (``_x``) name may be imported
from anywhere in authgate. The allow-list is the library's public surface:
the packages documented in ``docs/`` plus the JWT and JWT-bearer modules of
``docs/jwt.md``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SERVER = Path(__file__).resolve().parents[2] / "src" / "authgate" / "server"
PUBLIC_MODULES = {
    "authgate.oauth2",
    "authgate.flask.oauth2",
    "authgate.flask.oauth1",
    "authgate.flask.devices",
    "authgate.sqla.oauth2",
    "authgate.sqla.oauth1",
    "authgate.sqla.device",
    "authgate.cache",
    "authgate.cache.oauth1",
    "authgate.core.http",
    "authgate.core.oauth2.jwt",
    "authgate.core.oauth2.jwt_bearer",
    "authgate.core.oauth2.device",
    # docs/nmos.md: the IS-10 rules (claims, audience, client-credentials scopes).
    "authgate.core.oauth2.nmos",
    # docs/registration.md: InvalidClientMetadataError, for a profile's registration policy.
    "authgate.core.oauth2.errors",
    # The Flask glue's request/response conversion, for endpoints the Flask face has no
    # method for (the legacy device poll).
    "authgate.flask.http",
    # docs/performance.md: lookups and single-use statements compiled once per dialect.
    "authgate.sqla.rows",
}
# ``from authgate.sqla import oauth1`` and the like name a public module as an attribute.
PUBLIC_PACKAGES = {"authgate.sqla", "authgate.cache", "authgate.flask"}


def _library_imports(path: Path) -> list[tuple[str, str | None]]:
    found: list[tuple[str, str | None]] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.extend((node.module, alias.name) for alias in node.names)
        elif isinstance(node, ast.Import):
            found.extend((alias.name, None) for alias in node.names)
    return [(m, n) for m, n in found
            if m.startswith("authgate.") and not m.startswith("authgate.server")]


@pytest.mark.parametrize("path", sorted(SERVER.rglob("*.py")), ids=lambda p: p.name)
def test_server_uses_only_the_public_api(path: Path) -> None:
    bad = []
    for module, name in _library_imports(path):
        as_module = f"{module}.{name}" if module in PUBLIC_PACKAGES and name else None
        if module not in PUBLIC_MODULES and as_module not in PUBLIC_MODULES:
            bad.append(as_module or module)
        if name and name.startswith("_"):
            bad.append(f"{module}.{name}")
        if any(part.startswith("_") for part in module.split(".")):
            bad.append(module)
    assert bad == []


def test_the_check_sees_imports() -> None:
    imports = _library_imports(SERVER / "oauth2.py")
    assert ("authgate.flask.oauth2", "AuthorizationServer") in imports
