"""A worker as a separate OS process: ``python -m tests.support.worker_process QUEUE MAX_JOBS``.

Configured only through the environment (as a Lambda container is); prints its batch summary as
one JSON line. Fault tests kill it with SIGKILL in the middle of a batch.
"""

from __future__ import annotations

import json
import sys

from relayq.container import container


def main() -> None:
    queue, max_jobs = sys.argv[1], int(sys.argv[2])
    concurrency = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    result = container().jobs.process([queue], max_jobs, concurrency=concurrency)
    print(json.dumps({"processed": result.processed, "successful": result.successful, "failed": result.failed}))


if __name__ == "__main__":
    main()
