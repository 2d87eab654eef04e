"""The local stack: starts every part in order, stops them in reverse, keeps the data in one folder."""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from devstack.functions import FunctionSpec, Resolver, function_specs
from devstack.gateway import INTEGRATION_TIMEOUT_S, Gateway, GatewayServer
from devstack.lambda_service import LambdaApiServer, LambdaService
from devstack.moto_server import MotoServer
from devstack.redis_server import RedisServer, free_port
from devstack.routes import rest_apis
from devstack.sample_image import SAMPLE_ATTACHMENT_ID, seed_sample_image
from devstack.schedules import Scheduler, schedules
from devstack.snapshot import PeriodicSaver, TableSnapshot
from devstack.template import create_table, resources, template
from devstack.tokens import LocalTokens, ensure_tokens
from relayq.dynamodb.counters import Counters

REGION = "us-east-1"
LOCAL_SENDER = "relayq@example.com"
LOCAL_BUCKET = "relayq-local-images"
# The newsletter's subscriber list of the local deployment (in LOCAL_BUCKET), in the form
# `wp user list --fields=ID,user_email,display_name --format=json` prints.
LOCAL_SUBSCRIBERS_KEY = "newsletter/subscribers.json"
LOCAL_SUBSCRIBERS = [
    {"ID": 1, "user_email": "ada@example.com", "display_name": "Ada"},
    {"ID": 2, "user_email": "grace@example.com", "display_name": "Grace"},
]


def local_parameters(redis_url: str, moto_url: str) -> dict[str, str]:
    """Parameter values of the local deployment (`make run` and `make sam-local`), for the
    parameters template.yaml declares."""
    values = {
        "EnvironmentName": "local",
        "RedisUrl": redis_url,
        "EmailFromAddress": LOCAL_SENDER,
        "ImagesBucketName": LOCAL_BUCKET,
        "EmailSubscribersKey": LOCAL_SUBSCRIBERS_KEY,
        "AwsEndpointUrl": moto_url,
    }
    declared = template().get("Parameters", {})
    return {name: value for name, value in values.items() if name in declared}


def create_aws_resources(moto: MotoServer, parameters: Mapping[str, str], physical: Mapping[str, str]) -> str:
    """What a deployment has besides the template's resources: the verified SES sender and the
    images bucket its parameters name, with the newsletter's subscriber list and the sample image
    in it (moto keeps them in memory: made on every start). ``physical``: the tables' names by
    logical id. Returns where the sample image is, for the banner."""
    if parameters.get("EmailFromAddress"):
        moto.client("ses").verify_email_identity(EmailAddress=parameters["EmailFromAddress"])
    if not parameters.get("ImagesBucketName"):
        return "none (no images bucket)"
    bucket = parameters["ImagesBucketName"]
    s3 = moto.client("s3")
    s3.create_bucket(Bucket=bucket)
    if parameters.get("EmailSubscribersKey"):
        body = json.dumps(LOCAL_SUBSCRIBERS).encode()
        s3.put_object(Bucket=bucket, Key=parameters["EmailSubscribersKey"], Body=body)
    counters = Counters(moto.client("dynamodb"), physical["CountersTable"])
    return f"attachment_id {SAMPLE_ATTACHMENT_ID} (s3://{bucket}/{seed_sample_image(s3, bucket, counters)})"


@dataclass
class StackConfig:
    data_dir: Path
    host: str = "127.0.0.1"
    api_port: int = 3000
    lambda_port: int = 3002  # 3001 is `make sam-local-api`'s
    moto_port: int = 4566
    redis_port: int = 6380
    # Rate schedules run this many times faster (tests); 1 = as template.yaml says.
    schedule_scale: float = 1.0
    # Function and integration timeouts are this many times longer (a busy machine is slower than
    # Lambda); 1 = as template.yaml and API Gateway say.
    timeout_scale: float = 1.0
    snapshot_interval: float = 5.0
    # Local servers the functions' api_sync jobs and cron fan-out may call (`host:port` entries,
    # QUEUE_OUTBOUND_ALLOW): the demos' own. Never the stack's moto, Redis, Lambda API or API: the
    # guard refuses those even if listed.
    outbound_allow: tuple[str, ...] = ()


