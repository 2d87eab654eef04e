"""The layer's Lua scripts, loaded one way: ``lua/<name>.lua`` with its includes expanded (once
per process), then registered on first use with the connection that runs it (:class:`Scripts`).

Includes. A line of its own ``--- @include "<name>"`` is replaced by ``lua/includes/<name>.lua``,
itself expanded first (an include may include others). Each include lands once per script, where it
is first named; a later directive for it adds nothing, so a script may name what it uses even when
another include already brings it. Includes define ``local`` functions and constants, so they come
before the code that uses them, at the top of a script after its header. A name that is not a
plain ``lower_snake`` word, an include that does not exist, a malformed directive and an include
cycle are refused (:class:`ScriptError`) when the script is first built, before Redis sees it.

Redis runs the expanded text, so a Lua error's line number counts the included lines too.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any

from redis.commands.core import Script

from relayq.redis.connection import RedisConnection

INCLUDE = re.compile(r'^--- @include "([^"]*)"[ \t]*$')
# A script's or an include's name: its file name without ".lua", never a path.
NAME = re.compile(r"[a-z][a-z0-9_]*")


class ScriptError(Exception):
    """A script that cannot be built: unknown, or an include that is missing, malformed or cyclic."""


def _lua() -> Traversable:
    return resources.files(__package__).joinpath("lua")


def _read(folder: Traversable, name: str, what: str) -> str:
    path = folder.joinpath(f"{name}.lua")
    if not NAME.fullmatch(name) or not path.is_file():
        raise ScriptError(f"no {what} {name!r}")
    return path.read_text()


def read_include(name: str) -> str:
    """The text of ``lua/includes/<name>.lua`` as written (not expanded)."""
    return _read(_lua().joinpath("includes"), name, "include")


def expand(text: str, read: Callable[[str], str] = read_include, *, origin: str = "<script>") -> str:
    """``text`` (from ``origin``, named in errors) with its include directives replaced, each
    include once, by the texts ``read`` gives for their names (see the module's doc)."""
    emitted: set[str] = set()

    def walk(text: str, chain: tuple[str, ...]) -> str:
        lines = []
        for number, line in enumerate(text.splitlines(keepends=True), 1):
            if "@include" not in line:
                lines.append(line)
                continue
            where = " -> ".join(chain)
            match = INCLUDE.match(line.rstrip("\r\n"))
            if match is None:
                raise ScriptError(f'{where}, line {number}: not an include directive --- @include "name": {line!r}')
            name = match.group(1)
            if name in chain:
                raise ScriptError(f"include cycle: {' -> '.join((*chain, name))}")
            if name in emitted:
                continue
            body = walk(read(name), (*chain, name))
            emitted.add(name)
            lines.append(body if body.endswith("\n") else body + "\n")
        return "".join(lines)

    return walk(text, (origin,))


def script_names() -> list[str]:
    """Every script of the layer (the ``lua/*.lua`` files; includes are not scripts)."""
    return sorted(p.name.removesuffix(".lua") for p in _lua().iterdir() if p.name.endswith(".lua"))


@cache
def source(name: str) -> str:
    """The text Redis runs for script ``name``: its file with the includes expanded."""
    return expand(_read(_lua(), name, "script"), origin=f"{name}.lua")


class Scripts:
    """The scripts run on one connection. Each is registered on first use and kept: redis-py's
    ``Script`` runs EVALSHA and loads the script again when Redis answers NOSCRIPT (after a
    ``SCRIPT FLUSH``, a restart or a failover)."""

    def __init__(self, conn: RedisConnection) -> None:
        self.conn = conn
        self._registered: dict[str, Script] = {}

    def _script(self, name: str) -> Script:
        script = self._registered.get(name)
        if script is None:  # two threads may both register it: the same text, the same SHA
            script = self._registered[name] = self.conn.register_script(source(name))
        return script

    def run(self, name: str, keys: Sequence[str], args: Sequence[Any]) -> Any:
        """Run script ``name`` (one round trip once Redis has it)."""
        return self._script(name)(keys=list(keys), args=list(args))
