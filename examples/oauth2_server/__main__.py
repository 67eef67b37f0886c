"""``python -m examples.oauth2_server``: serve the example on 127.0.0.1:4999."""

from __future__ import annotations

import os

from .app import create_app

if __name__ == "__main__":
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "4999"))
    app = create_app()
    print(f"authgate example OAuth 2.0 provider on http://{host}:{port}/")
    app.run(host=host, port=port)
