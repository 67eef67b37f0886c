"""A device-flow provider written against the flask-oauth2-devices API, running on authgate.

Run it with ``python examples/devices/app.py`` (http://127.0.0.1:5000), then::

    flask --app examples/devices/app.py add-demo   # prints a client id and secret
    curl -u ID:SECRET -d scope=profile http://127.0.0.1:5000/oauth/device

The models, getters, setters and the two handlers are those the seed
documentation shows; what changed is listed in ``docs/devices.md``.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from flask import (
    Flask,
    abort,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from werkzeug.security import check_password_hash, generate_password_hash

from authgate.core.oauth2.device import InvalidUserCodeError, UserCodeUsedError
from authgate.core.oauth2.errors import RateLimitedError
from authgate.core.security import hash_secret, token_digest
from authgate.flask.devices import OAuth2DevicesProvider

db = SQLAlchemy()
csrf = CSRFProtect()
oauth = OAuth2DevicesProvider()


def utcnow() -> dt.datetime:
    """Now, on the provider's clock (tests move it), as a naive UTC datetime."""
    return dt.datetime.fromtimestamp(oauth.clock(), dt.UTC).replace(tzinfo=None)


class User(db.Model):  # type: ignore[name-defined,misc]
    id = db.Column(db.Integer, primary_key=True)
    username = db.Column(db.String(40), unique=True, nullable=False)
    password_hash = db.Column(db.String(255), nullable=False)

    def get_user_id(self) -> int:
        return int(self.id)


class Client(db.Model):  # type: ignore[name-defined,misc]
    client_id = db.Column(db.String(40), primary_key=True)
    #: ``sha256$<hex>``: authgate compares a presented secret against the digest.
    client_secret = db.Column(db.String(80))
    name = db.Column(db.String(80), default="")
    user_id = db.Column(db.ForeignKey("user.id"))  # the developer who registered it
    user = db.relationship("User")
    _client_type = db.Column("client_type", db.String(20), default="confidential")
    _default_scopes = db.Column(db.Text, default="profile")

    @property
    def client_type(self) -> str:
        return str(self._client_type)

    @property
    def default_scopes(self) -> list[str]:
        return self._default_scopes.split() if self._default_scopes else []

    def validate_scopes(self, scopes: list[str]) -> bool:
        return set(scopes) <= {"profile", "email"}


class Code(db.Model):  # type: ignore[name-defined,misc]
    id = db.Column(db.Integer, primary_key=True)
    client_id = db.Column(db.String(40), db.ForeignKey("client.client_id"), nullable=False)
    client = db.relationship("Client")
    user_id = db.Column(db.Integer, db.ForeignKey("user.id"))  # who approved it
    user = db.relationship("User")
    code = db.Column(db.String(16), unique=True)  # the user code, normalised
    device_code_hash = db.Column(db.String(64), unique=True, nullable=False)
    _scopes = db.Column(db.Text)
    expires = db.Column(db.DateTime)
    created = db.Column(db.DateTime)
    interval = db.Column(db.Integer)
    status = db.Column(db.String(16), default="pending")
    is_active = db.Column(db.Integer, default=0)

    @property
    def scopes(self) -> list[str]:
        return self._scopes.split() if self._scopes else []


class Token(db.Model):  # type: ignore[name-defined,misc]
    id = db.Column(db.Integer, primary_key=True)
    client_id = db.Column(db.String(40), db.ForeignKey("client.client_id"), nullable=False)
    client = db.relationship("Client")
    user_id = db.Column(db.Integer, db.ForeignKey("user.id"))
    user = db.relationship("User")
    token_type = db.Column(db.String(40))
    access_token_hash = db.Column(db.String(64), unique=True)
    expires = db.Column(db.DateTime)
    created = db.Column(db.DateTime)
    _scopes = db.Column(db.Text)

    @property
    def scopes(self) -> list[str]:
        return self._scopes.split() if self._scopes else []

    @classmethod
    def create_access_token(cls, token: dict[str, Any], client_id: str, user_id: int) -> Token:
        created = utcnow()
        tok = cls(client_id=client_id, user_id=user_id, token_type=token["token_type"],
                  access_token_hash=token_digest(token["access_token"]),
                  _scopes=token.get("scope", ""), created=created,
                  expires=created + dt.timedelta(seconds=token["expires_in"]))
        db.session.add(tok)
        db.session.commit()
        return tok


# -- getters and setters ---------------------------------------------------------------
@oauth.clientgetter
def load_client(client_id: str) -> Client | None:
    return db.session.get(Client, client_id)


@oauth.authcodegetter
def load_auth_code(code: str) -> Code | None:
    return Code.query.filter_by(code=code).first()


@oauth.authcodesetter
def save_auth_code(code: dict[str, Any], client_id: str, user_id: int | None,
                   *args: Any, **kwargs: Any) -> Code:
    cod = Code(client_id=client_id, user_id=user_id, code=code["code"], _scopes=code["scope"],
               device_code_hash=code["device_code_hash"], interval=code["interval"],
               expires=code["expires"], created=utcnow(), status="pending", is_active=0)
    db.session.add(cod)
    db.session.commit()
    return cod


