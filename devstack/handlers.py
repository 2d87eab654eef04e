"""Import a function's handler module the way Lambda does (its folder is the code root)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]


def load_handler(function: str) -> ModuleType:
    folder = ROOT / "functions" / function
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))  # the function's own modules, as under /var/task
    path = folder / f"{function}_app.py"
    spec = importlib.util.spec_from_file_location(f"{function}_app", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module
