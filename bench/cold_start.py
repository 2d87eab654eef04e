"""Cold start: every function of template.yaml imports its handler module in a fresh interpreter,
against the floor every one of them pays anyway (boto3, redis, pydantic and the Powertools event
handler, logger and metrics) imported in a fresh interpreter of the same run.

Each function runs as Lambda would start it: its environment from the template as the local stack
resolves it, plus the runtime's variables, and sys.path = its code folder, then the layer. The
samples are CPU time of the import alone (interpreter start-up is the same on both sides, and other
load on the machine does not count), interleaved round by round so both see the same machine; the
ratio is the median over rounds of a function's sample over the floor's of the same round.

The container builds its services (and imports their modules) when first used, so a second figure
adds what the first invocation builds before any request leaves (the services of ``FIRST_USE``:
settings, clients, modules; no network). Then, for each function, what its import adds beyond the
floor (``python -X importtime``, self time summed per top-level package), so the cause is visible.

Run: ``PYTHONPATH=layers/queue:. .venv/bin/python -m bench.cold_start [--runs 11] [--top 6] [--profiles 3]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass

from devstack.apigw import REGION
from devstack.functions import Resolver, function_specs, layer_dirs
from devstack.template import resources

FLOOR = (
    "boto3",
    "redis",
    "pydantic",
    "aws_lambda_powertools.event_handler",
    "aws_lambda_powertools.logging",
    "aws_lambda_powertools.metrics",
)
TARGET = 1.00
MARK = "--- floor imported ---"
# Handler module -> the container's services every invocation of it uses.
FIRST_USE = {
    "api_app": ("rate_limiter", "jobs"),
    "authorizer_app": ("tokens",),
    "cron_app": ("cron",),
    "worker_app": ("worker",),
}
# What Lambda's runtime sets for every function; credentials only so boto3 finds some.
LAMBDA_ENVIRONMENT = {
    "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
    "LANG": "C.UTF-8",
    "TZ": "UTC",
    "AWS_REGION": REGION,
    "AWS_DEFAULT_REGION": REGION,
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
}


@dataclass(frozen=True)
class Target:
    """One fresh interpreter's work: import ``modules`` with ``path`` at the head of sys.path."""

    name: str
    modules: tuple[str, ...]
    path: tuple[str, ...]
    environment: dict[str, str]
    first_use: tuple[str, ...] = ()

    def run(self, code: str, *options: str) -> subprocess.CompletedProcess[str]:
        # -I: neither the working directory nor PYTHON* variables shape the import (as on Lambda).
        prelude = f"import sys\nsys.path[:0] = {list(self.path)!r}\n"
        return subprocess.run(
            [sys.executable, "-I", *options, "-c", prelude + code],
            capture_output=True,
            text=True,
            env=self.environment,
            check=True,
        )

    def import_seconds(self) -> tuple[float, float]:
        """CPU seconds of the import, and of the import then the first use."""
        code = (
            "import importlib, time\n"
            "t = time.process_time()\n"
            f"for name in {list(self.modules)!r}: importlib.import_module(name)\n"
            "imported = time.process_time() - t\n"
            f"if {list(self.first_use)!r}:\n"
            "    from relayq.container import container\n"
            f"    for name in {list(self.first_use)!r}: getattr(container(), name)\n"
            "print(imported, time.process_time() - t)\n"
        )
        imported, used = (float(x) for x in self.run(code).stdout.split())
        return imported, used

    def added_modules(self) -> dict[str, tuple[float, int]]:
        """Top-level package -> (self seconds, modules) that importing the handler adds to the floor."""
        code = (
            f"for name in {list(FLOOR)!r}: __import__(name)\n"
            f"sys.stderr.write({MARK!r} + '\\n')\n"
            f"for name in {list(self.modules)!r}: __import__(name)\n"
        )
        lines = self.run(code, "-X", "importtime").stderr.splitlines()
        added: dict[str, list[float]] = defaultdict(list)
        for line in lines[lines.index(MARK) + 1 :]:
            if not line.startswith("import time:") or "|" not in line or "self [us]" in line:
                continue
            self_us, _, name = (part.strip() for part in line.removeprefix("import time:").split("|"))
            added[name.split(".")[0]].append(int(self_us) / 1e6)
        return {package: (sum(times), len(times)) for package, times in added.items()}

    def added_median(self, runs: int) -> dict[str, tuple[float, int]]:
        """``added_modules`` over ``runs`` interpreters: each package's median time (one
        ``-X importtime`` run on a loaded machine can be off by a factor of two)."""
        samples = [self.added_modules() for _ in range(runs)]
        return {
            package: (statistics.median(s.get(package, (0.0, 0))[0] for s in samples), count)
            for package, (_, count) in samples[0].items()
        }


