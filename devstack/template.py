"""Reads template.yaml, so tests and the local stack use the tables and schedules it declares."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]


class _CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short tags (!Ref, !Sub, ...) read as plain values."""


def _tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    elif isinstance(node, yaml.MappingNode):
        value = loader.construct_mapping(node, deep=True)
    else:
        raise yaml.YAMLError(f"unexpected node for !{suffix}")
    return {suffix: value}


_CfnLoader.add_multi_constructor("!", _tag)


@cache
def template() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.load((ROOT / "template.yaml").read_text(), Loader=_CfnLoader)
    return loaded


def resources(kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in template()["Resources"].items() if r["Type"] == kind}


def create_table(client: Any, logical_id: str, table_name: str) -> None:
    """Create a table exactly as the template declares it (keys, indexes, TTL)."""
    props = template()["Resources"][logical_id]["Properties"]
    kwargs: dict[str, Any] = {
        "TableName": table_name,
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
    }
    if "GlobalSecondaryIndexes" in props:
        kwargs["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
    client.create_table(**kwargs)
    ttl = props.get("TimeToLiveSpecification")
    if ttl:
        client.update_time_to_live(TableName=table_name, TimeToLiveSpecification=ttl)


# Logical id in template.yaml -> the settings field that names the table.
TABLES = {"JobsTable": "jobs_table", "TokensTable": "tokens_table", "IdempotencyTable": "idempotency_table"}
TABLES |= {"SitesTable": "sites_table", "RunsTable": "runs_table", "CountersTable": "counters_table"}


def table_names(prefix: str) -> dict[str, str]:
    """A name for every table of the template, keyed by the settings field that names it."""
    return {field: f"{prefix}-{field.removesuffix('_table')}" for field in TABLES.values()}


def table_environment(names: dict[str, str]) -> dict[str, str]:
    """The ``QUEUE_*_TABLE`` variables that point the settings at ``names``."""
    return {f"QUEUE_{field.upper()}": name for field, name in names.items()}
