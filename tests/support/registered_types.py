"""Importing this module registers the test job types in the global registry: name it in
``QUEUE_JOB_MODULES`` to give a worker process (or the local stack) the test types."""

from __future__ import annotations

from devstack.job_types import register_test_types
from relayq.registry import registry

register_test_types(registry)
