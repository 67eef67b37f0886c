"""Sign-up, sign-in and sign-out pages through the test client, hostile cases included."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from authgate.server.models import AuditEvent, User
from tests.conftest import FrozenClock
from tests.server.conftest import PASSWORD, Server, csrf_of

STRONG = "correct horse battery"


def _page(web, path: str) -> str:
    answer = web.get(path)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return answer.get_data(as_text=True)


def _signup(web, username: str = "bob", password: str = STRONG, scope=("profile",),
            path: str = "/signup"):
    token = csrf_of(_page(web, path))
    return web.post(path, data={"username": username, "password": password,
                                "scope": list(scope), "csrf_token": token})


def _session(web) -> dict:
    with web.session_transaction() as session:
        return dict(session)


def test_signup_creates_the_user_with_rights_and_signs_in(server: Server) -> None:
    web = server.app.test_client()
    answer = _signup(web, scope=("profile", "email"))
    assert answer.status_code == 303 and answer.headers["Location"] == "/"
    with server.app.app_context():
        user = server.state.db.session.query(User).filter_by(username="bob").one()
        assert user.scope_list == ["profile", "email"] and user.check_password(STRONG)
        assert user.password_hash.startswith("$argon2id$")
        assert _session(web)["user_id"] == user.id
    assert "Hello, bob" in _page(web, "/")


def test_signup_page_offers_the_server_scopes_with_labels(server: Server) -> None:
    html = _page(server.app.test_client(), "/signup")
    for name in ("username", "password"):
        assert f'<label for="{name}">' in html and f'id="{name}" name="{name}"' in html
    assert 'name="scope" value="profile"' in html and 'name="scope" value="email"' in html
    assert '<html lang="en">' in html and "<main" in html and 'name="csrf_token"' in html


def test_signup_under_nmos_stores_canonical_access_rights(make_server) -> None:
    server = make_server(AUTHGATE_PROFILE="nmos")
    web = server.app.test_client()
    html = _page(web, "/signup")
    assert 'value="query:read"' in html and 'value="connection"' in html
    answer = _signup(web, scope=("registration", "query:read", "connection:read", "connection"))
    assert answer.status_code == 303, answer.get_data(as_text=True)
    with server.app.app_context():
        user = server.state.db.session.query(User).filter_by(username="bob").one()
        assert user.scopes == "connection query:read registration"
    web2 = server.app.test_client()
    answer = _signup(web2, "carol", scope=("regstration",))
    assert answer.status_code == 400 and "regstration" in answer.get_data(as_text=True)
    assert server.count(User) == 1


@pytest.mark.parametrize(("username", "password", "scope", "field"), [
    ("alice", STRONG, ("profile",), "username"),        # taken
    ("", STRONG, ("profile",), "username"),
    ("has space", STRONG, ("profile",), "username"),
    ("x" * 81, STRONG, ("profile",), "username"),
    ("bob", "", ("profile",), "password"),
    ("bob", "short1", ("profile",), "password"),
    ("bob", "password123", ("profile",), "password"),
    ("bob", "aaaaaaaaaaaaaaa", ("profile",), "password"),
    ("bob", "bob-is-my-password", ("profile",), "password"),
    ("bob", STRONG, ("admin",), "scope"),
])
def test_signup_refuses_bad_fields_next_to_them(server: Server, username: str, password: str,
                                                scope: tuple[str, ...], field: str) -> None:
    server.user("alice")
    web = server.app.test_client()
    answer = _signup(web, username, password, scope)
    html = answer.get_data(as_text=True)
    assert answer.status_code == 400
    assert f'id="{field}-error"' in html and 'aria-invalid="true"' in html
    assert server.count(User) == 1 and "user_id" not in _session(web)


def test_signup_and_login_refuse_missing_and_forged_csrf(server: Server) -> None:
    server.user()
    web = server.app.test_client()
    _page(web, "/signup")
    for extra in ({}, {"csrf_token": "forged"}):
        answer = web.post("/signup", data={"username": "bob", "password": STRONG, **extra})
        assert answer.status_code == 400 and 'id="error"' in answer.get_data(as_text=True)
        answer = web.post("/login", data={"username": "alice", "password": PASSWORD, **extra})
        assert answer.status_code == 400
    assert server.count(User) == 1 and "user_id" not in _session(web)


def test_a_csrf_token_of_another_session_is_refused(server: Server) -> None:
    server.user()
    theirs = server.app.test_client()
    token = csrf_of(_page(theirs, "/login"))
    mine = server.app.test_client()
    _page(mine, "/login")
    answer = mine.post("/login", data={"username": "alice", "password": PASSWORD,
                                       "csrf_token": token})
    assert answer.status_code == 400 and "user_id" not in _session(mine)


def test_login_starts_a_new_session(server: Server) -> None:
    server.user()
    web = server.app.test_client()
    token = csrf_of(_page(web, "/login"))
    with web.session_transaction() as session:
        session["planted"] = "by an attacker"
        before = dict(session)
    answer = web.post("/login", data={"username": "alice", "password": PASSWORD,
                                      "csrf_token": token})
    assert answer.status_code == 303
    after = _session(web)
    assert "planted" not in after and after["sid"] and after["user_id"]
    assert after.get("csrf_token") != before.get("csrf_token")  # the old form token is gone
    server.login(web)
    assert _session(web)["sid"] != after["sid"]


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil.example",
                                    "/\tevil", "javascript:alert(1)", "evil.example/x"])
def test_next_only_goes_to_paths_here(server: Server, target: str) -> None:
    server.user()
    web = server.app.test_client()
    query = "?" + urlencode({"next": target})
    token = csrf_of(_page(web, "/login" + query))
    answer = web.post("/login" + query, data={"username": "alice", "password": PASSWORD,
                                              "csrf_token": token})
    assert answer.status_code == 303 and answer.headers["Location"] == "/"
    answer = _signup(server.app.test_client(), "bob" + str(abs(hash(target)) % 1000),
                     path="/signup" + query)
    assert answer.status_code == 303 and answer.headers["Location"] == "/"


def test_next_follows_a_path_here(server: Server) -> None:
    server.user()
    web = server.app.test_client()
    query = "?" + urlencode({"next": "/create_client?x=1"})
    token = csrf_of(_page(web, "/login" + query))
    answer = web.post("/login" + query, data={"username": "alice", "password": PASSWORD,
                                              "csrf_token": token})
    assert answer.headers["Location"] == "/create_client?x=1"


def test_pages_needing_a_user_send_to_login_with_next(server: Server) -> None:
    web = server.app.test_client()
    for path in ("/create_client", "/activate?user_code=BCDF-GHJK"):
        answer = web.get(path)
        assert answer.status_code == 302
        location = urlsplit(answer.headers["Location"])
        assert location.path == "/login" and parse_qs(location.query) == {"next": [path]}


def test_failed_logins_are_limited_per_username(make_server) -> None:
    clock = FrozenClock.at_hour_start()
    server = make_server(AUTHGATE_CLOCK=clock)
    server.user()
    web = server.app.test_client()
    token = csrf_of(_page(web, "/login"))

    def attempt(password: str, username: str = "alice", address: str = "10.0.0.1"):
        return web.post("/login", data={"username": username, "password": password,
                                        "csrf_token": token},
                        environ_base={"REMOTE_ADDR": address})

    for i in range(5):
        assert attempt("wrong", address=f"10.0.0.{i}").status_code == 401
    refused = attempt(PASSWORD, address="10.0.1.1")  # right password, other address: still no
    assert refused.status_code == 429 and 0 < int(refused.headers["Retry-After"]) <= 901
    assert "Too many attempts" in refused.get_data(as_text=True)
    assert attempt(PASSWORD, "ALICE").status_code == 429  # the same name, other case
    assert "user_id" not in _session(web)
    clock.advance(int(refused.headers["Retry-After"]))
    assert attempt(PASSWORD).status_code == 303
    with server.state.db.session_factory() as session:
        assert session.query(AuditEvent).filter_by(kind="user.login.limited").count() == 2


def test_failed_logins_are_limited_per_address(make_server) -> None:
    server = make_server(AUTHGATE_CLOCK=FrozenClock.at_hour_start())  # no window ends mid-test
    server.user()
    web = server.app.test_client()
    token = csrf_of(_page(web, "/login"))
    for i in range(30):
        answer = web.post("/login", data={"username": f"nobody{i}", "password": "x",
                                          "csrf_token": token})
        assert answer.status_code == 401
    answer = web.post("/login", data={"username": "alice", "password": PASSWORD,
                                      "csrf_token": token})
    assert answer.status_code == 429 and answer.headers["Retry-After"].isdigit()
    other = server.app.test_client()
    answer = other.post("/login", environ_base={"REMOTE_ADDR": "10.9.9.9"}, data={
        "username": "alice", "password": PASSWORD, "csrf_token": csrf_of(_page(other, "/login"))})
    assert answer.status_code == 303


@pytest.mark.redis
def test_login_limits_are_shared_through_redis(make_server, redis_url: str,
                                               redis_prefix: str) -> None:
    config = {"AUTHGATE_REDIS_URL": redis_url, "AUTHGATE_REDIS_PREFIX": redis_prefix}
    first = make_server(**config)
    first.user()
    second = make_server(**config)  # another instance on the same database and Redis
    for server in (first, second, first, second, first):
        web = server.app.test_client()
        answer = web.post("/login", data={"username": "alice", "password": "wrong",
                                          "csrf_token": csrf_of(_page(web, "/login"))})
        assert answer.status_code == 401
    web = second.app.test_client()
    answer = web.post("/login", data={"username": "alice", "password": PASSWORD,
                                      "csrf_token": csrf_of(_page(web, "/login"))})
    assert answer.status_code == 429


def test_logout_needs_post_with_csrf(server: Server) -> None:
    server.user()
    web = server.app.test_client()
    server.login(web)
    html = _page(web, "/logout")
    assert "Sign out?" in html
    assert web.post("/logout", data={}).status_code == 400
    assert "user_id" in _session(web)
    answer = web.post("/logout", data={"csrf_token": csrf_of(html)})
    assert answer.status_code == 303 and "user_id" not in _session(web)
    assert web.get("/logout").status_code == 302


def test_sign_ins_are_audited_without_the_password(server: Server) -> None:
    server.user()
    web = server.app.test_client()
    token = csrf_of(_page(web, "/login"))
    web.post("/login", data={"username": "alice", "password": "wrong-guess-1",
                             "csrf_token": token})
    server.login(web)
    with server.state.db.session_factory() as session:
        kinds = [e.kind for e in session.query(AuditEvent).order_by(AuditEvent.id)
                 if e.kind.startswith("user.login")]
        details = " ".join(e.detail for e in session.query(AuditEvent))
    assert kinds == ["user.login_failed", "user.login"]
    assert "wrong-guess-1" not in details and PASSWORD not in details