@oauth.usergetter
def load_user(user_id: Any) -> User | None:
    return db.session.get(User, int(user_id))


@oauth.tokensetter
def save_token(token: dict[str, Any], req: Any) -> Token:
    return Token.create_access_token(token, req.client.client_id, req.user.get_user_id())


@oauth.tokengetter
def load_token(access_token: str | None = None, refresh_token: str | None = None) -> Any:
    if not access_token:
        return None
    return Token.query.filter_by(access_token_hash=token_digest(access_token)).first()


# -- the app ---------------------------------------------------------------------------------
def current_user() -> User | None:
    uid = session.get("id")
    return None if uid is None else db.session.get(User, uid)


def create_app(config: dict[str, Any] | None = None, *, clock: Any = None,
               cache: Any = None) -> Flask:
    app = Flask(__name__)
    app.config.update(SECRET_KEY=secrets.token_hex(32), WTF_CSRF_ENABLED=True,
                      SQLALCHEMY_DATABASE_URI="sqlite:///devices-example.sqlite")
    app.config.update(config or {})
    if clock is not None:
        oauth.clock = clock
    oauth.cache = cache
    db.init_app(app)
    csrf.init_app(app)
    oauth.init_app(app)
    with app.app_context():
        db.create_all()
    register_views(app)
    app.cli.command("add-demo")(add_demo)
    return app


def register_views(app: Flask) -> None:
    @app.route("/oauth/device", methods=["POST"])
    @csrf.exempt
    @oauth.code_handler("/oauth/device/authorize", "/activate", 600, 5)
    def code() -> None:
        return None

    @app.route("/oauth/device/authorize", methods=["POST"])
    @csrf.exempt
    @oauth.authorize_handler()
    def authorize() -> None:
        return None

    @app.route("/oauth/token", methods=["POST"])
    @csrf.exempt
    @oauth.token_handler()
    def token() -> None:
        return None

    @app.route("/api/me")
    @oauth.require_oauth("profile")
    def me() -> Any:
        user = request.oauth.user  # type: ignore[attr-defined]
        return jsonify(username=user.username, sub=str(user.id))

    @app.route("/login", methods=["GET", "POST"])
    def login() -> Any:
        if request.method == "POST":
            user = User.query.filter_by(username=request.form.get("username", "")).first()
            if user and check_password_hash(user.password_hash, request.form.get("password", "")):
                session["id"] = user.id
                target = request.args.get("next", "")
                return redirect(target if target.startswith("/activate") else url_for("activate"))
            return render_template("login.html", error="Wrong username or password."), 400
        return render_template("login.html", error=None)

    @app.route("/activate", methods=["GET", "POST"])
    def activate() -> Any:
        user = current_user()
        if user is None:
            return redirect(url_for("login", next=request.full_path))
        user_code = request.values.get("user_code", "")
        if request.method == "GET":
            return _page("activate.html", user_code=user_code)
        try:
            confirm = request.form.get("confirm")
            if confirm == "yes":
                oauth.approve_user_code(user_code, user)
                return _page("done.html", approved=True)
            if confirm == "no":
                oauth.deny_user_code(user_code)
                return _page("done.html", approved=False)
            prompt = oauth.lookup_user_code(user_code)
        except RateLimitedError as error:
            response = _page("activate.html", user_code="", error=error.render_description())
            response.status_code = 429
            response.headers["Retry-After"] = str(error.retry_after)
            return response
        except (InvalidUserCodeError, UserCodeUsedError) as error:
            response = _page("activate.html", user_code=user_code,
                             error=error.render_description())
            response.status_code = 400
            return response
        return _page("consent.html", prompt=prompt, client=prompt.client)

    @app.route("/oauth/errors")
    def errors() -> Any:
        abort(400)


def _page(template: str, **context: Any) -> Any:
    response = make_response(render_template(template, **context))
    response.headers["X-Frame-Options"] = "DENY"
    return response


def add_demo() -> None:
    """Create user ``alice`` / ``wonderland`` and a confidential client; print its credentials."""
    print(add_client_and_user())


def add_client_and_user(username: str = "alice", password: str = "wonderland",
                        client_type: str = "confidential") -> dict[str, str]:
    user = User.query.filter_by(username=username).first()
    if user is None:
        user = User(username=username, password_hash=generate_password_hash(password))
        db.session.add(user)
        db.session.commit()
    secret = secrets.token_urlsafe(32)
    client = Client(client_id=secrets.token_urlsafe(18), name="Living-room TV",
                    client_secret=hash_secret(secret), user_id=user.id,
                    _client_type=client_type)
    db.session.add(client)
    db.session.commit()
    return {"client_id": client.client_id, "client_secret": secret}


if __name__ == "__main__":
    create_app().run(host="127.0.0.1", port=5000)
