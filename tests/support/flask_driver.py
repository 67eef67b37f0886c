"""The scenario driver that goes through a Flask app built with ``authgate.flask.oauth2``."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any
from urllib.parse import urlencode

import flask

from authgate.core.oauth2.grants import ClientCredentialsGrant, ImplicitGrant
from authgate.core.oauth2.pkce import CodeChallenge
from authgate.core.oauth2.stored import grant_classes
from authgate.flask.oauth2 import AuthorizationServer, ResourceProtector, current_token
from tests.support.oauth2 import ISSUER, Resp, StoreValidator, World


def build_app(world: World) -> flask.Flask:
    app = flask.Flask(__name__)
    app.config.update(
        OAUTH2_ISSUER=ISSUER, OAUTH2_CLOCK=world.clock,
        OAUTH2_SCOPES_SUPPORTED=["profile", "email", "admin"],
    )
    store = world.store
    server = AuthorizationServer(app, query_client=store.query_client,
                                 save_token=store.save_token,
                                 revoke_token_family=store.revoke_token_family)
    classes = grant_classes(store)
    server.register_grant(classes.authorization_code, [CodeChallenge(required=False)])
    server.register_grant(ImplicitGrant)
    server.register_grant(classes.password)
    server.register_grant(ClientCredentialsGrant)
    server.register_grant(classes.refresh_token)
    server.register_endpoint(classes.revocation)
    server.register_endpoint(classes.introspection)
    require_oauth = ResourceProtector()
    require_oauth.register_token_validator(StoreValidator(store, realm="api",
                                                          clock=world.clock))

    def current_user() -> Any:
        user_id = flask.request.headers.get("X-Test-User")
        return store.get_user(int(user_id)) if user_id else None

    @app.route("/oauth/authorize", methods=["GET", "POST"])
    def authorize() -> Any:
        user = current_user()
        if flask.request.method == "GET":
            from authgate.oauth2 import OAuth2Error

            try:
                grant = server.get_consent_grant(end_user=user)
            except OAuth2Error as error:
                return server.handle_error_response(error)
            return {"client": grant.client.client_id, "scope": grant.request.scope}
        if flask.request.form.get("confirm") == "yes":
            return server.create_authorization_response(grant_user=user)
        return server.create_authorization_response(grant_user=None)

    app.add_url_rule("/oauth/token", "token", server.create_token_response, methods=["POST"])

    @app.route("/oauth/revoke", methods=["POST"])
    def revoke() -> Any:
        return server.create_endpoint_response("revocation")

    @app.route("/oauth/introspect", methods=["POST"])
    def introspect() -> Any:
        return server.create_endpoint_response("introspection")

    @app.route("/api/me/<path:scope>")
    def me(scope: str) -> Any:
        scopes: Any = scope.split(",") if "," in scope else scope.replace("+", " ")
        with require_oauth.acquire(scopes) as token:
            assert current_token.user_id == token.user_id
            return {"user_id": token.user_id}

    return app


class FlaskDriver:
    name = "flask"

    def __init__(self, world: World) -> None:
        self.world = world
        self.app = build_app(world)
        self.client = self.app.test_client()

    @staticmethod
    def _resp(response: Any) -> Resp:
        return Resp(response.status_code, {k.lower(): v for k, v in response.headers.items()},
                    response.get_data())

    def token(self, data: Any, headers: dict[str, str] | None = None, *, query: str = "",
              content_type: str | None = None, method: str = "POST") -> Resp:
        pairs = list(data.items()) if isinstance(data, dict) else list(data)
        path = "/oauth/token" + (f"?{query}" if query else "")
        kwargs: dict[str, Any] = {"headers": headers or {}, "base_url": ISSUER}
        if content_type is not None:
            kwargs["data"] = urlencode(pairs)
            kwargs["content_type"] = content_type
        else:
            kwargs["data"] = urlencode(pairs)
            kwargs["content_type"] = "application/x-www-form-urlencoded"
        return self._resp(self.client.open(path, method=method, **kwargs))

    def consent(self, params: Any) -> tuple[Any, Any]:
        """What the consent page was given: the client and the scope (or the error page)."""
        pairs = list(params.items()) if isinstance(params, dict) else list(params)
        response = self.client.get("/oauth/authorize?" + urlencode(pairs), base_url=ISSUER,
                                   headers={"X-Test-User": str(self.world.user.id)})
        if response.status_code != 200:
            return None, self._resp(response)
        shown = response.get_json()
        grant = SimpleNamespace(client=self.world.store.query_client(shown["client"]),
                                request=SimpleNamespace(scope=shown["scope"]))
        return grant, None

    def authorize(self, params: Any, *, allow: bool = True, user: Any = None) -> Resp:
        pairs = list(params.items()) if isinstance(params, dict) else list(params)
        who = user or self.world.user
        response = self.client.post(
            "/oauth/authorize?" + urlencode(pairs), base_url=ISSUER,
            data={"confirm": "yes" if allow else "no"},
            headers={"X-Test-User": str(who.id)},
        )
        return self._resp(response)

    def endpoint(self, name: str, data: Any, headers: dict[str, str] | None = None) -> Resp:
        path = {"revocation": "/oauth/revoke", "introspection": "/oauth/introspect"}[name]
        pairs = list(data.items()) if isinstance(data, dict) else list(data)
        return self._resp(self.client.post(path, base_url=ISSUER, data=urlencode(pairs),
                                           content_type="application/x-www-form-urlencoded",
                                           headers=headers or {}))

    def resource(self, token: str | None, scope: Any = "profile") -> Resp:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        path = ",".join(scope) if isinstance(scope, list) else scope
        if isinstance(scope, list) and len(scope) == 1:
            path = scope[0].replace(" ", "+")
        return self._resp(self.client.get(f"/api/me/{path}", base_url=ISSUER, headers=headers))
