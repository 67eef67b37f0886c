"""A small API that trusts the authorization server's JWT access tokens, checked locally.

Configuration comes from the environment (or the mapping given to
:func:`create_app`), with the same names the authorization server uses:

``AUTHGATE_ISSUER``      the authorization server (required), e.g. ``http://127.0.0.1:4999``
``AUTHGATE_AUDIENCE``    what tokens must name in ``aud``; defaults to the issuer,
                         as the ready-to-run server does
``NMOS_AUDIENCE``        this host's name for the NMOS routes (``aud`` entries such as
                         ``*.studio.example.com`` match it); default ``127.0.0.1``
``NMOS_SECURITY``        ``0`` switches the NMOS routes' security off, as the NMOS
                         example's ``SECURITY`` flag does
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import flask

from authgate.core.oauth2.jwt import JWKSClient
from authgate.flask.resource_server import JWTResourceServer, NmosSecurity, current_claims


def _setting(config: Mapping[str, str], name: str, default: str | None = None) -> str | None:
    return config.get(name, os.environ.get(name, default))


def create_app(config: Mapping[str, str] | None = None, *,
               jwks_client: JWKSClient | None = None) -> flask.Flask:
    config = config or {}
    issuer = _setting(config, "AUTHGATE_ISSUER")
    if not issuer:
        raise RuntimeError("set AUTHGATE_ISSUER to the authorization server's URL")
    audience = [a.strip() for a in (_setting(config, "AUTHGATE_AUDIENCE") or issuer).split(",")]
    security = _setting(config, "NMOS_SECURITY", "1") != "0"

    # One key cache for both faces: the JWKS is fetched once, not once per decorator.
    keys = jwks_client or JWKSClient(issuer)
    api = JWTResourceServer(issuer, audience, jwks_client=keys)
    nmos = JWTResourceServer(issuer, _setting(config, "NMOS_AUDIENCE", "127.0.0.1") or "",
                             jwks_client=keys, nmos=True)

    senders: dict[str, dict[str, Any]] = {}
    app = flask.Flask(__name__)
    nmos.init_app(app)  # what @NmosSecurity uses

    @app.get("/")
    def index() -> Any:
        return {"api": ["/api/me", "/api/notes"], "nmos": ["/x-nmos/connection/v1.1/"]}

    @app.get("/api/me")
    @api.require("profile")
    def me() -> Any:
        return {"sub": current_claims.sub, "client_id": current_claims.client_id,
                "scope": current_claims.scope}

    @app.post("/api/notes")
    @api.require("notes:write")
    def add_note() -> Any:
        return {"saved": flask.request.get_json(silent=True), "by": current_claims.sub}, 201

    # NMOS-style routes, secured as in the NMOS example: the API comes from the path.
    @app.get("/x-nmos/connection/v1.1/")
    @NmosSecurity(condition=security)
    def connection_root() -> Any:
        return flask.jsonify(["bulk/", "single/"])

    @app.get("/x-nmos/connection/v1.1/single/senders/<sender_id>/staged")
    @NmosSecurity(condition=security)
    def get_staged(sender_id: str) -> Any:
        return senders.get(sender_id, {"master_enable": False})

    @app.patch("/x-nmos/connection/v1.1/single/senders/<sender_id>/staged")
    @NmosSecurity(condition=security)
    def patch_staged(sender_id: str) -> Any:
        staged = senders.setdefault(sender_id, {"master_enable": False})
        staged.update(flask.request.get_json(silent=True) or {})
        return staged

    return app
