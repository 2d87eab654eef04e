"""moto's server (DynamoDB, SES, S3, Lambda... stand-in) on a free port, reached through boto3
exactly as AWS is: only ``AWS_ENDPOINT_URL`` differs."""

from __future__ import annotations

import errno
import logging
import threading
from typing import Any

import boto3
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server

from devstack.redis_server import free_port
from devstack.template import TABLES, create_table


class MotoServer:
    def __init__(self, port: int | None = None, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = port or free_port()
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> MotoServer:
        """Bind in the calling thread, then serve in another. (moto's ThreadedMotoServer binds in
        its thread: on a busy port werkzeug ends that thread with SystemExit and start() waits
        forever for a server that never comes.)"""
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one access-log line per request otherwise
        app = DomainDispatcherApplication(create_backend_app)
        try:
            self._server = make_server(self.host, self.port, app, threaded=True, request_handler=MotoRequestHandler)
        except SystemExit:  # werkzeug's answer to a failed bind, after printing why
            raise OSError(errno.EADDRINUSE, f"port {self.port} is in use") from None
        self._thread = threading.Thread(target=self._server.serve_forever, name="moto", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join()
            self._thread = None

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