@dataclass
class LocalStack:
    config: StackConfig
    out: TextIO = sys.stdout
    tokens: LocalTokens | None = None
    sample_image: str = "none (no images bucket)"
    _stops: list[Any] = field(default_factory=list)
    _log_lock: threading.Lock = field(default_factory=threading.Lock)

    def log(self, line: str) -> None:
        with self._log_lock:
            self.out.write(line + "\n")
            self.out.flush()

    @property
    def api_url(self) -> str:
        return f"http://{self.config.host}:{self.config.api_port}"

    @property
    def lambda_url(self) -> str:
        return f"http://{self.config.host}:{self.config.lambda_port}"

    def start(self) -> LocalStack:
        """Start everything; on any failure, stop what already started and re-raise."""
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        config = self.config
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's server logs every request
        for name in ("api_port", "lambda_port", "moto_port", "redis_port"):
            if not getattr(config, name):  # 0: any free port (tests)
                setattr(config, name, free_port())
        data = config.data_dir
        data.mkdir(parents=True, exist_ok=True)
        self.redis = RedisServer(data / "redis", config.redis_port, appendonly=True).start()
        self._stops.append(self.redis.stop)
        self.moto = MotoServer(config.moto_port).start()
        self._stops.append(self.moto.stop)

        tables = {logical: f"relayq-local-{logical}" for logical in resources("AWS::DynamoDB::Table")}
        dynamodb = self.moto.client("dynamodb")
        existing = set(dynamodb.list_tables()["TableNames"])
        for logical, name in tables.items():
            if name not in existing:
                create_table(dynamodb, logical, name)
        snapshot = TableSnapshot(dynamodb, tables.values(), data / "dynamodb.json")
        restored = snapshot.restore()
        saver = PeriodicSaver(snapshot, config.snapshot_interval)
        saver.start()
        self._stops.append(saver.stop)  # runs after the functions stopped: the last writes are kept

        resolver = Resolver(local_parameters(self.redis.url, self.moto.url), tables)
        self.sample_image = create_aws_resources(self.moto, resolver.parameters, resolver.physical)
        specs = {
            name: dataclasses.replace(
                spec,
                timeout=math.ceil(spec.timeout * config.timeout_scale),
                environment=self.with_own_api_denied(spec.environment),
            )
            for name, spec in function_specs(resolver).items()
        }
        self.lambdas = LambdaService(specs, self.function_environment(), self.log)
        self._stops.append(self.lambdas.stop)
        self.lambda_server = LambdaApiServer((config.host, config.lambda_port), self.lambdas)
        self.gateway_server = GatewayServer(
            (config.host, config.api_port),
            Gateway(
                rest_apis(resolver)[0],
                self.lambdas,
                self.log,
                integration_timeout=INTEGRATION_TIMEOUT_S * config.timeout_scale,
            ),
        )
        self._serve(self.lambda_server)
        self._serve(self.gateway_server)
        # One warm container per function, as after a first request, so the first call is quick.
        self.lambdas.warm()
        self._stops.append(self.gateway_server.gateway.stop)

        self.tokens = ensure_tokens(dynamodb, tables["TokensTable"], data / "env")
        self.write_env_file(specs)

        self.schedules = schedules(resolver)
        self.scheduler = Scheduler(self.schedules, self.lambdas.invoke_async, config.schedule_scale)
        self.scheduler.start()
        self._stops.append(self.scheduler.stop)
        self._banner(restored)

    def _serve(self, server: Any) -> None:
        threading.Thread(target=server.serve_forever, name=type(server).__name__, daemon=True).start()

        def stop() -> None:
            server.shutdown()
            server.server_close()

        self._stops.append(stop)

    @property
    def own_api(self) -> str:
        return f"{self.config.host}:{self.config.api_port}"

    def with_own_api_denied(self, environment: dict[str, str]) -> dict[str, str]:
        """The template denies the API's own domain on AWS; locally the API is this stack's port,
        so it joins whatever deny list the template gives a function (the template's value wins
        over the stack's defaults, which would otherwise drop it)."""
        if "QUEUE_OUTBOUND_DENY" not in environment:
            return environment
        return {**environment, "QUEUE_OUTBOUND_DENY": f"{environment['QUEUE_OUTBOUND_DENY']},{self.own_api}"}

    def function_environment(self) -> dict[str, str]:
        """What every function sees besides its template variables: the local endpoints, a
        region and credentials for boto3, no X-Ray daemon, and the outbound allow-list of the
        demos (the stack's own API denied by name; its moto, Lambda API and Redis are the
        guard's own endpoints through AWS_ENDPOINT_URL* and QUEUE_REDIS_URL)."""
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "TZ": "UTC",
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_ENDPOINT_URL": self.moto.url,
            "AWS_ENDPOINT_URL_LAMBDA": self.lambda_url,
            "POWERTOOLS_TRACE_DISABLED": "true",
            "QUEUE_OUTBOUND_ALLOW": ",".join(self.config.outbound_allow),
            "QUEUE_OUTBOUND_DENY": self.own_api,
        }

    def write_env_file(self, specs: dict[str, FunctionSpec]) -> None:
        assert self.tokens is not None
        lines = {
            "QUEUE_API_URL": self.api_url,
            "QUEUE_API_TOKEN": self.tokens.full,
            "QUEUE_WORKER_TOKEN": self.tokens.worker,
            # The stack's own services, so `set -a; . .local/env` lets tools (e.g. the token CLI)
            # reach the same data as the functions.
            "AWS_ENDPOINT_URL": self.moto.url,
            "AWS_ENDPOINT_URL_LAMBDA": self.lambda_url,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "QUEUE_REDIS_URL": self.redis.url,
            **{
                key: value
                for spec in specs.values()
                for key, value in spec.environment.items()
                if key.endswith("_TABLE")
            },
        }
        path = self.config.data_dir / "env"
        partial = path.with_suffix(".tmp")
        partial.write_text("".join(f"{key}={value}\n" for key, value in lines.items()))
        partial.replace(path)

    def _banner(self, restored: int) -> None:
        assert self.tokens is not None
        rules = [f"  schedule       {s.function} {s.expression} {json.dumps(s.input)}" for s in self.schedules]
        self.log(
            "\n".join(
                [
                    "relayq local stack",
                    f"  API            {self.api_url}",
                    f"  full token     {self.tokens.full}",
                    f"  worker token   {self.tokens.worker}",
                    f"  Lambda API     {self.lambda_url}  (AWS_ENDPOINT_URL_LAMBDA)",
                    f"  DynamoDB etc.  {self.moto.url}  (moto; {restored} items restored)",
                    f"  Redis          {self.redis.url}  (AOF in {self.redis.data_dir})",
                    f"  sample image   {self.sample_image}",
                    *rules,
                    f"  settings       {self.config.data_dir / 'env'}",
                    "ready (Ctrl-C stops)",
                ]
            )
        )

    def stop(self) -> None:
        while self._stops:
            stop = self._stops.pop()
            try:
                stop()
            except Exception as error:  # keep stopping the rest
                self.log(f"while stopping: {type(error).__name__}: {error}")
