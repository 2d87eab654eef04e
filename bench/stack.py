"""Local services for benchmarks: a redis-server and moto's server on free ports, torn down after."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from devstack.moto_server import MotoServer
from devstack.redis_server import RedisServer
from devstack.template import table_names

TABLES = table_names("bench")


@dataclass
class BenchStack:
    redis: RedisServer
    moto: MotoServer


@contextmanager
def bench_stack() -> Iterator[BenchStack]:
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    with tempfile.TemporaryDirectory() as tmp:
        redis_server = RedisServer(Path(tmp)).start()
        moto = MotoServer().start()
        moto.create_tables(TABLES)
        try:
            yield BenchStack(redis_server, moto)
        finally:
            moto.stop()
            redis_server.stop()
