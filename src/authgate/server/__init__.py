"""The ready-to-run authorization server: ``gunicorn 'authgate.server:create_app()'``.

Built only on authgate's public library API (``tests/server/test_public_imports.py``
holds it to that); see ``docs/server.md``.
"""

from authgate.server.app import create_app

__all__ = ["create_app"]
