"""``python -m devstack`` (``make run``): the local stack until Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import signal
import time
from pathlib import Path
from types import FrameType

from devstack.stack import LocalStack, StackConfig
from devstack.template import ROOT


def parse_args() -> StackConfig:
    defaults = StackConfig(data_dir=ROOT / ".local")
    parser = argparse.ArgumentParser(prog="python -m devstack", description=__doc__)
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
    parser.add_argument(
        "--timeout-scale",
        type=float,
        default=defaults.timeout_scale,
        help="make timeouts N times longer (slow machines)",
    )
    parser.add_argument("--snapshot-interval", type=float, default=defaults.snapshot_interval, help="seconds")
    parser.add_argument(
        "--outbound-allow",
        type=lambda value: tuple(part.strip() for part in value.split(",") if part.strip()),
        default=defaults.outbound_allow,
        help="host:port of local servers api_sync jobs and the cron may call (comma separated); "
        "internal addresses are refused otherwise",
    )
    args = parser.parse_args()
    return StackConfig(**vars(args))


def main() -> None:
    stack = LocalStack(parse_args())
    stopping: list[int] = []

    def request_stop(signum: int, frame: FrameType | None) -> None:
        # Only a plain append: a handler that took a lock could deadlock with the code it interrupted.
        stopping.append(signum)

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    stack.start()
    while not stopping:
        time.sleep(0.2)
    stack.log("stopping")
    stack.stop()
    stack.log("stopped")


if __name__ == "__main__":
    main()
