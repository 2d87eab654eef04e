"""Name this module in ``QUEUE_JOB_MODULES`` to give a worker process (or the local stack) the test
job types."""

from __future__ import annotations

from devstack.job_types import register_test_types as register

__all__ = ["register"]
