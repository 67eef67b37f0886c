"""Fixtures of the device-flow tests: one core server with the device grant registered."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import pytest

from authgate.cache import MemoryCache
from authgate.core.http import Request, Response
from authgate.core.oauth2.config import ServerConfig
from authgate.core.oauth2.device import (
    DEVICE_CODE_GRANT_TYPE,
    DeviceCodeStore,
    DeviceFlow,
    MemoryDeviceStore,
)
from authgate.core.oauth2.memory import MemoryClient, MemoryStore, MemoryUser
from authgate.core.oauth2.stored import create_server

ISSUER = "https://auth.example.test"


@dataclass
class Harness:
    """A core server with the device flow, a confidential and a public client, two users."""

    store: MemoryStore
    devices: DeviceCodeStore
    cache: Any
    flow: DeviceFlow
    server: Any
    client: MemoryClient
    secret: str
    public: MemoryClient
    other: MemoryClient
    other_secret: str
    alice: MemoryUser
    bob: MemoryUser

    def basic(self, client_id: str | None = None, secret: str | None = None) -> dict[str, str]:
        raw = f"{client_id or self.client.client_id}:{secret or self.secret}".encode()
        return {"Authorization": "Basic " + base64.b64encode(raw).decode()}

    def device_authorization(self, form: dict[str, str] | None = None,
                             headers: dict[str, str] | None = None) -> Response:
        request = Request.build("POST", ISSUER + "/oauth/device", form=form or {},
                                headers=headers if headers is not None else self.basic())
        return self.server.create_endpoint_response("device_authorization", request)

    def start(self, scope: str = "profile") -> dict[str, Any]:
        response = self.device_authorization({"scope": scope})
        assert response.status == 200, response.text
        data: dict[str, Any] = response.json()
        return data

    def poll(self, device_code: str, headers: dict[str, str] | None = None,
             form: dict[str, str] | None = None) -> Response:
        body = {"grant_type": DEVICE_CODE_GRANT_TYPE, "device_code": device_code, **(form or {})}
        request = Request.build("POST", ISSUER + "/oauth/token", form=body,
                                headers=headers if headers is not None else self.basic())
        return self.server.create_token_response(request)


def make_harness(clock: Any, devices: DeviceCodeStore | None = None,
                 cache: Any = None) -> Harness:
    store = MemoryStore(clock=clock)
    grant_types = [DEVICE_CODE_GRANT_TYPE, "refresh_token"]
    client, secret = store.add_client(grant_types=grant_types, scope="profile email",
                                      client_name="Living-room TV")
    other, other_secret = store.add_client(grant_types=grant_types, scope="profile")
    public, _ = store.add_client(secret=False, grant_types=grant_types, scope="profile")
    alice = store.add_user("alice", "wonderland")
    bob = store.add_user("bob", "builder")
    server = create_server(store, ServerConfig(issuer=ISSUER, clock=clock))
    devices = devices if devices is not None else MemoryDeviceStore()
    cache = cache if cache is not None else MemoryCache()
    flow = DeviceFlow(devices, cache, query_client=store.query_client,
                      get_user=lambda uid: store.get_user(int(uid)), clock=clock)
    flow.register(server)
    assert secret and other_secret
    return Harness(store, devices, cache, flow, server, client, secret, public, other,
                   other_secret, alice, bob)


@pytest.fixture
def harness(clock: Any) -> Harness:
    return make_harness(clock)
