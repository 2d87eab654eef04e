"""``api_sync`` through the deployment's container (real redis-server, moto's server) against
local servers: internal addresses refused in every spelling and after DNS, the allow-list, the
deployment's own endpoints, redirects, a DNS rebind that cannot reach the internal address, and
TLS verified for the host name on a connection pinned to the checked address."""

from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import urllib3.util.connection
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from devstack.http_recorder import FakeApi
from relayq.container import container
from relayq.domain.models import Job, NewJob
from relayq.services.outbound import OutboundGuard
from tests.support.outbound import allowed

PUBLIC = "93.184.216.34"


@pytest.fixture
def api(lambda_env: dict[str, str]) -> Iterator[FakeApi]:
    server = FakeApi().start()
    yield server
    server.stop()


@pytest.fixture
def other_api(lambda_env: dict[str, str]) -> Iterator[FakeApi]:
    server = FakeApi().start()
    yield server
    server.stop()


class Redirector:
    """Answers every request with ``302 Location: <the to= parameter>``."""

    def __init__(self) -> None:
        self.hits = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.hits += 1
                self.send_response(302)
                self.send_header("Location", parse_qs(urlsplit(self.path).query)["to"][0])
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, to: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/go?to={to}"


@pytest.fixture
def redirector(lambda_env: dict[str, str]) -> Iterator[Redirector]:
    server = Redirector()
    yield server
    server.server.shutdown()
    server.server.server_close()


def run(url: str) -> Job:
    jobs = container().jobs
    job = jobs.create(NewJob(type="api_sync", queue="api", payload={"url": url}))
    jobs.process(["api"], 1)
    return jobs.get(job.id)


def assert_refused(job: Job, fragment: str) -> None:
    assert (job.status, job.attempts) == ("failed", 1), job  # at once: no retry can change the answer
    assert job.error_message is not None and "refused to call" in job.error_message, job.error_message
    assert fragment in job.error_message, job.error_message


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", "2130706433", "0x7f.1", "127.1", "0177.0.0.1", "[::ffff:127.0.0.1]", "localhost"],
)
def test_api_sync_to_the_local_host_is_refused_in_every_spelling(api: FakeApi, host: str) -> None:
    port = urlsplit(api.url).port
    assert_refused(run(f"http://{host}:{port}/ok"), "loopback")
    assert api.requests == []


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("http://169.254.169.254/latest/meta-data/", "link-local (instance metadata)"),
        ("http://[fd00:ec2::254]/latest/meta-data/", "link-local (instance metadata)"),
        ("http://[::ffff:169.254.169.254]/", "link-local (instance metadata)"),
        ("http://10.0.0.1/", "private"),
        ("http://172.16.5.4/", "private"),
        ("http://192.168.0.1/", "private"),
        ("http://100.64.0.1/", "carrier-grade NAT"),
        ("http://[fc00::1]/", "unique-local"),
        ("http://[fe80::1]/", "link-local"),
        ("http://224.0.0.1/", "multicast"),
        ("http://0.0.0.0/", "unspecified"),
    ],
)
def test_api_sync_to_internal_ranges_is_refused(lambda_env: dict[str, str], url: str, fragment: str) -> None:
    assert_refused(run(url), fragment)


