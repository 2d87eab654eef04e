"""The Lua script loader and the scripts as written, without Redis: includes, headers, one copy of
each shared piece, the answer codes on both sides."""

from __future__ import annotations

import re
from collections.abc import Callable
from importlib import resources

import pytest

from relayq.redis.codes import ScriptCode
from relayq.redis.scripts import ScriptError, expand, read_include, script_names, source

LUA = resources.files("relayq.redis").joinpath("lua")
INCLUDES = sorted(p.name.removesuffix(".lua") for p in LUA.joinpath("includes").iterdir() if p.name.endswith(".lua"))

# Pieces written once, in their include (pattern -> include); no script writes them out again.
SHARED = {
    r"1099511627776": "pending",  # the priority score ...
    r"\+ redis\.call\('INCR'": "pending",  # ... and its sequence (the rate limiter's INCR is a count)
    r"'pending:'": "pending",  # a queue's pending set
    r"'ZSCORE'": "lease",  # the lease check: in the processing set ...
    r"meta\.a ~=": "lease",  # ... and the attempt matches
    r"'HINCRBY', [^,]+, [^,]+, -1\)": "lease",  # a lease ends: one job fewer in flight
    r"cjson\.decode\(raw\)": "job_meta",  # a job's metadata read ...
    r"cjson\.encode\(meta\)": "job_meta",  # ... and written back
    r"'GET', [^)]+\) ==": "owned_key",  # a key deleted only by its owner
    r"'ZREMRANGEBYSCORE'": "running",  # dead invocations forgotten
}


def fake(files: dict[str, str]) -> Callable[[str], str]:
    def read(name: str) -> str:
        if name not in files:
            raise ScriptError(f"no include {name!r}")
        return files[name]

    return read


def test_an_include_is_expanded_in_place_with_its_own_includes() -> None:
    read = fake({"outer": '--- @include "inner"\nlocal function outer() return inner() end\n', "inner": "local X = 1"})
    text = '-- header\n--- @include "outer"\nreturn outer()\n'
    assert expand(text, read) == "-- header\nlocal X = 1\nlocal function outer() return inner() end\nreturn outer()\n"


def test_each_include_lands_once_where_it_is_first_named() -> None:
    read = fake({"a": '--- @include "base"\nA\n', "b": '--- @include "base"\nB\n', "base": "BASE\n"})
    text = '--- @include "a"\n--- @include "b"\n--- @include "base"\nBODY\n'
    assert expand(text, read) == "BASE\nA\nB\nBODY\n"


def test_a_missing_include_is_refused() -> None:
    with pytest.raises(ScriptError, match="no include 'nowhere'"):
        expand('--- @include "nowhere"\nreturn 1\n')


@pytest.mark.parametrize("name", ["../finish", "includes/lease", "Lease", ""])
def test_an_include_name_is_a_plain_word(name: str) -> None:
    with pytest.raises(ScriptError):
        read_include(name)
    with pytest.raises(ScriptError):
        expand(f'--- @include "{name}"\n')


@pytest.mark.parametrize(
    "line", ['-- @include "lease"', "--- @include lease", "--- @include 'lease'", '  --- @include "lease"']
)
def test_a_malformed_directive_is_refused_not_left_as_a_comment(line: str) -> None:
    with pytest.raises(ScriptError, match="not an include directive"):
        expand(line + "\nreturn 1\n")


def test_an_include_cycle_is_refused() -> None:
    read = fake({"a": '--- @include "b"\n', "b": '--- @include "c"\n', "c": '--- @include "a"\n'})
    with pytest.raises(ScriptError, match=re.escape("include cycle: x.lua -> a -> b -> c -> a")):
        expand('--- @include "a"\n', read, origin="x.lua")
    with pytest.raises(ScriptError, match="include cycle"):
        expand('--- @include "self"\n', fake({"self": '--- @include "self"\n'}))


def test_an_unknown_script_is_refused() -> None:
    with pytest.raises(ScriptError, match="no script"):
        source("no_such_script")


def test_every_script_builds_and_every_include_is_used() -> None:
    names = script_names()
    assert {"finish", "retry", "defer", "claim", "enqueue", "cron_admit", "release_lock", "kick"} <= set(names)
    used = set()
    for name in names:
        text = source(name)
        assert "@include" not in text
        used |= {include for include in INCLUDES if f"--[[ includes/{include}.lua" in text}
    assert used == set(INCLUDES)


@pytest.mark.parametrize("name", script_names())
def test_every_script_opens_with_a_header_naming_keys_argv_and_returns(name: str) -> None:
    text = LUA.joinpath(f"{name}.lua").read_text()
    assert text.startswith(f"--[[ {name}.lua\n")
    header = text[: text.index("]]")]
    sections = {line.strip() for line in header.splitlines() if line.startswith("  ") and not line.startswith("   ")}
    assert {"KEYS", "ARGV", "Returns"} <= sections, header
    description = header.splitlines()[1]
    assert description.strip(), "the header says what the script does first"


@pytest.mark.parametrize("name", INCLUDES)
def test_every_include_opens_with_a_header(name: str) -> None:
    assert read_include(name).startswith(f"--[[ includes/{name}.lua\n")


@pytest.mark.parametrize("name", script_names())
def test_shared_pieces_are_written_only_in_their_include(name: str) -> None:
    text = LUA.joinpath(f"{name}.lua").read_text()
    for pattern, include in SHARED.items():
        assert not re.search(pattern, text), f"{name}.lua writes out {pattern!r}: use includes/{include}.lua"


@pytest.mark.parametrize(("pattern", "include"), SHARED.items())
def test_each_shared_piece_is_in_its_include(pattern: str, include: str) -> None:
    assert re.search(pattern, read_include(include))


def test_the_lua_codes_are_the_host_codes() -> None:
    lua = dict(re.findall(r"^local ([A-Z_]+) = (-?\d+)$", read_include("codes"), re.M))
    assert {name: int(value) for name, value in lua.items()} == {code.name: code.value for code in ScriptCode}


@pytest.mark.parametrize("name", ["finish", "retry", "defer"])
def test_the_lease_scripts_document_every_code(name: str) -> None:
    header = LUA.joinpath(f"{name}.lua").read_text().split("]]")[0]
    for code in ScriptCode:
        assert re.search(rf"(?<![-\d]){code.value}\s+{code.name}\b", header), (name, code)
