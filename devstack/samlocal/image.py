"""The Lambda-like base image `sam local` runs functions in when no public image can be pulled.

Debian bookworm (debootstrap minbase) + this machine's own CPython 3.11 in /var/lang (the
interpreter `sam build` resolved the wheels with, so the layer's pins fit it) + awslambdaric and
boto3 in /var/runtime + a bootstrap, as the python3.11 Lambda image lays them out. SAM adds its
runtime interface emulator on top. The image carries a hash of this recipe and is rebuilt only
when the recipe changes.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from devstack.samlocal.commands import run

IMAGE = "localhost/lambda-python:3.11"
OFFICIAL_IMAGE = "public.ecr.aws/lambda/python:3.11"
RECIPE_LABEL = "relayq.recipe"

# Shared libraries CPython's extension modules link against (ssl, ctypes, sqlite3, lzma...).
DEBIAN_PACKAGES = (
    "ca-certificates,libssl3,libffi8,libsqlite3-0,libexpat1,libbz2-1.0,liblzma5,zlib1g,"
    "libuuid1,libncursesw6,libreadline8,libnsl2,libtirpc3,libcrypt1"
)
# The runtime interface client and the SDK the Lambda python3.11 runtime ships (boto3 pinned as
# in requirements-dev.txt so local runs use the SDK the tests use).
RUNTIME_PACKAGES = ("awslambdaric==4.2.2", "boto3==1.44.5")
# Parts of the standard library a function never uses: leaving them out saves ~40 MB.
STDLIB_SKIP = ("site-packages", "test", "idlelib", "tkinter", "turtledemo", "ensurepip", "lib2to3")
STDLIB_SKIP_GLOBS = ("config-3.11-*",)

BOOTSTRAP = """#!/bin/sh
# Started by the runtime interface emulator; awslambdaric polls it for events.
export PYTHONPATH="/var/task:/opt/python/lib/python3.11/site-packages:/opt/python:/var/runtime"
exec /var/lang/bin/python3.11 -m awslambdaric "$_HANDLER"
"""

# As in the python3.11 Lambda image.
IMAGE_ENV = {
    "LANG": "C.UTF-8",
    "TZ": ":UTC",
    "PATH": "/var/lang/bin:/usr/local/bin:/usr/bin:/bin:/opt/bin",
    "LD_LIBRARY_PATH": "/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib",
    "LAMBDA_TASK_ROOT": "/var/task",
    "LAMBDA_RUNTIME_DIR": "/var/runtime",
}


def recipe_hash() -> str:
    """Changes when what goes into the image changes (packages, interpreter, bootstrap, env)."""
    recipe = [DEBIAN_PACKAGES, RUNTIME_PACKAGES, STDLIB_SKIP, STDLIB_SKIP_GLOBS, BOOTSTRAP, IMAGE_ENV]
    recipe += [sys.version, sys.base_prefix]
    return hashlib.sha256(repr(recipe).encode()).hexdigest()[:16]


def image_is_current(engine: str) -> bool:
    """With Docker any image of that name will do (the official one carries no recipe label)."""
    if engine == "docker":
        return (
            subprocess.run([engine, "image", "inspect", IMAGE], capture_output=True, timeout=60, check=False).returncode
            == 0
        )
    inspect = subprocess.run(
        [engine, "image", "inspect", "--format", '{{index .Config.Labels "' + RECIPE_LABEL + '"}}', IMAGE],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return inspect.returncode == 0 and inspect.stdout.strip() == recipe_hash()


def ensure_image(engine: str) -> str:
    """Build (or reuse) the image with ``engine`` (podman or docker); returns what was done."""
    if image_is_current(engine):
        return f"{IMAGE} is up to date"
    started = time.monotonic()
    if engine == "docker" and _tag_official_image():
        return f"{IMAGE} tagged from {OFFICIAL_IMAGE} in {time.monotonic() - started:.1f}s"
    with tempfile.TemporaryDirectory(prefix="lambda-rootfs-") as tmp:
        rootfs = Path(tmp) / "rootfs"
        with _timed("debootstrap"):
            _debootstrap(rootfs)
        with _timed("interpreter"):
            _copy_interpreter(rootfs / "var" / "lang")
        with _timed("runtime"):
            _install_runtime(rootfs / "var" / "runtime")
        with _timed("import"):
            _import(engine, rootfs)
    return f"{IMAGE} built in {time.monotonic() - started:.1f}s"


@contextmanager
def _timed(step: str) -> Iterator[None]:
    started = time.monotonic()
    yield
    print(f"  {step} done in {time.monotonic() - started:.1f}s", flush=True)


def _tag_official_image() -> bool:
    """With a Docker engine, the official image is the better base when the registry answers."""
    pulled = subprocess.run(["docker", "pull", "-q", OFFICIAL_IMAGE], capture_output=True, timeout=600, check=False)
    if pulled.returncode != 0:
        return False
    run(["docker", "tag", OFFICIAL_IMAGE, IMAGE], timeout=60)
    return True


def _debootstrap(rootfs: Path) -> None:
    print(f"  debootstrap bookworm (minbase) into {rootfs} ...", flush=True)
    run(
        ["debootstrap", "--variant=minbase", f"--include={DEBIAN_PACKAGES}", "bookworm", str(rootfs)],
        timeout=900,
    )
    # Neither the package cache nor the docs are needed at run time.
    for leftover in ("var/cache/apt/archives", "usr/share/doc", "usr/share/man", "usr/share/locale"):
        shutil.rmtree(rootfs / leftover, ignore_errors=True)


def _copy_interpreter(lang: Path) -> None:
    """Copy the interpreter (sys.base_prefix: the venv's own CPython) into /var/lang."""
    base = Path(sys.base_prefix)
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    print(f"  copying CPython {sys.version.split()[0]} from {base} ...", flush=True)
    (lang / "bin").mkdir(parents=True)
    shutil.copy2(Path(sys._base_executable).resolve(), lang / "bin" / version)  # type: ignore[attr-defined]
    for alias in ("python3", "python"):
        (lang / "bin" / alias).symlink_to(version)
    (lang / "lib").mkdir()
    for shared in (base / "lib").glob("libpython3*.so*"):
        shutil.copy2(shared, lang / "lib" / shared.name, follow_symlinks=False)
    stdlib = base / "lib" / version

    def skip(directory: str, names: list[str]) -> set[str]:
        if Path(directory) != stdlib:
            return set()
        return {n for n in names if n in STDLIB_SKIP or any(Path(n).match(g) for g in STDLIB_SKIP_GLOBS)}

    shutil.copytree(stdlib, lang / "lib" / version, symlinks=True, ignore=skip)
    (lang / "lib" / version / "site-packages").mkdir()


def _install_runtime(runtime: Path) -> None:
    print(f"  pip install {' '.join(RUNTIME_PACKAGES)} into /var/runtime ...", flush=True)
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--only-binary=:all:",
            "--target",
            str(runtime),
            *RUNTIME_PACKAGES,
        ],
        timeout=600,
    )
    bootstrap = runtime / "bootstrap"
    bootstrap.write_text(BOOTSTRAP)
    bootstrap.chmod(0o755)


def _import(engine: str, rootfs: Path) -> None:
    print(f"  {engine} import {IMAGE} ...", flush=True)
    changes = [f"ENV {key}={value}" for key, value in IMAGE_ENV.items()]
    changes += ["WORKDIR /var/task", f"LABEL {RECIPE_LABEL}={recipe_hash()}"]
    args = [engine, "import"]
    for change in changes:
        args += ["--change", change]
    tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
    try:
        run([*args, "-", IMAGE], timeout=600, stdin=tar.stdout)
    finally:
        if tar.stdout:
            tar.stdout.close()
        tar.wait(timeout=60)
