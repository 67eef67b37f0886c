"""``authgate serve`` with AUTHGATE_ADVERTISE=1: one _nmos-auth._tcp service, from the arbiter.

Every wait is an event or a poll against a deadline, generous because the
suite runs in parallel with servers starting around it: a loaded machine
makes these slow, never wrong.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from authgate.server.nmos import SERVICE_TYPE, Advertiser
from tests.conftest import free_port
from tests.resource_server.test_advertise import (  # noqa: F401 - fixtures
    _Seen,
    browser_zc,
    loopback_multicast,
)
from tests.server.test_shared_state import _running

zeroconf = pytest.importorskip("zeroconf")
BIN = Path(sys.executable).parent
#: Seconds to wait for the announcement, the resolved record, and the goodbye.
WAIT_S = 30.0


def _resolve(zc: Any, full_name: str) -> Any:
    """The service's record, asking again until the deadline (one query can be lost)."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        info = zc.get_service_info(SERVICE_TYPE, full_name, timeout=3000)
        if info is not None:
            return info
    pytest.fail(f"{full_name} did not resolve within {WAIT_S}s")


def test_serve_advertises_once_and_says_goodbye(tmp_path: Path, loopback_multicast: None,  # noqa: F811
                                                browser_zc: object) -> None:  # noqa: F811
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "AUTHGATE_INSTANCE_PATH": str(tmp_path / "instance"),
           "AUTHGATE_DATABASE_URL": f"sqlite:///{tmp_path / 'a.sqlite'}",
           "AUTHGATE_ISSUER": base, "AUTHGATE_PROFILE": "nmos", "AUTHGATE_ADVERTISE": "1",
           "AUTHGATE_ADVERTISE_PRIORITY": "7"}
    full_name = f"{Advertiser.for_issuer(base).name}.{SERVICE_TYPE}"
    seen = _Seen(full_name)
    browser = zeroconf.ServiceBrowser(browser_zc, SERVICE_TYPE, listener=seen)
    try:
        with _running([str(BIN / "authgate"), "serve", "--port", str(port), "--workers", "2"],
                      env, base, tmp_path / "serve.log"):
            # Ask actively: a passive announcement can be missed on a loaded machine.
            info = _resolve(browser_zc, full_name)
            assert info.port == port
            assert info.decoded_properties == {
                "api_proto": "http", "api_ver": "v1.0", "pri": "7", "api_auth": "false"}
            # Two workers, one advertisement: no renamed duplicates ("... (2)").
            assert "(2)" not in (tmp_path / "serve.log").read_text()
        assert seen.removed.wait(WAIT_S), "no goodbye after the server stopped"
    finally:
        browser.cancel()
