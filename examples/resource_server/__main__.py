"""``AUTHGATE_ISSUER=http://127.0.0.1:4999 python -m examples.resource_server`` (port 5001)."""

from __future__ import annotations

import os

from .app import create_app

if __name__ == "__main__":
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "5001"))
    app = create_app()
    print(f"example resource server on http://{host}:{port}/ "
          f"(tokens from {os.environ['AUTHGATE_ISSUER']})")
    app.run(host=host, port=port)
