"""Reads template.yaml, so tests and the local stack use the tables and schedules it declares."""

from __future__ import annotations

import tomllib
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


NO_VALUE = object()  # AWS::NoValue: the property (or list item) is left out
INTRINSICS = {"Ref", "If", "Equals", "And", "Or", "Not", "Condition", "Select", "FindInMap"}


def load(path: Path) -> dict[str, Any]:
    """Another copy of the template (an older commit's, say), read the same way."""
    loaded: dict[str, Any] = yaml.load(path.read_text(), Loader=_CfnLoader)
    return loaded


def samconfig_environments() -> dict[str, dict[str, str]]:
    """Each samconfig.toml environment that deploys -> its ``parameter_overrides``."""
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    environments = {}
    for name, commands in config.items():
        deploy = commands.get("deploy", {}).get("parameters", {}) if isinstance(commands, dict) else {}
        if "parameter_overrides" in deploy:
            pairs = (item.split("=", 1) for item in deploy["parameter_overrides"])
            environments[name] = dict(pairs)
    return environments


class Deployment:
    """The template as CloudFormation sees it for one set of parameter values: its conditions
    (Fn::Equals, And, Or, Not, Condition references) evaluated, and the Fn::If, Ref, Fn::Select and
    Fn::FindInMap of a property resolved. Other intrinsics (Sub, GetAtt...) stay as written."""

    def __init__(self, overrides: dict[str, str] | None = None, document: dict[str, Any] | None = None) -> None:
        self.template = document if document is not None else template()
        declared = self.template.get("Parameters", {})
        self.parameters: dict[str, Any] = {}
        for name, spec in declared.items():
            raw = str((overrides or {}).get(name, spec.get("Default", "")))
            self.parameters[name] = raw.split(",") if spec.get("Type") == "CommaDelimitedList" else raw
        self._conditions: dict[str, bool] = {}

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            self._conditions[name] = bool(self.value(self.template["Conditions"][name]))
        return self._conditions[name]

    def value(self, node: Any) -> Any:
        if isinstance(node, list):
            return [item for item in (self.value(v) for v in node) if item is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((key, arg),) = node.items()
            name = key.removeprefix("Fn::")
            if name in INTRINSICS:
                return self._intrinsic(name, arg)
        return {k: v for k, v in ((k, self.value(v)) for k, v in node.items()) if v is not NO_VALUE}

    def _intrinsic(self, name: str, arg: Any) -> Any:
        if name == "Ref":
            if arg == "AWS::NoValue":
                return NO_VALUE
            return self.parameters.get(arg, f"<{arg}>")
        if name == "Condition":
            return self.condition(arg)
        if name == "If":
            condition, then, otherwise = arg
            return self.value(then if self.condition(condition) else otherwise)
        if name == "Equals":
            left, right = (str(self.value(v)) for v in arg)
            return left == right
        if name == "And":
            return all(self.value(v) for v in arg)
        if name == "Or":
            return any(self.value(v) for v in arg)
        if name == "Not":
            return not self.value(arg[0])
        if name == "Select":
            index, items = self.value(arg)
            return items[int(index)] if isinstance(items, list) else {"Fn::Select": [index, items]}
        mapping, first, second = self.value(arg)  # FindInMap
        return self.template["Mappings"][mapping][first][second]

    def resources(self) -> dict[str, dict[str, Any]]:
        """The resources this deployment creates, with resolved properties."""
        created = {}
        for name, resource in self.template["Resources"].items():
            if "Condition" not in resource or self.condition(resource["Condition"]):
                created[name] = {"Type": resource["Type"], "Properties": self.value(resource.get("Properties", {}))}
        return created

    def function_globals(self) -> dict[str, Any]:
        resolved: dict[str, Any] = self.value(self.template.get("Globals", {}).get("Function", {}))
        return resolved
