"""A container runtime for `sam local`: the Docker engine when one answers, otherwise podman (Debian
packages) serving the Docker API on a unix socket for the length of a run.

What this machine kind needs (../shared/notes/sam-local-podman.md): runc instead of crun (hybrid
cgroups), lowered rlimits (the sandbox's hard nofile limit is below podman's default), and a
locally built base image since no registry is reachable.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import docker  # type: ignore[import-untyped]  # docker-py comes with aws-sam-cli

from devstack.samlocal.commands import SetupError, run
from devstack.samlocal.image import IMAGE, ensure_image, image_is_current

PACKAGES = ("podman", "runc", "debootstrap")
CONTAINERS_CONF = Path("/etc/containers/containers.conf")
CONF_MARKER = "# Written by relayq's devstack/samlocal"
CONTAINERS_CONF_TEXT = f"""{CONF_MARKER} (sam local without Docker): podman's defaults fail in
# this sandbox (hard nofile limit below podman's 1048576; crun cannot use hybrid cgroups).
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]

[engine]
runtime = "runc"
"""


def docker_engine_answers() -> bool:
    """A Docker engine (DOCKER_HOST or the default socket) that answers a ping within 5 s."""
    try:
        client = docker.from_env(timeout=5)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:
        return False


def engine() -> str:
    return "docker" if docker_engine_answers() else "podman"


def setup() -> str:
    """Make `sam local` possible on this machine (idempotent); returns the engine used.
    Raises SetupError saying what is missing when it cannot."""
    if docker_engine_answers():
        print(f"Docker engine answers; {ensure_image('docker')}", flush=True)
        return "docker"
    missing = [p for p in PACKAGES if shutil.which(p) is None]
    if missing:
        _apt_install(missing)
    _write_containers_conf()
    print(f"podman: {ensure_image('podman')}", flush=True)
    return "podman"


def unavailable_reason() -> str | None:
    """Why `sam local` cannot run here now, or None when it can (nothing is installed or built)."""
    if docker_engine_answers():
        return None if image_is_current("docker") else f"{IMAGE} is missing (run `make sam-local-setup`)"
    if shutil.which("podman") is None:
        return "no Docker engine answers and podman is not installed (run `make sam-local-setup` as root)"
    if not image_is_current("podman"):
        return f"the base image {IMAGE} is missing or stale (run `make sam-local-setup`)"
    return None


def _apt_install(packages: list[str]) -> None:
    if os.geteuid() != 0:
        raise SetupError(f"no Docker engine answers and {', '.join(packages)} missing: installing them needs root")
    print(f"installing {' '.join(packages)} (apt-get) ...", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    # Another apt-get may hold the lock (other jobs on the machine): wait for it, within limits.
    lock = ["-o", "DPkg::Lock::Timeout=300"]
    run(["apt-get", *lock, "update", "-qq"], timeout=600, env=env)
    run(["apt-get", *lock, "install", "-y", "-qq", "--no-install-recommends", *packages], timeout=900, env=env)


def _write_containers_conf() -> None:
    if CONTAINERS_CONF.exists() and not CONTAINERS_CONF.read_text().startswith(CONF_MARKER):
        print(f"keeping the existing {CONTAINERS_CONF} (not written by this setup)", flush=True)
        return
    if os.geteuid() != 0 and not os.access(CONTAINERS_CONF.parent, os.W_OK):
        raise SetupError(f"{CONTAINERS_CONF} needs root to write")
    CONTAINERS_CONF.parent.mkdir(parents=True, exist_ok=True)
    if not CONTAINERS_CONF.exists() or CONTAINERS_CONF.read_text() != CONTAINERS_CONF_TEXT:
        CONTAINERS_CONF.write_text(CONTAINERS_CONF_TEXT)
        print(f"wrote {CONTAINERS_CONF}", flush=True)


@contextmanager
def docker_api(engine_name: str) -> Iterator[dict[str, str]]:
    """The environment `sam` needs to reach a Docker API; with podman, a `podman system service`
    started for the run and stopped after it."""
    if engine_name == "docker":
        yield {}
        return
    with tempfile.TemporaryDirectory(prefix="podman-api-") as tmp:
        url = f"unix://{tmp}/podman.sock"
        log = Path(tmp) / "service.log"
        with log.open("wb") as out:
            service = subprocess.Popen(
                ["podman", "system", "service", "--time=0", url],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            _wait_for_api(url, service, log)
            yield {"DOCKER_HOST": url}
        finally:
            service.terminate()
            try:
                service.wait(timeout=15)
            except subprocess.TimeoutExpired:
                service.kill()
                service.wait(timeout=5)


def _wait_for_api(url: str, service: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if service.poll() is not None:
            raise SetupError(f"podman system service exited ({service.returncode}): {log.read_text()[-1000:]}")
        try:
            client = docker.DockerClient(base_url=url, timeout=5)
            try:
                if client.ping():
                    return
            finally:
                client.close()
        except Exception:
            pass
        time.sleep(0.1)
    raise SetupError("podman system service did not answer within 30s")


def bridge_gateway(api_env: dict[str, str]) -> str:
    """The host's address on the containers' default network: where functions reach the local
    services. (SAM 1.148 ignores `--docker-network host`: containers always get the bridge.)"""
    base_url = api_env.get("DOCKER_HOST")
    client: Any = docker.DockerClient(base_url=base_url, timeout=10) if base_url else docker.from_env(timeout=10)
    try:
        network = client.networks.get("bridge")
        gateway = str(network.attrs["IPAM"]["Config"][0]["Gateway"])
        if not _is_local_address(gateway):
            # podman creates the bridge interface with the first container that uses it.
            client.containers.run(IMAGE, ["true"], remove=True, network_mode="bridge")
        if not _is_local_address(gateway):
            raise SetupError(f"the containers' bridge gateway {gateway} is not an address of this machine")
        return gateway
    finally:
        client.close()


def _is_local_address(address: str) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind((address, 0))
        except OSError:
            return False
        return True
