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
        self._clients: dict[tuple[str, str | None], Any] = {}

    def client(self, service: str, signature_version: str | None = None) -> Any:
        """``signature_version``: for clients that sign URLs (S3's presigned uploads need ``s3v4``,
        which botocore does not pick on its own for every endpoint)."""
        name = (service, signature_version)
        if name not in self._clients:
            config = (
                self.config.merge(Config(signature_version=signature_version)) if signature_version else self.config
            )
            self._clients[name] = self._session.client(service, config=config)  # type: ignore[call-overload]
        return self._clients[name]
