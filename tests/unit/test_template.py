"""template.yaml declares what the code relies on. Every check iterates over what the template
declares (functions, tables, schedules), so a function or schedule added later is checked too."""

from __future__ import annotations

import ast
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from devstack.template import ROOT, TABLES, resources, samconfig_environments, template
from relayq.domain.models import check_queue_name
from relayq.domain.worker_input import WorkerInput
from relayq.dynamodb.jobs import INDEXES
from relayq.settings import Settings

FUNCTIONS = resources("AWS::Serverless::Function")
PREFIX = str(Settings.model_config.get("env_prefix", ""))

# Settings whose built-in default is right in every deployment; every other setting must be set by
# the template for each function (a missing one would silently point at the local default).
FINE_DEFAULTS = {
    "redis_auth_token",  # deployments give QUEUE_REDIS_AUTH_SECRET_ARN instead: no secret in plain text
    "redis_socket_timeout",
    "redis_health_timeout",
    "default_queue",
    "default_priority",
    "default_max_attempts",
    "default_timeout",
    "retry_delays",
    "retry_max_delay",
    "retry_jitter",
    "lease_grace_seconds",
    "max_payload_bytes",
    "job_modules",
    # Worker tuning: the defaults suit every function; a worker sets its own in its block.
    "worker_concurrency",
    "worker_reserve_seconds",
    "concurrency_limits",
    "exclusive_retry_seconds",
    "worker_status_ttl_seconds",
    "reconcile_interval_seconds",
    "reconcile_grace_seconds",
    "kick_max_jobs",
    "kick_debounce_ms",
    "api_sync_max_response_bytes",
    # Images and uploads: the defaults suit every deployment; a changed key template goes in Globals
    # (the API hands out the keys the workers read).
    "image_key_template",
    "upload_max_bytes",
    "upload_expires_seconds",
    "upload_content_types",
    # Outbound guard: nothing internal allowed, nothing public denied, unless a deployment says so.
    "outbound_allow",
    "outbound_deny",
    # API and trigger tuning with defaults fit for every deployment (the README lists them).
    "token_allowed_routes",
    "api_max_body_bytes",
    "api_max_json_depth",
    "api_max_json_number_digits",
    "cron_sites",
    "cron_queue",
    "cron_concurrency",
    "cron_request_timeout",
    "cron_connect_retries",
    "cron_batch_size",
    "cron_max_sites",
    "cron_lock_seconds",
    "cron_cooldown_seconds",
    "cron_home_url",
    "cron_function_name",
}
# Functions that never touch Redis stay out of the VPC (no cold-start ENI, no endpoints needed).
OUTSIDE_VPC = {"AuthorizerFunction"}


def _environment(function: dict[str, Any]) -> dict[str, Any]:
    variables = dict(template()["Globals"]["Function"].get("Environment", {}).get("Variables", {}))
    variables.update(function["Properties"].get("Environment", {}).get("Variables", {}))
    return variables


def _schedules() -> list[tuple[str, str, dict[str, Any]]]:
    found = []
    for name, function in FUNCTIONS.items():
        for event_name, event in function["Properties"].get("Events", {}).items():
            if event["Type"] in ("Schedule", "ScheduleV2"):
                found.append((name, event_name, event["Properties"]))
    return found


def _code_built(function: dict[str, Any]) -> bool:
    return any((ROOT / function["Properties"]["CodeUri"]).glob("*.py"))


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_handler_exists_where_the_template_points(name: str) -> None:
    props = FUNCTIONS[name]["Properties"]
    code_dir = ROOT / props["CodeUri"]
    if not _code_built(FUNCTIONS[name]):
        pytest.skip(f"{props['CodeUri']} has no code yet (its capability is built on another branch)")
    module, _, attribute = props["Handler"].rpartition(".")
    # The fixed layout: functions/<name>/<name>_app.py
    assert module == f"{code_dir.name}_app", f"{name}: handler module must be {code_dir.name}_app"
    source = code_dir / f"{module}.py"
    assert source.is_file(), f"{name}: {source.relative_to(ROOT)} does not exist"
    tree = ast.parse(source.read_text())
    defined = {node.name for node in tree.body if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)}
    defined |= {
        t.id for node in tree.body if isinstance(node, ast.Assign) for t in node.targets if isinstance(t, ast.Name)
    }
    assert attribute in defined, f"{name}: {source.relative_to(ROOT)} defines no {attribute}"


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_every_setting_the_code_reads_is_set(name: str) -> None:
    variables = _environment(FUNCTIONS[name])
    missing = [
        f"{PREFIX}{field}".upper()
        for field in Settings.model_fields
        if field not in FINE_DEFAULTS and f"{PREFIX}{field}".upper() not in variables
    ]
    assert not missing, f"{name} does not set {missing}"


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_every_queue_variable_names_a_setting(name: str) -> None:
    known = {f"{PREFIX}{field}".upper() for field in Settings.model_fields}
    unknown = [var for var in _environment(FUNCTIONS[name]) if var.startswith(PREFIX) and var not in known]
    assert not unknown, f"{name} sets {unknown}, which no setting reads (a typo?)"


