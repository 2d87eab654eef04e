"""The dashboard's files as the API serves them: the real folder, and no way out of it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from dashboard_files import dashboard_file

ROOT = Path(__file__).resolve().parents[2] / "functions" / "api" / "dashboard"


def test_the_page_is_served_for_the_bare_route_and_its_slash_form() -> None:
    for path in ("", "/", "index.html", "/index.html"):
        page = dashboard_file(ROOT, path)
        assert page is not None, path
        assert page.content_type == "text/html; charset=utf-8"
        assert b"<title>relayq dashboard</title>" in page.body
        assert page.cache_control == "no-cache"


def test_every_asset_the_page_names_is_served_with_its_type() -> None:
    page = dashboard_file(ROOT, "")
    assert page is not None
    names = set(re.findall(r'base\.href \+ "([^"]+)"', page.body.decode()))
    assert names == {"app.css", "app.js"}
    types = {"app.css": "text/css; charset=utf-8", "app.js": "text/javascript; charset=utf-8"}
    for name in names:
        asset = dashboard_file(ROOT, name)
        assert asset is not None
        assert asset.content_type == types[name]
        assert asset.body == (ROOT / name).read_bytes()


def test_the_script_derives_the_api_from_its_own_address() -> None:
    script = (ROOT / "app.js").read_text()
    assert "location.pathname" in script
    assert not re.search(r"[\"'`]/v1", script), "no stage name in a string: the page runs under any stage"


@pytest.mark.parametrize(
    "path",
    [
        "../api_app.py",
        "/../../template.yaml",
        "..%2Fapi_app.py",
        "vendor/../../api_app.py",
        ".hidden.js",
        "/etc/passwd",
        "//etc/passwd.txt",
        "app.js\x00.css",
        "..\\api_app.py",
        "missing.js",
        "app",
    ],
)
def test_paths_outside_the_folder_or_of_unknown_kinds_are_not_found(path: str) -> None:
    assert dashboard_file(ROOT, path) is None


def test_a_symlink_leading_out_of_the_folder_is_not_followed(tmp_path: Path) -> None:
    secret = tmp_path / "secret.js"
    secret.write_text("token")
    root = tmp_path / "dashboard"
    root.mkdir()
    (root / "index.html").write_text("<!doctype html>")
    (root / "leak.js").symlink_to(secret)
    assert dashboard_file(root, "leak.js") is None
    assert dashboard_file(root, "") is not None


def test_a_folder_is_not_a_file(tmp_path: Path) -> None:
    (tmp_path / "vendor.js").mkdir()
    assert dashboard_file(tmp_path, "vendor.js") is None
