"""boto3 clients, made once per container and reused. ``AWS_ENDPOINT_URL`` (boto3's own variable)
points them at a local stand-in such as moto's server; nothing else differs from AWS."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config

# Adaptive retries back off on throttling instead of failing the job transition at once.
CLIENT_CONFIG = Config(retries={"mode": "adaptive", "max_attempts": 6}, connect_timeout=3, read_timeout=10)


class AwsClients:
    """One boto3 client per service, made on first use (a client costs tens of milliseconds)."""

    def __init__(self, config: Config = CLIENT_CONFIG) -> None:
        self.config = config
        self._session = boto3.session.Session()
        self._clients: dict[str, Any] = {}

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self._session.client(service, config=self.config)  # type: ignore[call-overload]
        return self._clients[service]
