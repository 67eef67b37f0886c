"""DNS-SD advertisement of _nmos-auth._tcp, browsed for real over multicast on loopback."""

from __future__ import annotations

import os
import shutil
import socket
import struct
import subprocess
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from authgate.server.nmos import SERVICE_TYPE, Advertiser
from tests.conftest import IN_CI

zeroconf = pytest.importorskip("zeroconf")

MDNS_GROUP = "224.0.0.251"
IFF_MULTICAST = 0x1000


def _loopback_multicast_works(tries: int = 5) -> bool:
    """Multicast loops back on 127.0.0.1: several probes, since one may be lost under load
    (and a false "no" would make the fixture flip lo's flags under other tests' feet)."""
    return any(_probe_once() for _ in range(tries))


def _probe_once() -> bool:
    """Send one datagram to an mDNS-style group on 127.0.0.1 and see it come back."""
    port = 0
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        receiver.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        receiver.bind(("", 0))
        port = receiver.getsockname()[1]
        membership = struct.pack("4s4s", socket.inet_aton(MDNS_GROUP),
                                 socket.inet_aton("127.0.0.1"))
        receiver.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, membership)
        receiver.settimeout(2.0)
        sender.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("127.0.0.1"))
        sender.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)
        sender.sendto(b"authgate-probe", (MDNS_GROUP, port))
        return receiver.recv(64) == b"authgate-probe"
    except OSError:
        return False
    finally:
        receiver.close()
        sender.close()


def _lo_has_multicast_flag() -> bool:
    try:
        with open("/sys/class/net/lo/flags") as flags:
            return bool(int(flags.read(), 16) & IFF_MULTICAST)
    except OSError:
        return True  # not Linux: nothing to switch


@pytest.fixture(scope="module")
def loopback_multicast() -> Iterator[None]:
    """Multicast on 127.0.0.1, switching it on for lo when we are root and it is off."""
    switched = False
    if not _loopback_multicast_works() and not _lo_has_multicast_flag() \
            and os.geteuid() == 0 and shutil.which("ip"):
        switched = subprocess.run(["ip", "link", "set", "lo", "multicast", "on"],
                                  check=False).returncode == 0
    if not _loopback_multicast_works():
        why = ("multicast on 127.0.0.1 does not loop back here (lo flags lack MULTICAST "
               "and we cannot set them)")
        if IN_CI:
            pytest.fail(why)
        pytest.skip(why)
    try:
        yield
    finally:
        if switched:
            subprocess.run(["ip", "link", "set", "lo", "multicast", "off"], check=False)


class _Seen(zeroconf.ServiceListener):
    def __init__(self, name: str) -> None:
        self.name = name
        self.added = threading.Event()
        self.removed = threading.Event()

    def add_service(self, zc: object, type_: str, name: str) -> None:
        if name == self.name:
            self.added.set()

    def remove_service(self, zc: object, type_: str, name: str) -> None:
        if name == self.name:
            self.removed.set()

    def update_service(self, zc: object, type_: str, name: str) -> None:
        pass


@pytest.fixture
def browser_zc() -> Iterator[object]:
    """A Zeroconf on its own loop thread.

    Made in a fresh thread: a Zeroconf made where an event loop is running adopts
    that loop, and Playwright's sync API (the browser tests, in the same xdist
    worker) leaves its loop running in the main thread; the blocking lookups
    here then refuse to run ("Use AsyncServiceInfo.async_request from the event
    loop").
    """
    made: list[object] = []
    maker = threading.Thread(target=lambda: made.append(zeroconf.Zeroconf(
        interfaces=["127.0.0.1"], ip_version=zeroconf.IPVersion.V4Only)))
    maker.start()
    maker.join()
    zc: Any = made[0]
    try:
        yield zc
    finally:
        zc.close()


def test_advertised_on_loopback_and_found_by_a_browser(loopback_multicast: None,
                                                        browser_zc: object) -> None:
    name = f"authgate-test-{uuid.uuid4().hex[:8]}"
    full_name = f"{name}.{SERVICE_TYPE}"
    seen = _Seen(full_name)
    with Advertiser(4999, address="127.0.0.1", priority=42, name=name) as advertiser:
        assert advertiser.service_name == full_name
        browser = zeroconf.ServiceBrowser(browser_zc, SERVICE_TYPE, listener=seen)
        try:
            assert seen.added.wait(10), "the browser never saw the service"
            info = browser_zc.get_service_info(SERVICE_TYPE, full_name, timeout=5000)
            assert info is not None
            assert info.port == 4999
            assert info.parsed_addresses() == ["127.0.0.1"]
            assert info.decoded_properties == {
                "api_proto": "http", "api_ver": "v1.0", "pri": "42", "api_auth": "false"}
            advertiser.stop()
            assert not advertiser.running
            assert seen.removed.wait(10), "no goodbye seen after stop"
        finally:
            browser.cancel()


def test_start_and_stop_are_idempotent(loopback_multicast: None) -> None:
    advertiser = Advertiser(4998, name=f"authgate-test-{uuid.uuid4().hex[:8]}")
    advertiser.stop()  # never started: nothing to do
    advertiser.start()
    advertiser.start()
    assert advertiser.running
    advertiser.stop()
    advertiser.stop()
    assert not advertiser.running and advertiser.service_name is None


def test_txt_record_and_options() -> None:
    advertiser = Advertiser(8443, api_proto="https", priority=5, api_auth=True,
                            name="main auth!", host_name="auth box")
    assert advertiser.properties == {
        "api_proto": "https", "api_ver": "v1.0", "pri": "5", "api_auth": "true"}
    assert advertiser.name == "main-auth" and advertiser.host_name == "auth-box.local."
    assert "main-auth" in repr(advertiser)


@pytest.mark.parametrize("kwargs", [
    {"api_proto": "ftp"}, {"api_ver": "1.0"}, {"address": "::1"}, {"address": "nope"},
])
def test_bad_options(kwargs: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        Advertiser(4999, **kwargs)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Advertiser(0)


@pytest.mark.parametrize(("issuer", "port", "proto", "address"), [
    ("http://127.0.0.1:4999", 4999, "http", "127.0.0.1"),
    ("https://auth.studio.example.com", 443, "https", "0.0.0.0"),
    ("http://auth.local:8080/base", 8080, "http", "0.0.0.0"),
])
def test_for_issuer(issuer: str, port: int, proto: str, address: str) -> None:
    advertiser = Advertiser.for_issuer(issuer, priority=10)
    assert (advertiser.port, advertiser.api_proto, advertiser.address) == (port, proto, address)
    assert advertiser.properties["pri"] == "10"
