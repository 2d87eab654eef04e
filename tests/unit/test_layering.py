"""The layer's rooms keep their order: the domain knows no storage, the Redis and DynamoDB sides
know no services, nothing below the composition root imports it, and no module imports itself
back through others. Read from the source (every import statement, lazy ones included)."""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "layers" / "queue" / "relayq"

# Room -> the rooms its modules may import (besides their own room and the package root).
ALLOWED = {
    "settings": {"domain"},
    "aws": set(),
    "domain": {"settings", "aws"},
    "redis": {"domain", "settings", "aws"},
    "dynamodb": {"domain", "settings", "aws"},
    "http": {"domain", "settings"},
    "services": {"domain", "settings", "aws", "redis", "dynamodb"},
    "job_types": {"domain", "settings", "aws", "services"},
    "container": {"domain", "settings", "aws", "redis", "dynamodb", "http", "services", "job_types"},
}


def module_name(path: Path) -> str:
    parts = ["relayq", *path.relative_to(PACKAGE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path) -> set[str]:
    """Every ``relayq`` module ``path`` imports (``from relayq.x import y`` counts ``relayq.x.y``
    when that is a module of its own)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("relayq")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("relayq") and not node.level:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found & set(MODULES)


MODULES = {module_name(path): path for path in PACKAGE.rglob("*.py")}
GRAPH = {name: imported(path) - {name} for name, path in MODULES.items()}


def room(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "root"


def test_the_rooms_are_all_known() -> None:
    assert {room(m) for m in MODULES} - {"root"} == set(ALLOWED)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_each_module_imports_only_rooms_below_it(module: str) -> None:
    own = room(module)
    if own == "root":
        assert not GRAPH[module], "relayq/__init__.py imports nothing of the layer"
        return
    wrong = {dep for dep in GRAPH[module] if room(dep) not in ALLOWED[own] | {own, "root"}}
    assert not wrong, f"{module} ({own}) may not import {sorted(wrong)}"


def test_nothing_in_the_layer_imports_the_composition_root() -> None:
    importers = sorted(m for m, deps in GRAPH.items() if "relayq.container" in deps)
    assert importers == []


def test_the_layer_has_no_import_cycle() -> None:
    # Package __init__ modules are left out: importing relayq.x.y always imports relayq.x first,
    # which is not a dependency the code chose.
    graph = {m: {d for d in deps if MODULES[d].name != "__init__.py"} for m, deps in GRAPH.items()}
    graphlib.TopologicalSorter(graph).prepare()  # raises CycleError naming the cycle
