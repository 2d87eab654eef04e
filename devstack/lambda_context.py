"""A Lambda context object for invoking handlers outside Lambda."""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass
class FakeLambdaContext:
    function_name: str = "relayq-test"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:relayq-test"
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"
    timeout_s: float = 900.0
    started: float = field(default_factory=time.monotonic)

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.timeout_s - (time.monotonic() - self.started)) * 1000))
