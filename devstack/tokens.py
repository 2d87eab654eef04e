"""The two tokens of the local stack (scope ``full`` and ``worker``), made through the token store
of the layer. A restart reuses the tokens of ``.local/env`` while they still work."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from relayq.dynamodb.tokens import TokenStore


@dataclass(frozen=True)
class LocalTokens:
    full: str
    worker: str


def read_env_file(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {key.strip(): value.strip() for key, value in pairs}


def ensure_tokens(dynamodb: Any, table: str, env_file: Path) -> LocalTokens:
    store = TokenStore(dynamodb, table)
    saved = read_env_file(env_file)

    def token(variable: str, scope: str) -> str:
        previous = saved.get(variable, "")
        info = store.authenticate(previous) if previous else None
        if info is not None and info.scope == scope:
            return previous
        return store.create(f"local-{scope}", scope).token  # type: ignore[arg-type]

    return LocalTokens(full=token("QUEUE_API_TOKEN", "full"), worker=token("QUEUE_WORKER_TOKEN", "worker"))
