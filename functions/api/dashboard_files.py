"""The dashboard's static files, looked up safely for ``GET /dashboard`` and ``GET /dashboard/{file+}``.

The files live next to the API function (``functions/api/dashboard``); the API passes that folder
in, so this module knows nothing about Lambda and is the only place that maps a request path to a file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".json": "application/json",
    ".txt": "text/plain; charset=utf-8",
    ".map": "application/json",
}
INDEX = "index.html"


@dataclass(frozen=True)
class StaticFile:
    body: bytes
    content_type: str
    # The page itself must never be cached past a deploy (it names the scripts); assets may be briefly.
    cache_control: str


def dashboard_file(root: Path, path: str) -> StaticFile | None:
    """The file under ``root`` that ``path`` (the part after ``/dashboard``) names, or None.

    Only plain relative names of known file types are served: no ``..``, no absolute paths,
    no hidden files, no symlinks leading out of ``root``. An empty path is the index page.
    """
    if "\x00" in path:
        return None
    relative = PurePosixPath(path.strip("/") or INDEX)
    parts = relative.parts
    if not parts or any(part in {"", ".", ".."} or part.startswith(".") or "\\" in part for part in parts):
        return None
    content_type = CONTENT_TYPES.get(relative.suffix.lower())
    if content_type is None:
        return None
    base = root.resolve()
    target = (base / relative).resolve()
    if not target.is_relative_to(base) or not target.is_file():
        return None
    cache = "no-cache" if target.name == INDEX else "public, max-age=300"
    return StaticFile(target.read_bytes(), content_type, cache)
