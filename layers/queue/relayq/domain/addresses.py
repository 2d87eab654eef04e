"""Which network addresses a job may call: the class of an address that is not public (loopback,
private, link-local, ...), IP literals in every spelling a URL host can take, and the host rules of
the allow and deny lists (``QUEUE_OUTBOUND_ALLOW`` / ``QUEUE_OUTBOUND_DENY``). Pure: the guard
that resolves and connects is ``relayq.services.outbound``."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# The classes named in a refusal, first match wins (the metadata address before its range).
_CLASSES: tuple[tuple[IPNetwork, str], ...] = tuple(
    (ipaddress.ip_network(network), name)
    for network, name in (
        ("0.0.0.0/8", "unspecified"),  # 0.0.0.0 reaches the local host on Linux
        ("127.0.0.0/8", "loopback"),
        ("169.254.169.254/32", "link-local (instance metadata)"),
        ("169.254.0.0/16", "link-local"),
        ("10.0.0.0/8", "private"),
        ("172.16.0.0/12", "private"),
        ("192.168.0.0/16", "private"),
        ("100.64.0.0/10", "private (carrier-grade NAT)"),
        ("224.0.0.0/4", "multicast"),
        ("255.255.255.255/32", "broadcast"),
        ("::/128", "unspecified"),
        ("::1/128", "loopback"),
        ("fd00:ec2::254/128", "link-local (instance metadata)"),
        ("fe80::/10", "link-local"),
        ("fec0::/10", "private (site-local)"),
        ("fc00::/7", "unique-local"),
        ("ff00::/8", "multicast"),
    )
)
# IPv6 forms that carry an IPv4 address the packets end up at.
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")

_HOST_NAME = re.compile(r"^(?=.{1,253}$)[a-z0-9_]([a-z0-9_-]{0,62})(\.[a-z0-9_]([a-z0-9_-]{0,62}))*$")
_IPV4_PART = {16: re.compile(r"^[0-9a-f]*$"), 8: re.compile(r"^[0-7]*$"), 10: re.compile(r"^[0-9]+$")}


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address inside an IPv4-mapped, IPv4-compatible, NAT64 or 6to4 IPv6 address."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64 or (address in _IPV4_COMPATIBLE and int(address) > 1):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def address_class(address: IPAddress) -> str | None:
    """Why ``address`` is not a public destination (``"loopback"``, ``"private"``, ...); None when it is."""
    for network, name in _CLASSES:
        if address.version == network.version and address in network:
            return name
    if isinstance(address, ipaddress.IPv6Address) and (inner := embedded_ipv4(address)) is not None:
        inner_class = address_class(inner)
        if inner_class:
            return f"{inner_class} ({inner} inside IPv6)"
        # Mapped, NAT64 (an IPv6-only network's way out) and 6to4 forms of a public address are
        # public; the deprecated IPv4-compatible form has no route.
        return "reserved (IPv4-compatible IPv6)" if address in _IPV4_COMPATIBLE else None
    if not address.is_global:
        return "reserved (not publicly routable)"
    return None


def _ipv4_number(part: str) -> int | None:
    """One dotted part as inet_aton and URL parsers read it: 0x.. hex, 0.. octal, else decimal."""
    if part[:2] in ("0x", "0X"):
        digits, base = part[2:], 16
    elif len(part) > 1 and part[0] == "0":
        digits, base = part[1:], 8
    else:
        digits, base = part, 10
    if len(digits) > 32 or not _IPV4_PART[base].match(digits.lower()):
        return None
    return int(digits, base) if digits else 0


def parse_ip(host: str) -> IPAddress | None:
    """``host`` as an IP address if it is one in any spelling a resolver accepts: ``[::1]``,
    ``127.0.0.1.``, ``127.1``, ``0x7f.1``, ``0177.0.0.1``, ``2130706433``; None for a host name."""
    text = host.strip().lower()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    text = text.removesuffix(".")
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        pass
    parts = text.split(".")
    if not 1 <= len(parts) <= 4 or any(not part for part in parts):
        return None
    numbers = [_ipv4_number(part) for part in parts]
    if any(n is None for n in numbers):
        return None
    *leading, last = [n for n in numbers if n is not None]
    if any(n > 255 for n in leading) or last >= 256 ** (5 - len(parts)):
        return None
    value = last
    for index, n in enumerate(leading):
        value += n << (8 * (3 - index))
    return ipaddress.IPv4Address(value)


def normal_host(host: str) -> str:
    """A host name as compared: lower case, no trailing dot, no IPv6 brackets."""
    return host.strip().lower().removeprefix("[").removesuffix("]").removesuffix(".")


@dataclass(frozen=True)
class HostRule:
    """One allow or deny entry: a host name or a network (an address is a /32 or /128), and a
    port (None: any port)."""

    name: str | None = None
    network: IPNetwork | None = None
    port: int | None = None

    def matches(self, host: str, port: int, address: IPAddress) -> bool:
        if self.port is not None and port != self.port:
            return False
        if self.name is not None:
            return normal_host(host) == self.name
        assert self.network is not None
        return any(a.version == self.network.version and a in self.network for a in _forms(address))

    def __str__(self) -> str:
        where = self.name or str(self.network)
        if self.port is None:
            return where
        return f"[{where}]:{self.port}" if ":" in where else f"{where}:{self.port}"


def _forms(address: IPAddress) -> tuple[IPAddress, ...]:
    """An address and the IPv4 address inside it, so ``127.0.0.0/8`` also covers ``::ffff:127.0.0.1``."""
    if isinstance(address, ipaddress.IPv6Address) and (inner := embedded_ipv4(address)) is not None:
        return address, inner
    return (address,)


def parse_rule(entry: str) -> HostRule:
    """``host``, ``host:port``, an address (any spelling), ``[v6]:port``, or a CIDR (``10.0.0.0/8``,
    ``fd00::/8``, ``10.1.0.0/16:443``). ValueError names what is wrong."""
    text = entry.strip().lower()
    host, port = text, None
    if text.startswith("["):
        inside, bracket, rest = text[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            raise ValueError(f"{entry!r}: an IPv6 address with a port is written [address]:port")
        host, port = inside, rest[1:] or None
    elif text.count(":") == 1:
        host, port = text.split(":")
    number = None
    if port is not None:
        if not port.isdigit() or not 1 <= int(port) <= 65535:
            raise ValueError(f"{entry!r}: the port must be a number from 1 to 65535")
        number = int(port)
    if "/" in host:
        try:
            return HostRule(network=ipaddress.ip_network(host, strict=False), port=number)
        except ValueError:
            raise ValueError(f"{entry!r}: not a network in CIDR notation (10.0.0.0/8, fd00::/8)") from None
    address = parse_ip(host)
    if address is not None:
        return HostRule(network=ipaddress.ip_network(address), port=number)
    name = normal_host(host)
    if not _HOST_NAME.match(name):
        raise ValueError(f"{entry!r}: not a host name, address or network")
    return HostRule(name=name, port=number)
