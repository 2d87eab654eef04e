"""A warm worker container: ``python -m tests.support.worker_loop QUEUE STOP_FILE`` invokes the
worker's Lambda handler again and again, as its schedule and kicks do, until STOP_FILE exists.
An invocation Redis failed answers its error (the handler's own answer), or raises, and the next
one goes on.
Configured only through the environment; prints one JSON line: invocations, and the error codes
the failed ones answered."""

from __future__ import annotations

import faulthandler
import json
import signal
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

from devstack.handlers import load_handler
from devstack.lambda_context import FakeLambdaContext

IDLE_S = 0.05  # between invocations, so an empty queue does not spin


def main() -> None:
    queue, stop = sys.argv[1], Path(sys.argv[2])
    faulthandler.register(signal.SIGUSR1)  # a stuck worker's threads, on stderr, on demand
    handler = load_handler("worker").handler
    invocations, errors = 0, Counter[str]()
    while not stop.exists():
        context = FakeLambdaContext(aws_request_id=str(uuid.uuid4()), timeout_s=60)
        invocations += 1
        try:
            answer = handler({"queues": [queue], "max_jobs": 100}, context)
        except Exception as error:  # a failed invocation; Lambda would run the next one all the same
            answer = {"code": type(error).__name__}
        if "code" in answer:
            errors[answer["code"]] += 1
        if not answer.get("processed"):
            time.sleep(IDLE_S)
    print(json.dumps({"invocations": invocations, "errors": dict(errors)}))


if __name__ == "__main__":
    main()
