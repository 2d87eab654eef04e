"""The local stack: starts every part in order, stops them in reverse, keeps the data in one folder."""

from __future__ import annotations

import dataclasses
import errno
import fcntl
import json
import logging
import math
import os
import socket
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TextIO, TypeVar

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

T = TypeVar("T")
REGION = "us-east-1"
LOCAL_SENDER = "relayq@example.com"
LOCAL_BUCKET = "relayq-local-images"
# The stack's ports: what listens there, as a user knows it.
PORTS = {
    "api_port": "the API",
    "lambda_port": "the Lambda Invoke API",
    "moto_port": "moto: DynamoDB, S3, SES",
    "redis_port": "Redis",
}


def port_option(name: str) -> str:
    return f"--{name.replace('_', '-')}"


def port_variable(name: str) -> str:
    """The environment variable that sets a port's default (``make run`` passes the environment on)."""
    return f"RELAYQ_{name.upper()}"


class StartError(Exception):
    """Something a user can fix before the stack can start: said in one message, no traceback."""


class PortInUse(StartError):
    def __init__(self, busy: dict[str, int]) -> None:
        lines = [
            f"port {port} ({PORTS[name]}) is in use by another program: "
            f"stop it, or choose another port with {port_option(name)} N or {port_variable(name)}=N "
            f"(e.g. `{port_variable(name)}={port + 1} make run`; 0 picks a free port)"
            for name, port in busy.items()
        ]
        super().__init__("\n".join(["cannot start the local stack (another `make run`?)", *lines]))
        self.busy = busy


def port_in_use(host: str, port: int) -> bool:
    """Whether binding ``host:port`` fails as it would for the stack's servers (which set
    SO_REUSEADDR too, so a connection in TIME_WAIT from a previous run does not count)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                return True
            raise
    return False


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
    _stops: list[Callable[[], None]] = field(default_factory=list)
    _log_lock: threading.Lock = field(default_factory=threading.Lock)
    _function_log: IO[str] | None = None

    def log(self, line: str) -> None:
        with self._log_lock:
            self.out.write(line + "\n")
            self.out.flush()

    @property
    def function_log_path(self) -> Path:
        return self.config.data_dir / "functions.log"

    def function_output(self, function: str, line: str) -> None:
        """A line a function printed: all of them go to the function log (the functions' JSON
        logs, as CloudWatch would hold them); the terminal gets only what needs a look."""
        with self._log_lock:
            if self._function_log is not None:
                self._function_log.write(f"[{function}] {line}\n")
                self._function_log.flush()
        shown = terminal_line(line)
        if shown is not None:
            self.log(f"[{function}] {shown}")

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
        for name in PORTS:
            if not getattr(config, name):  # 0: any free port (tests)
                setattr(config, name, free_port())
        # Every busy port in one message, before anything starts.
        busy = {name: getattr(config, name) for name in PORTS if port_in_use(config.host, getattr(config, name))}
        if busy:
            raise PortInUse(busy)
        data = config.data_dir
        data.mkdir(parents=True, exist_ok=True)
        self._lock_data_dir()
        self._function_log = self.function_log_path.open("a", encoding="utf-8")
        self._stops.append(self._close_function_log)
        self.redis = RedisServer(data / "redis", config.redis_port, appendonly=True).start()
        self._stops.append(self.redis.stop)
        self.moto = self._bound("moto_port", MotoServer(config.moto_port).start)
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
        self.lambdas = LambdaService(specs, self.function_environment(), self.log, self.function_output)
        self._stops.append(self.lambdas.stop)
        self.lambda_server = self._bound(
            "lambda_port", lambda: LambdaApiServer((config.host, config.lambda_port), self.lambdas)
        )
        gateway = Gateway(
            rest_apis(resolver)[0],
            self.lambdas,
            self.log,
            integration_timeout=INTEGRATION_TIMEOUT_S * config.timeout_scale,
        )
        self.gateway_server = self._bound("api_port", lambda: GatewayServer((config.host, config.api_port), gateway))
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

    def _bound(self, name: str, start: Callable[[], T]) -> T:
        """``start()``, whose server binds the port ``name``: taken since the check (a race),
        it is the same message as before the start."""
        try:
            return start()
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise PortInUse({name: getattr(self.config, name)}) from None
            raise

    def _lock_data_dir(self) -> None:
        """One stack per data folder: two redis-servers appending to one AOF, or two snapshots
        of different tables into one file, would each lose the other's data."""
        lock = (self.config.data_dir / "stack.lock").open("a+")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            owner = lock.read().strip() or "?"
            lock.close()
            raise StartError(
                f"cannot start the local stack: another one (pid {owner}) uses the data folder "
                f"{self.config.data_dir}: stop it, or start this one with --data-dir OTHER"
            ) from None
        lock.truncate(0)
        lock.write(f"{os.getpid()}\n")
        lock.flush()
        self._stops.append(lock.close)  # closing releases the lock

    def _close_function_log(self) -> None:
        with self._log_lock:
            if self._function_log is not None:
                self._function_log.close()
                self._function_log = None

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
                    f"  dashboard      {self.api_url}/dashboard",
                    f"  API docs       {self.api_url}/docs  (Swagger UI; no token needed to read)",
                    f"  full token     {self.tokens.full}",
                    f"  worker token   {self.tokens.worker}",
                    f"  Lambda API     {self.lambda_url}  (AWS_ENDPOINT_URL_LAMBDA)",
                    f"  DynamoDB etc.  {self.moto.url}  (moto; {restored} items restored)",
                    f"  Redis          {self.redis.url}  (AOF in {self.redis.data_dir})",
                    f"  sample image   {self.sample_image}",
                    *rules,
                    f"  settings       {self.config.data_dir / 'env'}",
                    f"  function logs  {self.function_log_path}  (JSON; here: one line per request, warnings, errors)",
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


# Log levels that reach the terminal; lower ones stay in the function log.
SHOWN_LEVELS = {"WARNING", "ERROR", "CRITICAL"}


def terminal_line(line: str) -> str | None:
    """What the terminal shows of a line a function printed, or None. Powertools' JSON lines
    (a request log per call, INFO records) are the function log's; a warning or an error shows
    as its level and message. Anything else (a print, the traceback of an unhandled error) as is."""
    if not line.startswith("{"):
        return line
    try:
        record = json.loads(line)
    except ValueError:
        return line
    if not isinstance(record, dict):
        return line
    level = str(record.get("level", "")).upper()
    if level not in SHOWN_LEVELS:
        return None
    text = f"{level} {record.get('message', '')}"
    exception = str(record.get("exception") or "").strip()
    return f"{text}: {exception.splitlines()[-1]}" if exception else text
