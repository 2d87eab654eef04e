"""A job type known by name only (``JobRegistry.defer``) is listed at once and imported when a job
of it first comes; the built-in types are all known that way."""

from __future__ import annotations

import importlib

import pytest

from relayq import job_types
from relayq.aws import AwsClients
from relayq.domain.errors import InvalidJobType
from relayq.domain.registry import JobRegistry, JobType
from relayq.settings import Settings


@pytest.fixture
def registry() -> JobRegistry:
    return JobRegistry(Settings(), AwsClients())


def test_a_deferred_type_is_known_before_its_module_is_imported(registry: JobRegistry) -> None:
    registry.defer("noop", "devstack.job_types:Noop")
    assert registry.names() == ["noop"]
    assert type(registry.get("noop")).__name__ == "Noop"
    assert registry.get("noop") is registry.get("noop")  # made once


def test_unregister_forgets_a_deferred_type(registry: JobRegistry) -> None:
    registry.defer("echo", "devstack.job_types:Echo")
    registry.unregister("echo")
    with pytest.raises(InvalidJobType, match="Known types: none"):
        registry.get("echo")


def test_a_deferred_target_of_another_type_is_refused(registry: JobRegistry) -> None:
    registry.defer("email", "devstack.job_types:Noop")
    with pytest.raises(ValueError, match="is the job type 'noop', not 'email'"):
        registry.get("email")


@pytest.mark.parametrize(("name", "target"), sorted(job_types.BUILT_IN.items()))
def test_each_built_in_type_names_its_own_class(name: str, target: str) -> None:
    module, _, attribute = target.partition(":")
    cls = getattr(importlib.import_module(module), attribute)
    assert issubclass(cls, JobType)
    assert cls.name == name


def test_the_built_in_types_are_known_by_name(registry: JobRegistry) -> None:
    job_types.register(registry)
    assert registry.names() == ["api_sync", "email", "image_processing"]
