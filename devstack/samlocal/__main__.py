"""python -m devstack.samlocal setup | check | invoke | start-api [--port N]"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from devstack.samlocal.commands import SetupError


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.samlocal", description=__doc__)
    parser.add_argument("command", choices=["setup", "check", "invoke", "start-api"])
    parser.add_argument("--port", type=int, default=3001, help="start-api port (3000 is `make run`'s)")
    parser.add_argument("--optional", action="store_true", help="setup: report a failure but exit 0")
    options = parser.parse_args()

    from devstack.samlocal import invoke, runtime

    try:
        if options.command == "setup":
            print(f"sam local: ready with {runtime.setup()}")
            return 0
        if options.command == "check":
            reason = runtime.unavailable_reason()
            print(f"sam local: cannot run: {reason}" if reason else "sam local: ready")
            return 1 if reason else 0
        with tempfile.TemporaryDirectory(prefix="sam-local-") as tmp:
            if options.command == "invoke":
                return invoke.invoke_all(Path(tmp))
            return invoke.start_api(Path(tmp), options.port)
    except SetupError as error:
        print(f"sam local: setup failed: {error}", file=sys.stderr)
        if options.optional:
            print("sam local: continuing; its smoke test will be skipped with this reason", file=sys.stderr)
            return 0
        return 1


if __name__ == "__main__":
    sys.exit(main())
