"""bench/load.py in a 5-second run on the e2e stack: the report and the plot are produced and the
figures are positive (the figures themselves are for bench/README.md, never asserted)."""

from __future__ import annotations

import json
from pathlib import Path

from bench.load import measure
from tests.support.stack import StackProcess


def test_a_short_load_run_reports_positive_figures(stack: StackProcess, tmp_path: Path) -> None:
    report = measure(stack, seconds=5, clients=2, memory_jobs=500, out=tmp_path)
    assert report.enqueued > 0 and report.enqueue_rate_per_s > 0 and report.drained > 0
    assert 0 < report.post_p50_ms <= report.post_p99_ms
    assert report.redis_bytes_per_100k_jobs > 0
    assert report.depth and max(depth for _, depth in report.depth) >= 0
    assert json.loads((tmp_path / "load.json").read_text())["enqueued"] == report.enqueued
    assert (tmp_path / "load.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
