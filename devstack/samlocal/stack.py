"""The local services functions reach from their containers under `sam local`, and the files that
point them there: a redis-server and moto's server on free ports (the containers share the host's
network), the template's tables, an ``--env-vars`` JSON and the ``--parameter-overrides``."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from devstack.moto_server import MotoServer
from devstack.redis_server import RedisServer
from devstack.template import resources, table_environment, table_names

TABLE_NAMES = table_names("local")


@dataclass(frozen=True)
class LocalStack:
    redis: RedisServer
    moto: MotoServer
    env_vars_file: Path

    def parameter_overrides(self) -> list[str]:
        # AWS_ENDPOINT_URL is declared only when this parameter is set (see template.yaml).
        return [f"AwsEndpointUrl={self.moto.url}", f"RedisUrl={self.redis.url}", "EnvironmentName=local"]


def function_environment(redis_url: str, moto_url: str) -> dict[str, str]:
    """What every function sees locally. Only variables template.yaml declares can be set this way."""
    return {
        "QUEUE_REDIS_URL": redis_url,
        **table_environment(TABLE_NAMES),
        "AWS_ENDPOINT_URL": moto_url,
    }


def write_env_vars(path: Path, environment: dict[str, str]) -> Path:
    """The ``--env-vars`` file: the same environment for every function of the template."""
    functions = resources("AWS::Serverless::Function")
    path.write_text(json.dumps(dict.fromkeys(functions, environment), indent=2) + "\n")
    return path


@contextmanager
def local_stack(work_dir: Path, host: str) -> Iterator[LocalStack]:
    """redis-server + moto's server with the tables on ``host`` (an address containers reach),
    stopped on exit."""
    work_dir.mkdir(parents=True, exist_ok=True)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's server logs every request
    redis = RedisServer(work_dir / "redis", host=host).start()
    try:
        moto = MotoServer(host=host).start()
        try:
            moto.create_tables(TABLE_NAMES)
            env_file = write_env_vars(work_dir / "env.json", function_environment(redis.url, moto.url))
            yield LocalStack(redis, moto, env_file)
        finally:
            moto.stop()
    finally:
        redis.stop()
