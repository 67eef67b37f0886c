"""The core request's form: the same parameters as werkzeug's ``request.form``,
whichever way it was parsed, and ``request.form`` still right for the view after."""

from __future__ import annotations

import io
import random

import flask
import pytest
from werkzeug.test import EnvironBuilder

from authgate.flask.http import to_core_request

URLENCODED = "application/x-www-form-urlencoded"
BODIES = [
    b"",
    b"grant_type=client_credentials&scope=profile+email",
    b"a=1&a=2&b=&c",
    b"redirect_uri=https%3A%2F%2Fc.example%2Fcb%3Fx%3D1&state=%20%2B",
    b"bad=%ZZ&half=%&utf8=caf%C3%A9&latin=caf%E9",
    b"semi=a;b&amp=&&=v",
    b"raw=caf\xc3\xa9",
    b"undecodable=\xff\xfe",  # werkzeug gives no parameters at all
]


def _by_name(items: list[tuple[str, str]]) -> dict[str, list[str]]:
    """Each name's values in order (werkzeug's ``items(multi=True)`` groups them by name)."""
    found: dict[str, list[str]] = {}
    for name, value in items:
        found.setdefault(name, []).append(value)
    return found


def _environ(body: bytes, content_type: str = URLENCODED) -> dict[str, object]:
    return EnvironBuilder(method="POST", path="/token", data=body,
                          content_type=content_type).get_environ()


def _werkzeug_form(body: bytes, content_type: str = URLENCODED) -> list[tuple[str, str]]:
    """What a fresh request's ``form`` holds, parsed by werkzeug alone."""
    with flask.Flask("reference").app_context():
        return list(flask.Request(_environ(body, content_type)).form.items(multi=True))


def _core_form(app: flask.Flask, environ: dict[str, object]) -> tuple[list[tuple[str, str]],
                                                                      flask.Request]:
    request = flask.Request(environ)
    with app.app_context():
        core = to_core_request(request)
    return list(core.form.items_list()), request


@pytest.fixture
def app() -> flask.Flask:
    return flask.Flask("under_test")


@pytest.mark.parametrize("body", BODIES)
def test_same_parameters_as_werkzeug_and_the_view_sees_them_too(app, body):
    expected = _werkzeug_form(body)
    got, request = _core_form(app, _environ(body))
    assert _by_name(got) == _by_name(expected)
    with app.app_context():
        assert list(request.form.items(multi=True)) == expected  # set for the view
        assert not request.files
        assert request.stream.read() == b""  # the body was read once


def test_same_parameters_as_werkzeug_on_random_bodies(app):
    alphabet = [b"a", b"Z", b"0", b"=", b"&", b";", b"+", b"%", b"%2", b"%41", b"%C3%A9",
                b"%ff", b" ", b"\xc3\xa9", b"-", b".", b"_", b"~"]
    rng = random.Random(20261207)
    for _ in range(500):
        body = b"".join(rng.choice(alphabet) for _ in range(rng.randint(0, 16)))
        got, _ = _core_form(app, _environ(body))
        assert _by_name(got) == _by_name(_werkzeug_form(body)), body


def test_a_body_already_read_with_get_data_is_still_parsed(app):
    request = flask.Request(_environ(b"grant_type=client_credentials&x=1"))
    with app.app_context():
        assert request.get_data(cache=True) == b"grant_type=client_credentials&x=1"
        core = to_core_request(request)
    assert core.form.get("grant_type") == "client_credentials" and core.form.get("x") == "1"


def test_a_form_the_view_already_read_is_reused(app):
    request = flask.Request(_environ(b"a=1"))
    with app.app_context():
        form = request.form
        to_core_request(request)
        assert request.form is form


def test_multipart_and_other_bodies(app):
    builder = EnvironBuilder(method="POST", path="/token",
                             data={"grant_type": "client_credentials", "scope": "a b"})
    environ = builder.get_environ()
    got, _ = _core_form(app, environ)
    assert sorted(got) == [("grant_type", "client_credentials"), ("scope", "a b")]
    json_environ = _environ(b'{"grant_type": "client_credentials"}', "application/json")
    got, _ = _core_form(app, json_environ)
    assert got == []


def test_max_content_length_still_answers_413(app):
    app.config["MAX_CONTENT_LENGTH"] = 10

    @app.post("/token")
    def token():
        return {"form": dict(to_core_request().form.items())}

    response = app.test_client().post("/token", data={"grant_type": "client_credentials"})
    assert response.status_code == 413
    app.config["MAX_CONTENT_LENGTH"] = 100
    response = app.test_client().post("/token", data={"grant_type": "client_credentials"})
    assert response.status_code == 200
    assert response.json == {"form": {"grant_type": "client_credentials"}}


def test_debug_mode_and_request_subclasses_take_werkzeugs_path(app):
    class OwnRequest(flask.Request):
        @property
        def form(self):  # type: ignore[override]
            parsed = flask.Request.form.__get__(self).copy()
            parsed["extra"] = "yes"
            return parsed

    environ = _environ(b"a=1")
    with app.app_context():
        core = to_core_request(OwnRequest(environ))
    assert dict(core.form.items()) == {"a": "1", "extra": "yes"}

    app.debug = True
    request = flask.Request(_environ(b"a=1"))
    with app.app_context():
        core = to_core_request(request)
        assert dict(core.form.items()) == {"a": "1"}
        with pytest.raises(KeyError) as raised:
            request.files["a"]  # Flask's debug helper explains the enctype
    assert "enctype" in str(raised.value)


def test_outside_an_application_context(app):
    core = to_core_request(flask.Request(_environ(b"grant_type=client_credentials")))
    assert core.form.get("grant_type") == "client_credentials"


def test_a_short_body_is_a_client_disconnect(app):
    environ = _environ(b"grant_type=client_credentials")
    environ["wsgi.input"] = io.BytesIO(b"grant_type=cl")  # the client went away
    with app.app_context(), pytest.raises(Exception) as raised:
        to_core_request(flask.Request(environ))
    assert getattr(raised.value, "code", None) == 400
