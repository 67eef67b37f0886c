"""The base URL the OAuth 1 glue signs against is werkzeug's ``request.base_url``, exactly.

The signature base string URI (RFC 5849 §3.4.1.2) starts from it, so any
difference would refuse good signatures or accept wrong ones.
"""

from __future__ import annotations

import flask
import pytest
from werkzeug.exceptions import SecurityError
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.test import EnvironBuilder

from authgate.flask.http import request_url

PATHS = ["/", "/oauth1/api/me", "/caf\u00e9/x", "/a b/c", "/a%2Fb", "/a%25b", "/q%3Fx",
         "/semi;colon", "/~user/._-", "//double", "/\u00fc\u00f1\u00ee/\U0001f600"]
HOSTS = [None, "example.com", "Example.COM:80", "example.com:8443", "127.0.0.1:5000",
         "[::1]:8080", "[::1]", "bad host", "h\u00e9.example"]


def _base_url(request: flask.Request) -> str:
    return request_url(request, query=False)


def _environs() -> list[dict]:
    environs = []
    for scheme in ("http", "https"):
        for host in HOSTS:
            for path in PATHS:
                for script in ("", "/mount", "/m\u00f6unt/"):
                    builder = EnvironBuilder(path=path, base_url=f"{scheme}://server.test:81"
                                             f"{script}")
                    environ = builder.get_environ()
                    if host is None:
                        environ.pop("HTTP_HOST", None)
                    else:
                        environ["HTTP_HOST"] = host
                    environs.append(environ)
    return environs


def test_base_url_matches_werkzeug() -> None:
    app = flask.Flask(__name__)
    for environ in _environs():
        with app.request_context(dict(environ)):
            fresh = flask.Request(dict(environ))
            assert _base_url(flask.request._get_current_object()) == fresh.base_url, environ


def test_untrusted_host_still_raises() -> None:
    app = flask.Flask(__name__)
    app.config["TRUSTED_HOSTS"] = ["good.example"]
    good = EnvironBuilder(path="/x", base_url="http://good.example").get_environ()
    bad = EnvironBuilder(path="/x", base_url="http://evil.example").get_environ()
    with app.request_context(good):
        assert _base_url(flask.request._get_current_object()) == "http://good.example/x"
    with app.request_context(bad):
        request = flask.request._get_current_object()
        request.trusted_hosts = ["good.example"]
        with pytest.raises(SecurityError):
            _base_url(request)


def test_proxy_fix_is_seen() -> None:
    app = flask.Flask(__name__)
    seen: dict[str, str] = {}

    @app.get("/r")
    def r() -> str:
        seen["ours"] = _base_url(flask.request._get_current_object())
        seen["werkzeug"] = flask.request.base_url
        return ""

    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1, x_port=1,  # type: ignore[method-assign]
                            x_prefix=1)
    app.test_client().get("/r", headers={"X-Forwarded-Proto": "https",
                                         "X-Forwarded-Host": "api.example",
                                         "X-Forwarded-Port": "8443",
                                         "X-Forwarded-Prefix": "/pre"})
    assert seen["ours"] == seen["werkzeug"] == "https://api.example:8443/pre/r"


def test_custom_request_class_keeps_its_property() -> None:
    class Fixed(flask.Request):
        @property
        def base_url(self) -> str:  # type: ignore[override]
            return "https://fixed.example/p"

    app = flask.Flask(__name__)
    app.request_class = Fixed
    with app.test_request_context("/anything"):
        assert _base_url(flask.request._get_current_object()) == "https://fixed.example/p"
