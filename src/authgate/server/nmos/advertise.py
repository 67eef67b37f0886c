"""DNS-SD advertisement of the authorization server as ``_nmos-auth._tcp`` (AMWA IS-10).

NMOS Nodes and controllers find their authorization server by browsing for
this service (multicast DNS here; unicast DNS-SD is the operator's zone
file). The TXT record tells them how to talk to it: ``api_proto``
(``http``/``https``), ``api_ver`` (``v1.0``), ``pri`` (lower is preferred;
IS-10 keeps 100 and above for development) and ``api_auth`` (whether the
server's own API needs a token: never, for these endpoints).
"""

from __future__ import annotations

import ipaddress
import logging
import re
import socket
import threading
from collections.abc import Sequence
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import ifaddr
from zeroconf import InterfaceChoice, IPVersion, ServiceInfo, Zeroconf

__all__ = ["DEFAULT_PRIORITY", "SERVICE_TYPE", "Advertiser"]

log = logging.getLogger(__name__)

SERVICE_TYPE = "_nmos-auth._tcp.local."
DEFAULT_PRIORITY = 100  # development range: production systems pick 0-99 on purpose
ALL_INTERFACES = "0.0.0.0"  # noqa: S104 - announcing everywhere is what the operator asked for
_ANYWHERE = frozenset({"", ALL_INTERFACES})


def _label(text: str, limit: int = 63) -> str:
    """A DNS label from free text (RFC 6763 §4.1.1 allows more, hosts do not)."""
    cleaned = re.sub(r"[^A-Za-z0-9-]+", "-", text).strip("-")
    return (cleaned or "authgate")[:limit]


def _ipv4_addresses(bind: str) -> list[str]:
    """The addresses to announce: ``bind`` itself, or every non-loopback IPv4 for 0.0.0.0."""
    if bind not in _ANYWHERE:
        return [bind]
    found = [ip.ip for adapter in ifaddr.get_adapters() for ip in adapter.ips
             if isinstance(ip.ip, str) and not ipaddress.ip_address(ip.ip).is_loopback]
    return found or ["127.0.0.1"]


class Advertiser:
    """Announces one authorization server on one IPv4 address (or all of them).

    ``start`` registers the service (it blocks for the probe, about a second,
    and renames the instance if the name is taken); ``stop`` sends the
    goodbye packets and closes the sockets. Usable as a context manager.
    """

    def __init__(
        self,
        port: int,
        *,
        address: str = "127.0.0.1",
        api_proto: str = "http",
        api_ver: str = "v1.0",
        priority: int = DEFAULT_PRIORITY,
        api_auth: bool = False,
        name: str | None = None,
        host_name: str | None = None,
    ) -> None:
        if api_proto not in {"http", "https"}:
            raise ValueError("api_proto must be 'http' or 'https'")
        if not re.fullmatch(r"v\d+\.\d+", api_ver):
            raise ValueError("api_ver looks like 'v1.0'")
        if not 0 < port < 65536:
            raise ValueError("port out of range")
        if address not in _ANYWHERE and ipaddress.ip_address(address).version != 4:
            raise ValueError("advertise on an IPv4 address, or 0.0.0.0 for every interface")
        self.port = port
        self.address = address
        self.api_proto = api_proto
        self.api_ver = api_ver
        self.priority = int(priority)
        self.api_auth = api_auth
        host = _label(host_name or socket.gethostname())
        self.name = _label(name or f"authgate-{host}-{port}")
        self.host_name = f"{host}.local."
        self._zeroconf: Zeroconf | None = None
        self._info: ServiceInfo | None = None
        self._lock = threading.Lock()

    @classmethod
    def for_issuer(cls, issuer: str, *, address: str | None = None, port: int | None = None,
                   **options: Any) -> Advertiser:
        """An advertiser for a server reached at ``issuer`` (its scheme and port).

        ``address`` defaults to the issuer's host when that is an IPv4
        address, else every interface; ``port`` to the issuer's port.
        """
        parts = urlsplit(issuer)
        chosen_port = port or parts.port or (443 if parts.scheme == "https" else 80)
        if address is None:
            host = parts.hostname or ""
            try:
                address = host if ipaddress.ip_address(host).version == 4 else ALL_INTERFACES
            except ValueError:
                address = ALL_INTERFACES
        return cls(chosen_port, address=address, api_proto=parts.scheme or "http",
                   **options)

    @property
    def properties(self) -> dict[str, str]:
        """The TXT record IS-10 asks for."""
        return {
            "api_proto": self.api_proto,
            "api_ver": self.api_ver,
            "pri": str(self.priority),
            "api_auth": "true" if self.api_auth else "false",
        }

    @property
    def running(self) -> bool:
        return self._zeroconf is not None

    def _interfaces(self) -> Sequence[str] | InterfaceChoice:
        return InterfaceChoice.All if self.address in _ANYWHERE else [self.address]

    def start(self) -> None:
        with self._lock:
            if self._zeroconf is not None:
                return
            info = ServiceInfo(
                SERVICE_TYPE,
                f"{self.name}.{SERVICE_TYPE}",
                port=self.port,
                properties=self.properties,
                server=self.host_name,
                addresses=[socket.inet_aton(a) for a in _ipv4_addresses(self.address)],
            )
            zc = _own_loop_zeroconf(self._interfaces())
            try:
                zc.register_service(info, allow_name_change=True)
            except BaseException:
                zc.close()
                raise
            self._zeroconf, self._info = zc, info
            log.info("advertising %s on %s port %d (%s)", info.name, self.address or ALL_INTERFACES,
                     self.port, self.properties)

    def stop(self) -> None:
        with self._lock:
            zc, info = self._zeroconf, self._info
            self._zeroconf = self._info = None
            if zc is None:
                return
            try:
                if info is not None:
                    zc.unregister_service(info)
            finally:
                zc.close()
            log.info("stopped advertising %s", self.name)

    @property
    def service_name(self) -> str | None:
        """The registered instance name (after any rename), while running."""
        return self._info.name if self._info is not None else None

    def __enter__(self) -> Advertiser:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def __repr__(self) -> str:
        return (f"Advertiser(name={self.name!r}, address={self.address!r}, port={self.port},"
                f" properties={self.properties!r})")


def _own_loop_zeroconf(interfaces: Sequence[str] | InterfaceChoice) -> Zeroconf:
    """A Zeroconf running on its own loop thread, wherever it is started from.

    Zeroconf adopts an event loop running in the thread that makes it, and its
    blocking calls (``register_service``) then wait on that very loop, which
    cannot run while they block (``EventLoopBlocked``). Making it in a thread
    of its own avoids this whoever the caller is (an ASGI server's thread,
    Playwright's sync API in tests).
    """
    made: list[Zeroconf] = []
    failed: list[BaseException] = []

    def make() -> None:
        try:
            made.append(Zeroconf(interfaces=interfaces, ip_version=IPVersion.V4Only))
        except BaseException as error:  # re-raised in the caller's thread
            failed.append(error)

    maker = threading.Thread(target=make, name="authgate-zeroconf-start")
    maker.start()
    maker.join()
    if failed:
        raise failed[0]
    return made[0]
