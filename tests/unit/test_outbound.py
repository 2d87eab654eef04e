"""What the outbound guard lets a job call: every address class that is not public (IPv4, IPv6,
IPv4 inside IPv6), every spelling of an IP literal, the allow and deny rules, and the decision
for a host after resolution (with a resolver of the test's own: no network)."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Mapping, Sequence

import pytest
from pydantic import ValidationError

from relayq.domain.addresses import HostRule, IPAddress, address_class, parse_ip, parse_rule
from relayq.services.outbound import OutboundGuard, OutboundRefused, Resolve
from relayq.settings import Settings


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("127.255.255.254", "loopback"),
        ("::1", "loopback"),
        ("169.254.169.254", "link-local (instance metadata)"),
        ("169.254.170.2", "link-local"),  # the ECS task metadata endpoint
        ("fe80::1", "link-local"),
        ("fe80::1%eth0", "link-local"),
        ("febf:ffff::1", "link-local"),
        ("fd00:ec2::254", "link-local (instance metadata)"),
        ("10.0.0.1", "private"),
        ("10.255.255.255", "private"),
        ("172.16.0.1", "private"),
        ("172.31.255.254", "private"),
        ("192.168.1.1", "private"),
        ("100.64.0.1", "private (carrier-grade NAT)"),
        ("100.127.255.254", "private (carrier-grade NAT)"),
        ("fc00::1", "unique-local"),
        ("fd12:3456::1", "unique-local"),
        ("fec0::1", "private (site-local)"),
        ("224.0.0.1", "multicast"),
        ("239.255.255.250", "multicast"),
        ("ff02::1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("0.1.2.3", "unspecified"),
        ("::", "unspecified"),
        ("255.255.255.255", "broadcast"),
        ("192.0.2.1", "reserved (not publicly routable)"),  # documentation
        ("198.18.0.1", "reserved (not publicly routable)"),  # benchmarking
        ("240.0.0.1", "reserved (not publicly routable)"),
        ("2001:db8::1", "reserved (not publicly routable)"),
        # IPv4 inside IPv6: mapped, compatible, NAT64, 6to4.
        ("::ffff:127.0.0.1", "loopback (127.0.0.1 inside IPv6)"),
        ("::ffff:7f00:1", "loopback (127.0.0.1 inside IPv6)"),
        ("::ffff:169.254.169.254", "link-local (instance metadata) (169.254.169.254 inside IPv6)"),
        ("::ffff:10.1.2.3", "private (10.1.2.3 inside IPv6)"),
        ("::ffff:100.64.0.1", "private (carrier-grade NAT) (100.64.0.1 inside IPv6)"),
        ("::ffff:0.0.0.0", "unspecified (0.0.0.0 inside IPv6)"),
        ("::127.0.0.1", "loopback (127.0.0.1 inside IPv6)"),
        ("::8.8.8.8", "reserved (IPv4-compatible IPv6)"),
        ("64:ff9b::a00:1", "private (10.0.0.1 inside IPv6)"),
        ("2002:7f00:1::1", "loopback (127.0.0.1 inside IPv6)"),
        ("2002:a9fe:a9fe::1", "link-local (instance metadata) (169.254.169.254 inside IPv6)"),
    ],
)
def test_every_internal_class_is_named(address: str, kind: str) -> None:
    assert address_class(ipaddress.ip_address(address)) == kind


@pytest.mark.parametrize(
    "address",
    [
        "8.8.8.8",
        "93.184.216.34",
        "172.32.0.1",
        "100.128.0.1",
        "2606:4700:4700::1111",
        "::ffff:8.8.8.8",
        "64:ff9b::808:808",
    ],
)
def test_public_addresses_have_no_class(address: str) -> None:
    assert address_class(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("127.0.0.1.", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("0x7F.0.0.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("127.0.1", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("017700000001", "127.0.0.1"),
        ("0", "0.0.0.0"),
        ("0x", "0.0.0.0"),
        ("169.254.43518", "169.254.169.254"),
        ("0xa9.0xfe.0xa9.0xfe", "169.254.169.254"),
        ("[::1]", "::1"),
        ("[::ffff:127.0.0.1]", "::ffff:7f00:1"),
        ("FE80::1", "fe80::1"),
    ],
)
def test_every_ip_spelling_is_read_as_its_address(host: str, address: str) -> None:
    assert parse_ip(host) == ipaddress.ip_address(address)


@pytest.mark.parametrize(
    "host", ["localhost", "example.com", "127.0.0.1.nip.io", "1.2.3.4.5", "256.0.0.1", "08.0.0.1", "1..2", "a.0x1"]
)
def test_host_names_and_impossible_numbers_are_not_addresses(host: str) -> None:
    assert parse_ip(host) is None  # to DNS with them (where a number that is no address fails)


@pytest.mark.parametrize(
    ("entry", "rule"),
    [
        ("Internal.Example.", HostRule(name="internal.example")),
        ("api.internal:8443", HostRule(name="api.internal", port=8443)),
        ("127.0.0.1:8080", HostRule(network=ipaddress.ip_network("127.0.0.1/32"), port=8080)),
        ("10.0.0.0/8", HostRule(network=ipaddress.ip_network("10.0.0.0/8"))),
        ("10.1.2.3/16", HostRule(network=ipaddress.ip_network("10.1.0.0/16"))),
        ("10.1.0.0/16:443", HostRule(network=ipaddress.ip_network("10.1.0.0/16"), port=443)),
        ("fd00::/8", HostRule(network=ipaddress.ip_network("fd00::/8"))),
        ("::1", HostRule(network=ipaddress.ip_network("::1/128"))),
        ("[::1]:9000", HostRule(network=ipaddress.ip_network("::1/128"), port=9000)),
    ],
)
def test_rules_are_read_from_their_entries(entry: str, rule: HostRule) -> None:
    assert parse_rule(entry) == rule


@pytest.mark.parametrize(
    "entry", ["bad host", "a:b:c:99999", "host:0", "host:70000", "[::1", "[::1]x", "10.0.0.0/33", "-"]
)
def test_bad_entries_are_refused_at_start(entry: str) -> None:
    with pytest.raises(ValueError):
        parse_rule(entry)
    with pytest.raises(ValidationError, match="outbound_allow"):
        Settings(outbound_allow=f"127.0.0.1:80,{entry}")


def test_rules_match_host_port_and_the_ipv4_inside_ipv6() -> None:
    loopback = parse_rule("127.0.0.0/8")
    assert loopback.matches("x", 1, ipaddress.ip_address("127.0.0.5"))
    assert loopback.matches("x", 1, ipaddress.ip_address("::ffff:127.0.0.5"))
    assert not loopback.matches("x", 1, ipaddress.ip_address("::1"))
    one_port = parse_rule("api.internal:8443")
    assert one_port.matches("API.internal.", 8443, ipaddress.ip_address("10.0.0.1"))
    assert not one_port.matches("api.internal", 443, ipaddress.ip_address("10.0.0.1"))
    assert str(parse_rule("[::1]:9000")) == "[::1/128]:9000" and str(one_port) == "api.internal:8443"


def resolver(table: Mapping[str, Sequence[str]]) -> Resolve:
    def resolve(host: str, port: int) -> list[IPAddress]:
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [ipaddress.ip_address(a) for a in table[host]]

    return resolve


NAMES = {
    "public.example": ["93.184.216.34"],
    "internal.example": ["127.0.0.1"],
    "mixed.example": ["93.184.216.34", "10.0.0.8"],
    "metadata.example": ["::ffff:169.254.169.254"],
    "redis.internal": ["10.0.0.50"],
}


def guard(allow: Sequence[str] = (), deny: Sequence[str] = ()) -> OutboundGuard:
    return OutboundGuard(allow, deny, resolver=resolver(NAMES))


def refusal(check: OutboundGuard, host: str, port: int = 80) -> str:
    with pytest.raises(OutboundRefused) as refused:
        check.admit(host, port)
    return str(refused.value)


def test_a_public_host_is_admitted_with_its_addresses() -> None:
    assert guard().admit("public.example", 443) == [ipaddress.ip_address("93.184.216.34")]
    assert guard().admit("8.8.8.8", 53) == [ipaddress.ip_address("8.8.8.8")]


@pytest.mark.parametrize(
    ("host", "fragment"),
    [
        ("internal.example", "internal.example:80 (127.0.0.1): loopback address"),
        ("mixed.example", "(10.0.0.8): private address"),  # one internal answer is enough
        ("metadata.example", "link-local (instance metadata) (169.254.169.254 inside IPv6) address"),
        ("2130706433", "2130706433:80: loopback address"),
        ("0x7f.1", "0x7f.1:80: loopback address"),
        ("127.1", "loopback address"),
        ("[::ffff:7f00:1]", "loopback (127.0.0.1 inside IPv6) address"),
        ("169.254.169.254", "link-local (instance metadata) address"),
        ("[fd00:ec2::254]", "link-local (instance metadata) address"),
        ("100.64.1.1", "private (carrier-grade NAT) address"),
        ("[fc00::1]", "unique-local address"),
        ("224.0.0.251", "multicast address"),
        ("0.0.0.0", "unspecified address"),
    ],
)
def test_internal_destinations_are_refused_with_their_class(host: str, fragment: str) -> None:
    message = refusal(guard(), host)
    assert fragment in message and "QUEUE_OUTBOUND_ALLOW" in message


def test_a_name_that_does_not_resolve_is_a_resolver_error() -> None:
    with pytest.raises(socket.gaierror):
        guard().admit("nowhere.example", 80)


def test_the_allow_list_opens_hosts_networks_and_ports_and_nothing_more() -> None:
    by_name = guard(allow=["internal.example"])
    assert by_name.admit("internal.example", 8080) == [ipaddress.ip_address("127.0.0.1")]
    assert "loopback" in refusal(by_name, "127.0.0.1")  # the name was allowed, not its address
    by_port = guard(allow=["127.0.0.1:8080"])
    assert by_port.admit("internal.example", 8080) and by_port.admit("127.1", 8080)
    assert by_port.admit("[::ffff:127.0.0.1]", 8080)
    assert "loopback" in refusal(by_port, "127.0.0.1", 8081)
    by_network = guard(allow=["10.0.0.0/8"])
    assert by_network.admit("mixed.example", 80)
    assert "link-local" in refusal(by_network, "169.254.169.254")


def test_own_endpoints_are_refused_even_when_allowed() -> None:
    own = {
        "redis://127.0.0.1:6380/0": "the deployment's own Redis (QUEUE_REDIS_URL)",
        "http://localhost:4566": "the deployment's own AWS endpoint (AWS_ENDPOINT_URL)",
        "rediss://redis.internal": "the deployment's own Redis (QUEUE_REDIS_URL)",
    }
    table = {**NAMES, "localhost": ["127.0.0.1", "::1"]}
    check = OutboundGuard(allow=["127.0.0.0/8", "::1", "10.0.0.0/8"], own=own, resolver=resolver(table))
    assert "own Redis" in refusal(check, "127.0.0.1", 6380)
    assert "own Redis" in refusal(check, "[::ffff:127.0.0.1]", 6380)
    assert "own AWS endpoint" in refusal(check, "127.0.0.1", 4566)  # localhost's address
    assert "own AWS endpoint" in refusal(check, "[::1]", 4566)
    assert "own Redis" in refusal(check, "10.0.0.50", 6379)  # redis.internal's address
    assert "own Redis" in refusal(check, "redis.internal", 6379)
    assert check.admit("127.0.0.1", 8080)  # other ports of the same host stay allowed
    assert check.admit("redis.internal", 8080)


def test_the_deny_list_wins_over_public_and_allowed() -> None:
    check = guard(allow=["internal.example"], deny=["public.example", "internal.example:9000", "93.184.216.0/24"])
    assert "listed in QUEUE_OUTBOUND_DENY" in refusal(check, "public.example", 443)
    assert "listed in QUEUE_OUTBOUND_DENY" in refusal(check, "93.184.216.34", 443)
    assert "listed in QUEUE_OUTBOUND_DENY" in refusal(check, "internal.example", 9000)
    assert check.admit("internal.example", 9001)


def test_the_settings_guard_knows_the_redis_and_aws_endpoints() -> None:
    settings = Settings(redis_url="redis://127.0.0.1:6390/0", outbound_allow="127.0.0.1", outbound_deny="api.example")
    environ = {"AWS_ENDPOINT_URL": "http://127.0.0.1:4566", "AWS_ENDPOINT_URL_LAMBDA": "http://127.0.0.1:3002/"}
    check = OutboundGuard.from_settings(settings, environ)
    assert "own Redis (QUEUE_REDIS_URL)" in refusal(check, "127.0.0.1", 6390)
    assert "own AWS endpoint (AWS_ENDPOINT_URL)" in refusal(check, "127.0.0.1", 4566)
    assert "own AWS endpoint (AWS_ENDPOINT_URL_LAMBDA)" in refusal(check, "127.0.0.1", 3002)
    assert check.admit("127.0.0.1", 8000)
    assert Settings().outbound_allow == () and Settings().outbound_deny == ()
