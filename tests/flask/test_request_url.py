"""request_url: the same string as werkzeug's ``Request.url``, for every kind of URL;
and the core request's headers: the same as werkzeug's, read from the environ."""

from __future__ import annotations

import random

import pytest
from werkzeug.datastructures import Headers, MultiDict
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from authgate.flask.http import request_url, to_core_request

CASES = [
    ("http://localhost", "/oauth/token", ""),
    ("http://127.0.0.1:4999", "/oauth/authorize", "response_type=code&client_id=a&state=x"),
    ("https://AS.Example.COM", "/oauth1/api/me", "a=1&b=2"),
    ("http://as.example:8080/prefix/", "/oauth/token", ""),
    ("http://as.example", "//double//slash/", "q"),
    ("http://as.example", "/a b", "x=1 2"),
    ("http://as.example", "/caf\u00e9", "q=caf%C3%A9"),
    ("http://as.example", "/%7Euser", "redirect_uri=https%3A%2F%2Fc.example%2Fcb"),
    ("http://xn--n3h.example", "/p", ""),
    ("http://[::1]:8000", "/p", "a=b"),
    ("http://as.example", "/p;params", "a=b;c=d&e=?&f=/"),
    ("http://as.example", "/p", "a=%ZZ&b=%"),
    ("http://as.example:080", "/p", ""),
]


def _request(base_url: str, path: str, query: str) -> Request:
    """The request a WSGI server would hand over: PATH_INFO and QUERY_STRING set raw
    (UTF-8 bytes seen as latin-1, per PEP 3333), not parsed from a URL first."""
    environ = EnvironBuilder(base_url=base_url).get_environ()
    environ["PATH_INFO"] = path.encode().decode("latin-1")
    environ["QUERY_STRING"] = query.encode().decode("latin-1")
    return Request(environ)


@pytest.mark.parametrize(("base_url", "path", "query"), CASES)
def test_same_as_werkzeug(base_url: str, path: str, query: str) -> None:
    req = _request(base_url, path, query)
    assert request_url(req) == req.url


def test_same_as_werkzeug_on_random_urls() -> None:
    """Paths and queries drawn from every character class that matters (reserved,
    unreserved, escapes, spaces, non-ASCII), with a fixed seed."""
    alphabet = "aZ09-._~!$&'()*+,;=:@/?#[]% \"<>\\^`{|}\u00e9\u2603"
    rng = random.Random(20261206)
    for _ in range(2000):
        path = "/" + "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        query = "".join(rng.choice(alphabet.replace("#", "")) for _ in range(rng.randint(0, 12)))
        host = rng.choice(["http://h.example", "https://H.EXAMPLE:8443", "http://[::1]:80"])
        req = _request(host, path.replace("?", ""), query)
        assert request_url(req) == req.url, (host, path, query)


def test_a_request_class_with_its_own_url_keeps_it() -> None:
    class Fixed(Request):
        @property
        def url(self) -> str:  # type: ignore[override]
            return "https://fixed.example/p?q"

    req = Fixed(EnvironBuilder(base_url="http://h.example", path="/x").get_environ())
    assert request_url(req) == "https://fixed.example/p?q"
    assert request_url(req, query=False) == req.base_url == "http://h.example/x"


# -- headers --------------------------------------------------------------------------
def _core_headers(req: Request) -> dict[str, str]:
    core = to_core_request(req)
    return {name: core.headers[name] for name in core.headers}


def test_headers_are_werkzeugs_lower_cased() -> None:
    environ = EnvironBuilder(
        base_url="http://h.example", path="/p", method="POST", data=b"a=b",
        content_type="application/x-www-form-urlencoded",
        headers=[("Authorization", "Bearer abc"), ("X-Forwarded-For", "10.0.0.1"),
                 ("Accept-Language", "fr, en;q=0.5"), ("X_Under_Score", "u")]).get_environ()
    # werkzeug ignores these two; first in the environ, so they would win a setdefault
    environ = {"HTTP_CONTENT_TYPE": "text/evil", "HTTP_CONTENT_LENGTH": "999", **environ,
               "NOT_A_HEADER": "x"}
    req = Request(environ)
    expected = {name.lower(): value for name, value in req.headers.items()}
    assert _core_headers(req) == expected
    assert expected["content-type"] == "application/x-www-form-urlencoded"
    assert expected["authorization"] == "Bearer abc"
    assert "not-a-header" not in expected


def test_empty_body_headers_are_left_out_as_werkzeug_does() -> None:
    environ = EnvironBuilder(base_url="http://h.example", path="/p").get_environ()
    environ["CONTENT_TYPE"] = ""
    environ["CONTENT_LENGTH"] = ""
    req = Request(environ)
    assert "content-type" not in _core_headers(req)
    assert "content-length" not in _core_headers(Request(dict(environ)))


def test_a_request_class_with_its_own_headers_keeps_them() -> None:
    class Extra(Request):
        def __init__(self, environ: dict[str, object]) -> None:
            super().__init__(environ)  # type: ignore[arg-type]
            self.headers = Headers([("Authorization", "Bearer from-the-class")])

    req = Extra(EnvironBuilder(base_url="http://h.example", path="/x",
                               headers={"Authorization": "Bearer from-environ"}).get_environ())
    assert _core_headers(req) == {"authorization": "Bearer from-the-class"}


def test_header_lookups_match_the_full_map() -> None:
    """Looked up one by one (as endpoints do) or listed whole, the same headers."""
    environ = EnvironBuilder(
        base_url="http://h.example", path="/p", method="POST", data=b"a=b",
        content_type="application/x-www-form-urlencoded",
        headers=[("Authorization", "Bearer abc"), ("X_Under_Score", "u"),
                 ("Accept-Language", "fr")]).get_environ()
    environ = {"HTTP_CONTENT_TYPE": "text/evil", **environ, "CONTENT_LENGTH": ""}
    req = Request(environ)
    core = to_core_request(req).headers
    listed = dict(core.items())
    for name in ("Authorization", "AUTHORIZATION", "authorization", "content-type",
                 "Content-Length", "x-under-score", "X_Under_Score", "x_under_score",
                 "accept-language", "missing", "", "HTTP_AUTHORIZATION", "content_type"):
        assert core.get(name) == listed.get(name.lower()), name
        assert (name in core) is (name.lower() in listed), name
    assert core.get("content-type") == "application/x-www-form-urlencoded"
    assert core.get("content-length") is None  # empty, as werkzeug leaves it out
    assert 42 not in core  # type: ignore[operator]
    assert len(core) == len(listed) and "authorization" in repr(core)
    assert "abc" not in repr(core)  # redacted, as for any Headers


def test_query_parameters_with_and_without_a_query_string() -> None:
    with_query = Request(EnvironBuilder(base_url="http://h.example", path="/p",
                                        query_string="a=1&a=2&b=&c=%20x").get_environ())
    assert to_core_request(with_query).query.items_list() == (
        ("a", "1"), ("a", "2"), ("b", ""), ("c", " x"))
    bare = Request(EnvironBuilder(base_url="http://h.example", path="/p").get_environ())
    assert to_core_request(bare).query.items_list() == ()

    class Extra(Request):
        @property
        def args(self) -> MultiDict[str, str]:  # type: ignore[override]
            return MultiDict([("injected", "yes")])

    own = Extra(EnvironBuilder(base_url="http://h.example", path="/p").get_environ())
    assert to_core_request(own).query.items_list() == (("injected", "yes"),)
