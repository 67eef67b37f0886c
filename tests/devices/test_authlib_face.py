"""The device flow on the Authlib-style Flask server: the same engine, SQLAlchemy-stored."""

from __future__ import annotations

import base64

import flask
from sqlalchemy import Integer, create_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker

from authgate.cache import MemoryCache
from authgate.core.oauth2.device import DEVICE_CODE_GRANT_TYPE, DeviceFlow
from authgate.flask.oauth2 import AuthorizationServer
from authgate.oauth2 import MemoryStore, grant_classes
from authgate.sqla.device import DeviceCodeMixin, SQLDeviceStore


class Base(DeclarativeBase):
    pass


class DeviceCode(Base, DeviceCodeMixin):
    __tablename__ = "device_code"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)


def test_device_flow_through_the_flask_authorization_server(tmp_path, clock):
    engine = create_engine(f"sqlite:///{tmp_path / 'devices.sqlite'}")
    Base.metadata.create_all(engine)
    sessions = sessionmaker(engine)
    store = MemoryStore(clock=clock)
    client, secret = store.add_client(grant_types=[DEVICE_CODE_GRANT_TYPE], scope="profile",
                                      client_name="TV")
    alice = store.add_user("alice", "pw")
    flow = DeviceFlow(SQLDeviceStore(sessions, DeviceCode), MemoryCache(clock=clock),
                      query_client=store.query_client,
                      get_user=lambda uid: store.get_user(int(uid)), clock=clock)

    app = flask.Flask(__name__)
    app.config.update(OAUTH2_ISSUER="https://auth.test", OAUTH2_CLOCK=clock)
    server = AuthorizationServer(app, query_client=store.query_client,
                                 save_token=store.save_token)
    server.register_grant(flow.grant_class)
    server.register_endpoint(flow.endpoint_class)
    server.register_endpoint(grant_classes(store).revocation)

    @app.post("/oauth/device")
    def device():
        return server.create_endpoint_response("device_authorization")

    app.add_url_rule("/oauth/token", "token", server.create_token_response, methods=["POST"])

    @app.get("/meta")
    def metadata():
        return server.create_metadata_response()

    web = app.test_client()
    auth = {"Authorization": "Basic " + base64.b64encode(
        f"{client.client_id}:{secret}".encode()).decode()}
    started = web.post("/oauth/device", data={"scope": "profile"}, headers=auth,
                       base_url="https://auth.test").get_json()
    assert started["verification_uri"] == "https://auth.test/activate"
    assert started["verification_uri_complete"].endswith(started["user_code"])
    poll = {"grant_type": DEVICE_CODE_GRANT_TYPE, "device_code": started["device_code"]}
    pending = web.post("/oauth/token", data=poll, headers=auth, base_url="https://auth.test")
    assert pending.status_code == 400
    assert pending.get_json()["error"] == "authorization_pending"

    with sessions() as session:  # only the digest of the device code is stored
        row = session.query(DeviceCode).one()
        assert started["device_code"] not in (row.device_code_hash, row.user_code)

    flow.approve(started["user_code"].lower().replace("-", " "), alice)
    clock.advance(started["interval"])
    done = web.post("/oauth/token", data=poll, headers=auth, base_url="https://auth.test")
    assert done.status_code == 200, done.get_data()
    assert done.get_json()["token_type"] == "Bearer"
    assert store.tokens[-1].user_id == alice.id
    clock.advance(started["interval"])
    again = web.post("/oauth/token", data=poll, headers=auth, base_url="https://auth.test")
    assert again.status_code == 400 and len(store.tokens) == 1

    document = web.get("/meta", base_url="https://auth.test").get_json()
    assert document["device_authorization_endpoint"] == "https://auth.test/oauth/device"
    assert DEVICE_CODE_GRANT_TYPE in document["grant_types_supported"]