def test_table_settings_name_the_declared_tables() -> None:
    tables = resources("AWS::DynamoDB::Table")
    variables = _environment(next(iter(FUNCTIONS.values())))
    for logical_id, field in TABLES.items():
        assert logical_id in tables
        assert variables[f"{PREFIX}{field}".upper()] == {"Ref": logical_id}


def test_jobs_table_declares_every_index_the_store_queries() -> None:
    props = resources("AWS::DynamoDB::Table")["JobsTable"]["Properties"]
    declared = {index["IndexName"]: index for index in props.get("GlobalSecondaryIndexes", [])}
    for attribute, index_name in INDEXES.items():
        assert index_name in declared, f"index {index_name} is queried but not declared"
        hash_key = next(k["AttributeName"] for k in declared[index_name]["KeySchema"] if k["KeyType"] == "HASH")
        assert hash_key == attribute
    # The store writes finished records with this attribute (relayq.dynamodb.jobs), TTL removes them.
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}


@pytest.mark.parametrize("name", sorted(resources("AWS::DynamoDB::Table")))
def test_tables_are_production_ready(name: str) -> None:
    props = resources("AWS::DynamoDB::Table")[name]["Properties"]
    assert props.get("BillingMode") == "PAY_PER_REQUEST"
    assert props.get("PointInTimeRecoverySpecification") == {"PointInTimeRecoveryEnabled": True}
    assert props.get("SSESpecification", {}).get("SSEEnabled") is True
    assert props.get("DeletionProtectionEnabled") == {"If": ["IsProd", True, False]}


def _parameter_default(value: Any) -> Any:
    if isinstance(value, dict) and "Ref" in value:
        return template()["Parameters"][value["Ref"]]["Default"]
    return value


@pytest.mark.parametrize(("function", "event", "props"), _schedules(), ids=lambda v: v if isinstance(v, str) else "")
def test_every_schedule_input_names_valid_queues(function: str, event: str, props: dict[str, Any]) -> None:
    rate = _parameter_default(props.get("Schedule") or props.get("ScheduleExpression"))
    assert re.fullmatch(r"(rate|cron)\(.+\)", rate), f"{function}.{event}: bad schedule {rate!r}"
    given = json.loads(props.get("Input", "{}"))
    for queue in given.get("queues", []):
        check_queue_name(queue)
    if FUNCTIONS[function]["Properties"]["CodeUri"] == "functions/worker":
        assert set(given) <= set(WorkerInput.model_fields), f"{function}.{event}: unknown keys in {given}"
        WorkerInput.model_validate(given)


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_functions_that_reach_redis_run_in_the_vpc_and_may_read_its_password(name: str) -> None:
    vpc = FUNCTIONS[name]["Properties"].get("VpcConfig")
    readers = [
        r["Ref"] for r in resources("AWS::IAM::ManagedPolicy")["CreatedRedisSecretPolicy"]["Properties"]["Roles"]
    ]
    role = FUNCTIONS[name]["Properties"].get("Role", {}).get("GetAtt", f"{name}Role.Arn").split(".")[0]
    if name in OUTSIDE_VPC:
        assert vpc is None
        assert role not in readers
    else:
        assert vpc is not None and vpc["If"][0] == "UseVpc"
        assert role in readers


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_every_function_is_watched(name: str) -> None:
    alarms = resources("AWS::CloudWatch::Alarm").values()
    text = json.dumps(list(alarms))
    errors = [
        a
        for a in alarms
        if a["Properties"].get("MetricName") == "Errors"
        and {"Name": "FunctionName", "Value": {"Ref": name}} in a["Properties"]["Dimensions"]
    ]
    assert errors, f"{name} has no Errors alarm"
    assert '"MetricName": "Throttles", "Dimensions": [{"Name": "FunctionName", "Value": {"Ref": "' + name in text
    log_groups = [g["Properties"] for g in resources("AWS::Logs::LogGroup").values()]
    assert any(g["LogGroupName"] == {"Sub": f"/aws/lambda/${{{name}}}"} and "RetentionInDays" in g for g in log_groups)


def test_scheduled_functions_keep_failed_invocations() -> None:
    configs = {
        c["Properties"]["FunctionName"]["Ref"]: c["Properties"]
        for c in resources("AWS::Lambda::EventInvokeConfig").values()
    }
    for function, _, _ in _schedules():
        assert configs[function]["DestinationConfig"]["OnFailure"]["Destination"] == {"GetAtt": "AsyncFailureQueue.Arn"}


def _statements(node: Any) -> list[dict[str, Any]]:
    if isinstance(node, dict):
        found = [node] if "Effect" in node and "Action" in node else []
        return found + [s for value in node.values() for s in _statements(value)]
    if isinstance(node, list):
        return [s for item in node for s in _statements(item)]
    return []


