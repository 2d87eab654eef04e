"""The request log line of the plugin (ts, method, route, status, auth, scope_ok, rate_limited,
user/token id, ip), built from an API Gateway event. Never the token itself."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

_UNSAFE = re.compile(r"[^0-9A-Fa-f.:]")


def request_log_fields(
    event: Mapping[str, Any], status: int, *, scope_ok: bool, token_id: str = "", auth: str | None = None
) -> dict[str, Any]:
    context = event.get("requestContext") or {}
    authorizer = context.get("authorizer") or {}
    token_id = token_id or str(authorizer.get("token_id") or "")
    return {
        "ts": datetime.now(tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "method": str(event.get("httpMethod") or ""),
        "route": str(context.get("path") or event.get("path") or ""),
        "status": status,
        "auth": auth or ("token" if token_id else "none"),
        "scope_ok": scope_ok,
        "rate_limited": status == 429,
        "user_id": 0,
        "token_id": token_id,
        # Sanitised like the plugin's: an address is only hex digits, dots and colons.
        "ip": _UNSAFE.sub("", str((context.get("identity") or {}).get("sourceIp") or ""))[:45],
    }
