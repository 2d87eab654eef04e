"""The functions of template.yaml as Lambda would run them: code folder, handler, timeout and the
environment the template gives them, with every intrinsic resolved to the local stand-ins."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.apigw import ACCOUNT_ID, REGION
from tests.support.template import ROOT, resources, template

FUNCTION = "AWS::Serverless::Function"


def function_arn(name: str) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{name}"


@dataclass(frozen=True)
class FunctionSpec:
    """One function of the template. Locally its name is its logical id."""

    name: str
    code_dir: Path
    handler: str
    timeout: int
    memory: int
    environment: dict[str, str]
    events: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def arn(self) -> str:
        return function_arn(self.name)


class Resolver:
    """Resolves CloudFormation intrinsics (!Ref, !GetAtt, !Sub, !Join, !If-free values) against the
    local stack: parameters take ``overrides`` or their default, tables their local names,
    functions their local names and ARNs."""

    def __init__(self, parameters: Mapping[str, str], physical_names: Mapping[str, str]) -> None:
        self.parameters = dict(parameters)
        self.physical = dict(physical_names)

    def resolve(self, value: Any) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float | str):
            return str(value)
        if isinstance(value, dict) and len(value) == 1:
            ((kind, arg),) = value.items()
            if kind in ("Ref", "!Ref"):
                return self._ref(arg)
            if kind in ("GetAtt", "Fn::GetAtt"):
                logical, attribute = arg.split(".", 1) if isinstance(arg, str) else arg
                return self._get_att(logical, attribute)
            if kind in ("Sub", "Fn::Sub"):
                return self._sub(arg)
            if kind in ("Join", "Fn::Join"):
                separator, parts = arg
                return str(separator).join(self.resolve(p) for p in parts)
        raise ValueError(f"the local stack cannot resolve {value!r} of template.yaml")

    def _ref(self, name: str) -> str:
        pseudo = {"AWS::Region": REGION, "AWS::AccountId": ACCOUNT_ID, "AWS::StackName": "relayq-local"}
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        if name in self.physical:
            return self.physical[name]
        if name in template()["Resources"]:
            return name  # locally a resource's name is its logical id
        raise ValueError(f"template.yaml refers to {name!r}, which the local stack does not provide")

    def _get_att(self, logical: str, attribute: str) -> str:
        resource = template()["Resources"].get(logical, {})
        if resource.get("Type") == FUNCTION and attribute == "Arn":
            return function_arn(logical)
        if resource.get("Type") == "AWS::DynamoDB::Table" and attribute == "Arn":
            return f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/{self._ref(logical)}"
        raise ValueError(f"the local stack cannot resolve !GetAtt {logical}.{attribute}")

    def _sub(self, arg: str | list[Any]) -> str:
        text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
        out, rest = [], text
        while "${" in rest:
            before, _, after = rest.partition("${")
            name, _, rest = after.partition("}")
            out.append(before)
            if name in variables:
                out.append(self.resolve(variables[name]))
            elif "." in name:
                out.append(self._get_att(*name.split(".", 1)))
            else:
                out.append(self._ref(name))
        out.append(rest)
        return "".join(out)


def parameter_defaults() -> dict[str, str]:
    return {name: str(p["Default"]) for name, p in template().get("Parameters", {}).items() if "Default" in p}


def function_specs(resolver: Resolver) -> dict[str, FunctionSpec]:
    """Every function of the template with its Globals applied, as SAM would deploy it."""
    globals_ = template().get("Globals", {}).get("Function", {})
    global_env = globals_.get("Environment", {}).get("Variables", {})
    specs = {}
    for name, resource in resources(FUNCTION).items():
        props = resource["Properties"]
        env = {**global_env, **props.get("Environment", {}).get("Variables", {})}
        specs[name] = FunctionSpec(
            name=name,
            code_dir=ROOT / props["CodeUri"],
            handler=props["Handler"],
            timeout=int(props.get("Timeout", globals_.get("Timeout", 3))),
            memory=int(props.get("MemorySize", globals_.get("MemorySize", 128))),
            environment={key: resolver.resolve(value) for key, value in env.items()},
            events=props.get("Events", {}),
        )
    return specs


def layer_dirs() -> list[Path]:
    """The layers' content folders: with BuildMethod python3.11 SAM puts a layer's ContentUri under
    /opt/python, so the folder itself goes on sys.path."""
    return [ROOT / r["Properties"]["ContentUri"] for r in resources("AWS::Serverless::LayerVersion").values()]
