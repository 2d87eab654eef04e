"""Each function of template.yaml loads only what its own work needs: imported in a fresh
interpreter as Lambda starts it (bench.cold_start's targets), then with the services every
invocation of it builds, the modules below are not loaded. Timings are bench.cold_start's."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from bench.cold_start import Target, functions

# Loaded only by the job of the type that needs it (the registry imports a type on first use).
JOB_TYPES = (
    "PIL",
    "email_validator",
    "relayq.job_types.email",
    "relayq.job_types.image_processing",
    "relayq.job_types.api_sync",
)
# OpenAPI's document model: only GET /openapi.json and /docs build it.
OPENAPI_MODEL = "aws_lambda_powertools.event_handler.openapi.models"
# Per handler module: what none of its invocations needs besides the job types.
NOT_NEEDED = {
    "api_app": ("relayq.services.cron", "relayq.services.uploads", OPENAPI_MODEL),
    # The job models too: the token and its scope are all it reads.
    "authorizer_app": (
        "redis",
        "relayq.services",
        "relayq.redis",
        "relayq.domain.models",
        "aws_lambda_powertools.event_handler",
    ),
    "cron_app": ("relayq.services.uploads",),
    "worker_app": ("relayq.services.cron", "relayq.services.uploads", "aws_lambda_powertools.event_handler"),
}
TARGETS = {target.name: target for target in functions()}


def loaded_modules(target: Target) -> tuple[set[str], set[str]]:
    """The modules loaded after the handler's import, and after its first use too."""
    code = (
        "import importlib, json\n"
        f"for name in {list(target.modules)!r}: importlib.import_module(name)\n"
        "imported = sorted(sys.modules)\n"
        "from relayq.container import container\n"
        f"for name in {list(target.first_use)!r}: getattr(container(), name)\n"
        "print(json.dumps([imported, sorted(sys.modules)]))\n"
    )
    imported, used = json.loads(target.run(code).stdout)
    return set(imported), set(used)


@pytest.fixture(scope="module")
def loaded() -> dict[str, tuple[set[str], set[str]]]:
    """Every function's interpreter at once (each waits mostly on the others' CPU)."""
    with ThreadPoolExecutor(len(TARGETS)) as pool:
        return dict(zip(TARGETS, pool.map(loaded_modules, TARGETS.values()), strict=True))


def present(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return sorted(name for name in names if name in modules or any(m.startswith(f"{name}.") for m in modules))


def test_every_function_of_the_template_is_checked() -> None:
    assert {t.modules[0] for t in TARGETS.values()} == set(NOT_NEEDED)
    assert len(TARGETS) >= 6  # api, authorizer, cron and the three queue-set workers


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_a_function_loads_no_module_its_work_does_not_need(
    name: str, loaded: dict[str, tuple[set[str], set[str]]]
) -> None:
    target = TARGETS[name]
    heavy = JOB_TYPES + NOT_NEEDED[target.modules[0]]
    imported, used = loaded[name]
    assert present(imported, heavy) == [], f"{name} imports them with its handler"
    assert present(used, heavy) == [], f"{name} loads them building {', '.join(target.first_use)}"
