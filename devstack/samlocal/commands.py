"""Running the setup's commands: each with a time limit, failing with what the command said."""

from __future__ import annotations

import subprocess
from typing import IO, Any


class SetupError(RuntimeError):
    """A step of the setup failed; the message says which and why."""


def run(args: list[str], *, timeout: float, stdin: IO[Any] | None = None, env: dict[str, str] | None = None) -> str:
    try:
        done = subprocess.run(args, stdin=stdin, capture_output=True, text=True, timeout=timeout, check=False, env=env)
    except subprocess.TimeoutExpired:
        raise SetupError(f"`{' '.join(args[:3])} ...` did not finish within {timeout:.0f}s") from None
    except FileNotFoundError:
        raise SetupError(f"`{args[0]}` is not installed") from None
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-15:]
        raise SetupError(f"`{' '.join(args[:3])} ...` failed ({done.returncode}):\n" + "\n".join(tail))
    return done.stdout
