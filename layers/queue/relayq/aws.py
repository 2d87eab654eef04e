"""boto3 clients, made once per container. ``AWS_ENDPOINT_URL`` (boto3's own variable) points them
at a local stand-in such as moto's server; nothing else differs from AWS."""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from botocore.config import Config

# Adaptive retries back off on throttling instead of failing the job transition at once.
CLIENT_CONFIG = Config(retries={"mode": "adaptive", "max_attempts": 6}, connect_timeout=3, read_timeout=10)


@cache
def client(service: str) -> Any:
    return boto3.session.Session().client(service, config=CLIENT_CONFIG)  # type: ignore[call-overload]
