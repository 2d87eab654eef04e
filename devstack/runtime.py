"""The bootstrap of one local Lambda container (run as a script with ``python -I``, stdlib only,
like Lambda's runtime): the function's code folder and the layers on ``sys.path``, its handler
imported once, then one invocation at a time read from a pipe and answered on another.

First line out: ``{"ready": true}`` once the handler is imported (Lambda's init phase, which does
not count against the function's timeout). Then per invocation:
``{"id", "event", "deadline_ms"}`` per line in; ``{"ok": true, "result"}`` or
``{"ok": false, "error": {"errorMessage", "errorType", "stackTrace"}}`` per line out.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
import traceback
from typing import Any


class LambdaContext:
    """The attributes and method Lambda's Python runtime gives the ``context`` argument."""

    def __init__(self, request_id: str, deadline_ms: int) -> None:
        self.function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
        self.function_version = os.environ["AWS_LAMBDA_FUNCTION_VERSION"]
        self.invoked_function_arn = os.environ["RELAYQ_LOCAL_FUNCTION_ARN"]
        self.memory_limit_in_mb = int(os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"])
        self.aws_request_id = request_id
        self.log_group_name = os.environ["AWS_LAMBDA_LOG_GROUP_NAME"]
        self.log_stream_name = os.environ["AWS_LAMBDA_LOG_STREAM_NAME"]
        self.identity = None
        self.client_context = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(time.time() * 1000))


def _error(error: BaseException, error_type: str | None = None) -> dict[str, Any]:
    return {
        "errorMessage": str(error),
        "errorType": error_type or type(error).__name__,
        "stackTrace": traceback.format_tb(error.__traceback__),
    }


def _refusal(error: Exception) -> bool:
    """API Gateway's protocol: a Lambda authorizer refuses a token by failing with exactly
    "Unauthorized" (the caller gets 401). An outcome, not a fault: no traceback for it."""
    return str(error) == "Unauthorized"


def _invoke(handler: Any, request: dict[str, Any]) -> dict[str, Any]:
    try:
        result = handler(request["event"], LambdaContext(request["id"], request["deadline_ms"]))
    except Exception as error:
        if not _refusal(error):
            traceback.print_exc()
        return {"ok": False, "error": _error(error)}
    try:
        return {"ok": True, "result": json.loads(json.dumps(result))}
    except (TypeError, ValueError) as error:
        return {"ok": False, "error": _error(error, "Runtime.MarshalError")}


def main() -> None:
    code_dir, layers, fd_in, fd_out = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    sys.path[:0] = [code_dir, *filter(None, layers.split(os.pathsep))]
    os.chdir(code_dir)
    module_name, _, function_name = os.environ["_HANDLER"].rpartition(".")
    handler: Any = None
    import_error: dict[str, Any] | None = None
    try:
        handler = getattr(importlib.import_module(module_name), function_name)
    except Exception as error:  # reported on every invocation, as Lambda's Runtime.ImportModuleError
        import_error = _error(error, "Runtime.ImportModuleError")
        import_error["errorMessage"] = f"Unable to import module {module_name!r}: {error}"
        traceback.print_exc()
    with os.fdopen(fd_in, "r", encoding="utf-8") as requests, os.fdopen(fd_out, "w", encoding="utf-8") as replies:
        # The init phase is over: from here on, an invocation's time counts against its timeout.
        replies.write(json.dumps({"ready": True}) + "\n")
        replies.flush()
        for line in requests:
            request = json.loads(line)
            reply: dict[str, Any]
            reply = {"ok": False, "error": import_error} if import_error is not None else _invoke(handler, request)
            sys.stdout.flush()
            sys.stderr.flush()
            replies.write(json.dumps(reply) + "\n")
            replies.flush()


if __name__ == "__main__":
    main()