def test_an_allow_listed_local_server_is_called(api: FakeApi, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUEUE_OUTBOUND_ALLOW", allowed(api.url))
    job = run(f"{api.url}/ok")
    assert job.status == "completed", job.error_message
    assert job.result["status"] == 200 and len(api.requests) == 1
    assert api.requests[0]["headers"]["Host"] == urlsplit(api.url).netloc  # the URL's host, not a rewrite


def test_the_deployments_own_endpoints_are_refused_even_when_allow_listed(
    api: FakeApi, lambda_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QUEUE_OUTBOUND_ALLOW", "127.0.0.0/8,::1")
    redis_port = urlsplit(lambda_env["QUEUE_REDIS_URL"]).port
    assert_refused(run(f"http://127.0.0.1:{redis_port}/"), "the deployment's own Redis (QUEUE_REDIS_URL)")
    assert_refused(run(f"http://2130706433:{redis_port}/"), "own Redis")
    assert_refused(run(f"{lambda_env['AWS_ENDPOINT_URL']}/"), "the deployment's own AWS endpoint (AWS_ENDPOINT_URL)")
    assert run(f"{api.url}/ok").status == "completed"  # the rest of the allowed range is still allowed


def test_the_deny_list_is_refused_even_when_allow_listed(api: FakeApi, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUEUE_OUTBOUND_ALLOW", allowed(api.url))
    monkeypatch.setenv("QUEUE_OUTBOUND_DENY", allowed(api.url))
    assert_refused(run(f"{api.url}/ok"), "listed in QUEUE_OUTBOUND_DENY")
    assert api.requests == []


def test_a_redirect_from_an_allowed_server_to_an_internal_one_is_refused(
    api: FakeApi, other_api: FakeApi, redirector: Redirector, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QUEUE_OUTBOUND_ALLOW", allowed(redirector.url(""), api.url))
    followed = run(redirector.url(f"{api.url}/ok"))
    assert followed.status == "completed" and followed.result["body"]["method"] == "GET"  # allowed: followed

    job = run(redirector.url(f"{other_api.url}/ok"))
    assert_refused(job, f"{urlsplit(other_api.url).netloc}: loopback")
    assert redirector.hits == 2 and other_api.requests == []
    to_metadata = run(redirector.url("http://169.254.169.254/latest/meta-data/"))
    assert_refused(to_metadata, "instance metadata")


@pytest.fixture
def fake_dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """The system resolver, answering the names in the returned table with their next address
    (the last one for good); every other name and numeric host as usual."""
    real = socket.getaddrinfo
    answers: dict[str, list[str]] = {}

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in answers:
            return real(host, port, *args, **kwargs)
        queue = answers[host]
        address = queue.pop(0) if len(queue) > 1 else queue[0]
        return real(address, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return answers


def test_a_host_name_that_resolves_to_the_local_host_is_refused(api: FakeApi, fake_dns: dict[str, list[str]]) -> None:
    fake_dns["internal.example"] = ["127.0.0.1"]
    port = urlsplit(api.url).port
    assert_refused(run(f"http://internal.example:{port}/ok"), f"internal.example:{port} (127.0.0.1): loopback")
    assert api.requests == []


def test_a_dns_rebind_cannot_reach_the_internal_address(
    api: FakeApi, fake_dns: dict[str, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The name answers a public address when checked and 127.0.0.1 on every later lookup: the
    connection goes to the checked address (which here refuses), never to a second lookup's."""
    fake_dns["rebind.example"] = [PUBLIC, "127.0.0.1"]
    real_connect = urllib3.util.connection.create_connection
    connects: list[tuple[str, int]] = []

    def connect(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        connects.append(address)
        if address[0] == PUBLIC:  # no network in the tests: the public host refuses
            raise ConnectionRefusedError(111, "Connection refused")
        return real_connect(address, *args, **kwargs)

    monkeypatch.setattr(urllib3.util.connection, "create_connection", connect)
    port = urlsplit(api.url).port
    job = run(f"http://rebind.example:{port}/ok")
    assert (job.status, job.attempts) == ("queued", 1), job  # a connection error: retried later
    assert [c for c in connects if c[1] == port] == [(PUBLIC, port)]  # (boto3 connects to moto too)
    assert api.requests == []


def _certificate(tmp_path: Path, name: str) -> tuple[Path, Path]:
    """A self-signed certificate for ``name`` (its own CA): the certificate file and the key file."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / f"{name}.pem", tmp_path / f"{name}.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_file, key_file


def test_tls_is_verified_for_the_host_name_while_the_socket_goes_to_the_checked_address(tmp_path: Path) -> None:
    cert_file, key_file = _certificate(tmp_path, "tls.example")
    seen: list[tuple[str | None, str | None]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append((getattr(self.request, "server_name", None), self.headers.get("Host")))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)

    def remember_sni(sock: Any, server_name: str, _: ssl.SSLContext) -> None:
        sock.server_name = server_name

    context.sni_callback = remember_sni
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    local = ipaddress.ip_address("127.0.0.1")
    guard = OutboundGuard(allow=["tls.example", "other.example"], resolver=lambda host, _: [local])
    try:
        with guard.pool_manager(ca_certs=str(cert_file), retries=False) as http:
            answer = http.request("GET", f"https://tls.example:{port}/")
            assert answer.status == 204
            assert seen == [("tls.example", f"tls.example:{port}")]  # SNI and Host: the name, not the address
            with pytest.raises(urllib3.exceptions.SSLError, match="Hostname mismatch"):
                http.request("GET", f"https://other.example:{port}/")  # same address, a name the cert is not for
    finally:
        server.shutdown()
        server.server_close()
