"""The local services functions reach from their containers under `sam local`, and the files that
point them there: a redis-server and moto's server on free ports of the host's bridge address,
the template's tables, the local deployment's SES sender and bucket (as `make run` has them), an
``--env-vars`` JSON and the ``--parameter-overrides``."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from devstack.functions import Resolver, function_specs
from devstack.moto_server import MotoServer
from devstack.redis_server import RedisServer
from devstack.stack import create_aws_resources, local_parameters
from devstack.template import TABLES, resources, table_environment, table_names
from relayq.container import Container

TABLE_NAMES = table_names("local")
PHYSICAL_NAMES = {logical: TABLE_NAMES[field] for logical, field in TABLES.items()}


@dataclass(frozen=True)
class LocalStack:
    redis: RedisServer
    moto: MotoServer
    env_vars_file: Path

    def parameters(self) -> dict[str, str]:
        """`make run`'s parameter values (AWS_ENDPOINT_URL is declared only when AwsEndpointUrl is
        set, see template.yaml)."""
        return local_parameters(self.redis.url, self.moto.url)

    def parameter_overrides(self) -> list[str]:
        return [f"{name}={value}" for name, value in self.parameters().items()]

    @contextmanager
    def host_container(self, function: str = "ApiFunction") -> Iterator[Container]:
        """The layer's container as ``function`` sees it in its container (the template's
        variables with these parameters), from this process: to seed what the events refer to."""
        resolver = Resolver(self.parameters(), PHYSICAL_NAMES)
        spec = next(spec for spec in function_specs(resolver).values() if spec.logical_id == function)
        with _environment({**spec.environment, **function_environment(self.redis.url, self.moto.url)}):
            yield Container()


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
    """redis-server and moto's server with the tables on ``host`` (an address containers reach),
    stopped on exit."""
    work_dir.mkdir(parents=True, exist_ok=True)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's server logs every request
    with ExitStack() as stop:
        redis = RedisServer(work_dir / "redis", host=host).start()
        stop.callback(redis.stop)
        moto = MotoServer(host=host).start()
        stop.callback(moto.stop)
        moto.create_tables(TABLE_NAMES)
        env_vars = write_env_vars(work_dir / "env.json", function_environment(redis.url, moto.url))
        stack = LocalStack(redis, moto, env_vars)
        create_aws_resources(moto, stack.parameters(), PHYSICAL_NAMES)
        yield stack


@contextmanager
def _environment(variables: Mapping[str, str]) -> Iterator[None]:
    """os.environ with ``variables`` set (settings and boto3 read it), as it was afterwards."""
    saved = {key: os.environ.get(key) for key in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
