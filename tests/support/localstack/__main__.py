"""``python -m tests.support.localstack`` (``make run``): the local stack until Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import signal
import threading
from pathlib import Path
from types import FrameType

from tests.support.localstack.stack import LocalStack, StackConfig
from tests.support.template import ROOT


def parse_args() -> StackConfig:
    defaults = StackConfig(data_dir=ROOT / ".local")
    parser = argparse.ArgumentParser(prog="python -m tests.support.localstack", description=__doc__)
    parser.add_argument(
        "--data-dir", type=Path, default=defaults.data_dir, help="Redis AOF, DynamoDB snapshot, env file"
    )
    parser.add_argument("--host", default=defaults.host)
    for name in ("api_port", "lambda_port", "moto_port", "redis_port"):
        parser.add_argument(
            f"--{name.replace('_', '-')}", type=int, default=getattr(defaults, name), help="0: any free port"
        )
    parser.add_argument(
        "--schedule-scale", type=float, default=defaults.schedule_scale, help="run rate schedules N times faster"
    )
    parser.add_argument("--snapshot-interval", type=float, default=defaults.snapshot_interval, help="seconds")
    args = parser.parse_args()
    return StackConfig(**vars(args))


def main() -> None:
    stack = LocalStack(parse_args())
    stopping = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    stack.start()
    stopping.wait()
    stack.log("stopping")
    stack.stop()
    stack.log("stopped")


if __name__ == "__main__":
    main()
