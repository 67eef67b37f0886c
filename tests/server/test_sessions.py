"""The server's signed-cookie sessions: the signing serializer is kept between requests,
and only for the keys it was made with."""

from __future__ import annotations


def test_the_serializer_is_kept_and_follows_the_keys(server) -> None:
    server.user("alice")
    web = server.app.test_client()
    server.login(web)

    def signed_in() -> bool:  # the home page names the user only to a signed-in one
        return "alice" in web.get("/").get_data(as_text=True)

    assert signed_in()
    interface = server.app.session_interface
    kept = interface.get_signing_serializer(server.app)
    assert interface.get_signing_serializer(server.app) is kept  # built once

    old_key = server.app.secret_key
    server.app.secret_key = "a-new-secret-key-for-the-rotation-test"
    assert interface.get_signing_serializer(server.app) is not kept
    assert not signed_in()  # the cookie signed with the old key no longer counts

    server.app.config["SECRET_KEY_FALLBACKS"] = [old_key]  # the old cookie is good again
    assert signed_in()