def functions() -> list[Target]:
    """Every function of template.yaml as the local stack would start it."""
    tables = {logical: f"relayq-local-{logical}" for logical in resources("AWS::DynamoDB::Table")}
    specs = sorted(function_specs(Resolver({}, tables)).values(), key=lambda s: s.logical_id)
    return [
        Target(
            name=spec.logical_id,
            modules=(spec.handler.rpartition(".")[0],),
            path=tuple(str(p) for p in spec.import_path),
            environment={**LAMBDA_ENVIRONMENT, **spec.runtime_environment()},
            first_use=FIRST_USE[spec.handler.rpartition(".")[0]],
        )
        for spec in specs
    ]


def floor() -> Target:
    """The floor's interpreter has the layer on sys.path: on Lambda its packages come from it."""
    return Target("floor", FLOOR, tuple(str(p) for p in layer_dirs()), LAMBDA_ENVIRONMENT)


def measure(targets: list[Target], runs: int) -> dict[str, list[tuple[float, float]]]:
    """CPU seconds of each target's import (and with its first use), one sample a round; each
    round runs every target once, the order rotated round by round so none always runs first or
    last."""
    samples: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for round_ in range(runs):
        shift = round_ % len(targets)
        for target in targets[shift:] + targets[:shift]:
            samples[target.name].append(target.import_seconds())
    return samples


def ratio(samples: list[tuple[float, float]], floor: list[tuple[float, float]], which: int) -> float:
    """The median over rounds of sample / the floor's of the same round: the machine's load
    drifts between rounds more than within one."""
    return statistics.median(s[which] / f[0] for s, f in zip(samples, floor, strict=True))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=11, help="fresh interpreters per function and for the floor")
    parser.add_argument("--top", type=int, default=6, help="packages listed per function beyond the floor")
    parser.add_argument("--profiles", type=int, default=3, help="-X importtime runs per function (median)")
    args = parser.parse_args()

    handlers = functions()
    samples = measure([floor(), *handlers], args.runs)
    base = samples.pop("floor")
    print(f"Cold import, CPU ms, median of {args.runs} fresh interpreters each, interleaved;")
    print("ratio: median over rounds of the function's / the floor's of the same round")
    print(f"floor: import {', '.join(FLOOR)} = {statistics.median(f for f, _ in base) * 1000:.1f} ms")
    print(f"{'function':<22}{'import ms':>10}{'ratio':>8}{'  ':<7}{'+ first use ms':>15}{'ratio':>8}  first use")
    for target in handlers:
        imported = statistics.median(i for i, _ in samples[target.name])
        used = statistics.median(u for _, u in samples[target.name])
        import_ratio, use_ratio = ratio(samples[target.name], base, 0), ratio(samples[target.name], base, 1)
        verdict = "ok" if import_ratio <= TARGET else "OVER"
        print(f"{target.name:<22}{imported * 1000:>10.1f}{import_ratio:>7.2f}x {verdict:<6}"
              f"{used * 1000:>15.1f}{use_ratio:>7.2f}x  {', '.join(target.first_use)}")  # fmt: skip
    print(f"target: import <= {TARGET:.2f}x the floor")

    print(f"\nWhat each handler imports beyond the floor (python -X importtime, median of {args.profiles};")
    print(f"self ms per package, modules; top {args.top})")
    for target in handlers:
        added = sorted(target.added_median(args.profiles).items(), key=lambda item: -item[1][0])
        total = sum(seconds for seconds, _ in dict(added).values())
        top = added[: args.top]
        listed = ", ".join(f"{package} {seconds * 1000:.1f} ({count})" for package, (seconds, count) in top)
        print(f"{target.name:<22}{total * 1000:>7.1f} ms: {listed}")


if __name__ == "__main__":
    main()
