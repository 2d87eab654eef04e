"""A certificate authority of its own and a server certificate it signed (for ``127.0.0.1`` and
``localhost``), made with ``openssl`` in a folder: what a TLS Redis needs in tests, where no
certificate of a public CA can be had."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

DAYS = "2"  # test certificates: long enough for a run, never for reuse


@dataclass(frozen=True)
class TlsFiles:
    ca: Path  # the CA certificate: what a client trusts (QUEUE_REDIS_CA_FILE)
    cert: Path  # the server's certificate, signed by that CA
    key: Path  # the server's private key


def _openssl(*args: str | Path) -> None:
    if shutil.which("openssl") is None:
        raise RuntimeError("openssl is not installed (apt-get install openssl)")
    subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True)


def make_tls_files(folder: Path, name: str = "relayq test CA") -> TlsFiles:
    """A new CA named ``name`` in ``folder`` and a server certificate signed by it."""
    folder.mkdir(parents=True, exist_ok=True)
    files = TlsFiles(folder / "ca.pem", folder / "server.pem", folder / "server.key")
    ca_key, request, extensions = folder / "ca.key", folder / "server.csr", folder / "server.ext"
    new_key: list[str | Path] = ["-newkey", "rsa:2048", "-nodes"]
    _openssl("req", "-x509", *new_key, "-days", DAYS, "-subj", f"/CN={name}", "-keyout", ca_key, "-out", files.ca)
    _openssl("req", *new_key, "-subj", "/CN=localhost", "-keyout", files.key, "-out", request)
    extensions.write_text("subjectAltName = IP:127.0.0.1, DNS:localhost\nextendedKeyUsage = serverAuth, clientAuth\n")
    signing: list[str | Path] = [
        "-CA",
        files.ca,
        "-CAkey",
        ca_key,
        "-CAcreateserial",
        "-days",
        DAYS,
        "-extfile",
        extensions,
    ]
    _openssl("x509", "-req", "-in", request, *signing, "-out", files.cert)
    return files