def _resource_texts(node: Any) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [t for value in node.values() for t in _resource_texts(value)]
    if isinstance(node, list):
        return [t for item in node for t in _resource_texts(item)]
    return []


def test_no_wildcard_resources_in_the_templates_own_policies() -> None:
    # Allowed: "everything under one named resource" (a table's indexes, a bucket's objects).
    wildcards = [
        text
        for s in _statements(template()["Resources"])
        if s["Effect"] == "Allow"
        for text in _resource_texts(s.get("Resource"))
        if "*" in text.removesuffix("/*") or text in {"*", "/*"}
    ]
    assert not wildcards


def test_outputs_give_the_urls_tables_and_redis_endpoint() -> None:
    outputs = template()["Outputs"]
    assert {"ApiUrl", "DashboardUrl", "JobsTableName", "TokensTableName", "RedisEndpoint"} <= set(outputs)
    assert outputs["DashboardUrl"]["Value"]["Sub"] == outputs["ApiUrl"]["Value"]["Sub"] + "/dashboard"


def test_events_folder_has_a_sample_for_every_built_function() -> None:
    for name, function in FUNCTIONS.items():
        if _code_built(function):
            folder = Path(ROOT / "events" / Path(function["Properties"]["CodeUri"]).name)
            assert any(folder.glob("*.json")), f"{name}: no sample event in {folder.relative_to(ROOT)}"


# Every environment that deploys (one per cost profile): cfn-lint checks every branch of the
# template but not these values (its --parameters is ignored under the SAM transform).
@pytest.mark.parametrize("environment", sorted(samconfig_environments()))
def test_samconfig_overrides_are_parameters_the_template_accepts(environment: str) -> None:
    parameters = template()["Parameters"]
    for name, value in samconfig_environments()[environment].items():
        assert name in parameters, f"[{environment}] overrides {name}, which the template does not declare"
        declared = parameters[name]
        if "AllowedValues" in declared:
            assert value in [str(v) for v in declared["AllowedValues"]], f"{name}={value}"
        if "AllowedPattern" in declared:
            assert re.fullmatch(declared["AllowedPattern"], value), f"{name}={value}"
        if declared["Type"] == "Number":
            assert declared.get("MinValue", float("-inf")) <= float(value) <= declared.get("MaxValue", float("inf"))


def _repeated_blocks(text: str, lines: int = 5, most: int = 3) -> dict[str, int]:
    """Blocks of ``lines`` consecutive lines (indentation and blank lines aside) that appear more than
    ``most`` times; a longer block copied that often contains such a block too."""
    content = [line.strip() for line in text.splitlines() if line.strip()]
    counts = Counter("\n".join(content[i : i + lines]) for i in range(len(content) - lines + 1))
    return {block: count for block, count in counts.items() if count > most}


def test_repeated_blocks_are_found() -> None:
    block = "".join(f"line {n}\n" for n in range(5))
    assert _repeated_blocks("".join(f"{block}\n  copy {i}\n" for i in range(3))) == {}
    assert _repeated_blocks("".join(f"  {block}\ncopy {i}\n" for i in range(4))) == {block.strip(): 4}


def test_no_block_of_the_template_is_copied_more_than_three_times() -> None:
    # What resources share is a YAML anchor, merged where it is used (see the top of template.yaml).
    assert _repeated_blocks((ROOT / "template.yaml").read_text()) == {}


def test_every_alarm_on_the_workers_metrics_watches_a_metric_they_emit() -> None:
    """An alarm on a metric name nobody emits never fires (with missing data not breaching)."""
    from relayq.services import metrics

    source = Path(metrics.__file__).read_text()
    emitted = set(re.findall(r'add_metric\("(\w+)"', source)) | set(metrics.OUTCOME_METRICS.values())
    namespace = template()["Globals"]["Function"]["Environment"]["Variables"]["POWERTOOLS_METRICS_NAMESPACE"]
    watched = {
        name: alarm["Properties"]["MetricName"]
        for name, alarm in resources("AWS::CloudWatch::Alarm").items()
        if alarm["Properties"].get("Namespace") == namespace
    }
    assert watched, "the template alarms on the workers' EMF metrics"
    assert {name: metric for name, metric in watched.items() if metric not in emitted} == {}


def test_workers_may_not_call_the_deployments_own_api() -> None:
    """api_sync jobs run in the workers: the API's own domain is on their outbound deny list."""
    workers = {
        name: props["Properties"]
        for name, props in resources("AWS::Serverless::Function").items()
        if props["Properties"].get("CodeUri") == "functions/worker"
    }
    assert len(workers) == 3
    for name, props in workers.items():
        deny = props["Environment"]["Variables"]["QUEUE_OUTBOUND_DENY"]
        assert deny == {"Sub": "${RestApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}"}, name
