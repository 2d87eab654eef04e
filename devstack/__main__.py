"""``python -m devstack`` (``make run``): the local stack until Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path
from types import FrameType

from devstack.stack import PORTS, LocalStack, StackConfig, StartError, port_option, port_variable
from devstack.template import ROOT


def parse_args(argv: list[str] | None = None) -> StackConfig:
    defaults = StackConfig(data_dir=ROOT / ".local")
    parser = argparse.ArgumentParser(prog="python -m devstack", description=__doc__)
    parser.add_argument(
        "--data-dir", type=Path, default=defaults.data_dir, help="Redis AOF, DynamoDB snapshot, env file, logs"
    )
    parser.add_argument("--host", default=defaults.host)
    for name, what in PORTS.items():
        variable = port_variable(name)
        parser.add_argument(
            port_option(name),
            type=int,
            default=int(os.environ.get(variable) or getattr(defaults, name)),
            help=f"port of {what} (default {getattr(defaults, name)}, or ${variable}); 0: any free port",
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
    args = parser.parse_args(argv)
    return StackConfig(**vars(args))


class StopRequested(BaseException):
    """SIGINT (Ctrl-C) or SIGTERM arrived (a BaseException, as KeyboardInterrupt: no `except
    Exception` on the way swallows it)."""


def _stop_requested(signum: int, frame: FrameType | None) -> None:
    # Raised wherever the main thread is, as Python's own KeyboardInterrupt is: a start that
    # waits (for a server, a container's imports) ends there and stops what it had started.
    # Later signals are ignored: the stop underway is bounded (every part has a time limit).
    for each in (signal.SIGINT, signal.SIGTERM):
        signal.signal(each, signal.SIG_IGN)
    raise StopRequested(signal.Signals(signum).name)


def main(argv: list[str] | None = None) -> int:
    stack = LocalStack(parse_args(argv))
    for each in (signal.SIGINT, signal.SIGTERM):
        signal.signal(each, _stop_requested)
    stack.log(f"starting (data in {stack.config.data_dir})")
    try:
        stack.start()  # on any failure, it has stopped what it started
        while True:
            signal.pause()
    except StopRequested:
        pass
    except StartError as error:
        print(error, file=sys.stderr)
        return 1
    stack.log("stopping")
    stack.stop()
    stack.log("stopped")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
