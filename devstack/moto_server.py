"""moto's server (DynamoDB, SES, S3, Lambda... stand-in) on a free port, reached through boto3
exactly as AWS is: only ``AWS_ENDPOINT_URL`` differs."""

from __future__ import annotations

import logging
from typing import Any

import boto3
from moto.server import ThreadedMotoServer

from devstack.redis_server import free_port
from devstack.template import TABLES, create_table


class MotoServer:
    def __init__(self, port: int | None = None, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = port or free_port()
        self._server = ThreadedMotoServer(ip_address=host, port=self.port, verbose=False)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> MotoServer:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one access-log line per request otherwise
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def client(self, service: str) -> Any:
        # moto accepts any credentials; explicit ones keep the client independent of the environment.
        return boto3.client(  # type: ignore[call-overload]
            service,
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )

    def create_tables(self, names: dict[str, str]) -> None:
        """Create every table of template.yaml; ``names`` maps settings fields to table names."""
        dynamodb = self.client("dynamodb")
        existing = set(dynamodb.list_tables()["TableNames"])
        for logical_id, field in TABLES.items():
            if names[field] not in existing:
                create_table(dynamodb, logical_id, names[field])
