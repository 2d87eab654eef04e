"""The guard of every request a built-in job makes to a URL someone gave it (``api_sync``, the
cron fan-out): no loopback, private, link-local (instance metadata), unique-local, multicast,
unspecified or reserved address unless ``QUEUE_OUTBOUND_ALLOW`` lists it, and never the
deployment's own endpoints (Redis, the AWS endpoint, ``QUEUE_OUTBOUND_DENY``).

The check sits where a connection is opened: the host is resolved once, every address it
resolves to is checked, and the socket is connected to a checked address itself, so a DNS answer
that changes between check and connect (a rebind) reaches nothing new. TLS still verifies and
sends SNI for the host name (urllib3 wraps the socket for ``conn.host``), and the Host header is
the URL's. Redirects open their connections through the same check."""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, cast
from urllib.parse import urlsplit

import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError
from urllib3.util import connection

from relayq.domain.addresses import HostRule, IPAddress, address_class, parse_ip, parse_rule
from relayq.domain.registry import PermanentJobError
from relayq.settings import Settings

Resolve = Callable[[str, int], Sequence[IPAddress]]
DEFAULT_PORTS = {"http": 80, "https": 443, "redis": 6379, "rediss": 6379}


class OutboundRefused(PermanentJobError):
    """A destination the guard does not connect to: the same request would be refused again."""


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address of ``host``, in the resolver's order (socket.gaierror when there is none)."""
    found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(ipaddress.ip_address(str(info[4][0])) for info in found))


def endpoint_rule(url: str) -> HostRule | None:
    """The host and port a URL connects to, as a rule (None when it names none)."""
    try:
        parts = urlsplit(url)
        port = parts.port or DEFAULT_PORTS.get(parts.scheme)
    except ValueError:
        return None
    if not parts.hostname:
        return None
    rule = parse_rule(parts.hostname)
    return HostRule(name=rule.name, network=rule.network, port=port)


class OutboundGuard:
    def __init__(
        self,
        allow: Iterable[str] = (),
        deny: Iterable[str] = (),
        own: Mapping[str, str] | None = None,
        resolver: Resolve = resolve,
    ) -> None:
        """``allow``/``deny``: entries as the settings take them; ``own``: URL -> what it is, the
        deployment's own endpoints (refused, also by the addresses their host names resolve to)."""
        self.allow = tuple(parse_rule(entry) for entry in allow)
        self.deny = tuple((parse_rule(entry), "listed in QUEUE_OUTBOUND_DENY") for entry in deny)
        self.own = tuple((rule, what) for url, what in (own or {}).items() if (rule := endpoint_rule(url)))
        self.resolver = resolver

    @classmethod
    def from_settings(cls, settings: Settings, environ: Mapping[str, str] = os.environ) -> OutboundGuard:
        own = {settings.redis_url: "the deployment's own Redis (QUEUE_REDIS_URL)"}
        for name, value in sorted(environ.items()):
            if name == "AWS_ENDPOINT_URL" or name.startswith("AWS_ENDPOINT_URL_"):
                own[value] = f"the deployment's own AWS endpoint ({name})"
        return cls(settings.outbound_allow, settings.outbound_deny, own)

    def admit(self, host: str, port: int) -> list[IPAddress]:
        """The addresses of ``host`` to connect to, all checked; OutboundRefused names the first
        that may not be called and why. socket.gaierror when the name does not resolve."""
        literal = parse_ip(host)
        addresses = [literal] if literal is not None else list(self.resolver(host, port))
        where = f"{host}:{port}"
        for rule, what in self.deny + self.own:
            if any(rule.matches(host, port, address) for address in addresses):
                raise OutboundRefused(f"refused to call {where}: it is {what}")
        for rule, what in self.own:
            if rule.name is not None and rule.port == port and self._resolves_to(rule.name, port, addresses):
                raise OutboundRefused(f"refused to call {where}: it is {what}")
        for address in addresses:
            kind = address_class(address)
            if kind is not None and not any(rule.matches(host, port, address) for rule in self.allow):
                shown = where if literal is not None else f"{where} ({address})"
                raise OutboundRefused(
                    f"refused to call {shown}: {kind} address, not a public one "
                    "(QUEUE_OUTBOUND_ALLOW lists the internal destinations that may be called)"
                )
        return addresses

    def _resolves_to(self, name: str, port: int, addresses: Sequence[IPAddress]) -> bool:
        try:
            return bool(set(self.resolver(name, port)) & set(addresses))
        except OSError:  # an own endpoint that does not resolve is not where this goes
            return False

    def open_socket(self, conn: HTTPConnection) -> socket.socket:
        """``conn``'s socket, connected to a checked address of its host (in the resolver's order,
        the next on failure, as urllib3 itself does), with urllib3's own errors."""
        port = int(conn.port or 0)
        try:
            addresses = self.admit(conn.host, port)
        except socket.gaierror as error:
            raise NewConnectionError(conn, f"Failed to resolve {conn.host}: {error}") from error
        failure: OSError | None = None
        for address in addresses:
            try:
                return connection.create_connection(
                    (str(address), port),
                    conn.timeout,
                    source_address=conn.source_address,
                    socket_options=conn.socket_options,
                )
            except OSError as error:
                failure = error
        if isinstance(failure, TimeoutError):
            message = f"Connection to {conn.host} timed out. (connect timeout={conn.timeout})"
            raise ConnectTimeoutError(conn, message) from failure
        raise NewConnectionError(conn, f"Failed to establish a new connection: {failure}") from failure

    def pool_manager(self, **options: Any) -> urllib3.PoolManager:
        """A urllib3 PoolManager whose every connection is opened through this guard."""
        manager = urllib3.PoolManager(**options)
        manager.pool_classes_by_scheme = {
            "http": self._pool(HTTPConnectionPool, HTTPConnection),
            "https": self._pool(HTTPSConnectionPool, HTTPSConnection),
        }
        return manager

    def _pool(self, pool: type[HTTPConnectionPool], base: type[HTTPConnection]) -> type[HTTPConnectionPool]:
        guard = self

        def _new_conn(conn: HTTPConnection) -> socket.socket:
            return guard.open_socket(conn)

        connection_class = type(f"Guarded{base.__name__}", (base,), {"_new_conn": _new_conn})
        return cast(
            type[HTTPConnectionPool], type(f"Guarded{pool.__name__}", (pool,), {"ConnectionCls": connection_class})
        )
