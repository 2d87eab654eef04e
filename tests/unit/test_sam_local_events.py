"""`make sam-local` invokes every function with every event of its events/ folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from devstack.samlocal.commands import SetupError
from devstack.samlocal.invoke import function_events, function_folders
from devstack.template import ROOT


def test_every_event_file_is_invoked_with_its_function() -> None:
    invoked = {event: function for function, event in function_events()}
    assert set(invoked) == set((ROOT / "events").glob("*/*.json"))
    folders = function_folders()
    for event, function in invoked.items():
        assert folders[event.parent.name] == function


def test_an_events_folder_without_a_function_is_refused(tmp_path: Path) -> None:
    (tmp_path / "events" / "worker").mkdir(parents=True)
    (tmp_path / "events" / "workers").mkdir()
    with pytest.raises(SetupError, match="workers"):
        function_events(tmp_path)
