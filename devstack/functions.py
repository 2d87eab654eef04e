"""The functions of template.yaml as Lambda would run them: name, code folder, handler, timeout,
reserved concurrency and the environment the template gives them, with every intrinsic function
resolved against the local stand-ins."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devstack.apigw import ACCOUNT_ID, REGION
from devstack.template import NO_VALUE, ROOT, Deployment, resources, template

FUNCTION = "AWS::Serverless::Function"
STACK_NAME = "relayq-local"


def function_arn(name: str) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{name}"


@dataclass(frozen=True)
class FunctionSpec:
    """One function of the template: ``name`` is its FunctionName, or its logical id without one."""

    logical_id: str
    name: str
    code_dir: Path
    handler: str
    timeout: int
    memory: int
    reserved_concurrency: int | None
    environment: dict[str, str]

    @property
    def arn(self) -> str:
        return function_arn(self.name)


class Resolver:
    """Evaluates CloudFormation intrinsics (Ref, GetAtt, Sub, Join, If, Condition, FindInMap; the
    conditions themselves through devstack.template.Deployment) for the local stack: parameters
    take ``parameters`` or their default, tables the local names in ``physical_names``, other
    resources their names, functions their FunctionName."""

    def __init__(self, parameters: Mapping[str, str], physical_names: Mapping[str, str]) -> None:
        self.parameters = {**parameter_defaults(), **parameters}
        self.physical = dict(physical_names)
        self.deployment = Deployment(self.parameters)

    def resolve(self, value: Any) -> str:
        """A value as a string (environment variables, names)."""
        evaluated = self.evaluate(value)
        if isinstance(evaluated, bool):
            return "true" if evaluated else "false"
        if isinstance(evaluated, int | float | str):
            return str(evaluated)
        raise ValueError(f"the local stack cannot turn {value!r} of template.yaml into a string")

    def evaluate(self, value: Any) -> Any:
        if not isinstance(value, dict) or len(value) != 1:
            return value
        ((kind, arg),) = value.items()
        kind = kind.removeprefix("Fn::")
        if kind == "Ref":
            return self._ref(arg)
        if kind == "GetAtt":
            logical, attribute = arg.split(".", 1) if isinstance(arg, str) else arg
            return self._get_att(logical, attribute)
        if kind == "Sub":
            return self._sub(arg)
        if kind == "Join":
            return str(arg[0]).join(self.resolve(p) for p in arg[1])
        if kind == "If":
            name, then, otherwise = arg
            return self.evaluate(then if self.condition(name) else otherwise)
        if kind == "Condition":
            return self.condition(arg)
        if kind == "FindInMap":
            mapping, first, second = (self.resolve(part) for part in arg)
            return template()["Mappings"][mapping][first][second]
        raise ValueError(f"the local stack cannot evaluate {value!r} of template.yaml")

    def condition(self, name: str) -> bool:
        return self.deployment.condition(name)

    def _ref(self, name: str) -> Any:
        pseudo = {
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::StackName": STACK_NAME,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NoValue": NO_VALUE,
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        if name in self.physical:
            return self.physical[name]
        resource = template()["Resources"].get(name)
        if resource is None:
            raise ValueError(f"template.yaml refers to {name!r}, which the local stack does not provide")
        if resource["Type"] == FUNCTION and "FunctionName" in resource["Properties"]:
            return self.resolve(resource["Properties"]["FunctionName"])
        return name  # locally a resource is named after its logical id

    def _get_att(self, logical: str, attribute: str) -> str:
        resource = template()["Resources"].get(logical, {})
        if resource.get("Type") == FUNCTION and attribute == "Arn":
            return function_arn(self.resolve({"Ref": logical}))
        if resource.get("Type") == "AWS::DynamoDB::Table" and attribute == "Arn":
            return f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/{self.resolve({'Ref': logical})}"
        if resource.get("Type") == "AWS::IAM::Role" and attribute == "Arn":
            return f"arn:aws:iam::{ACCOUNT_ID}:role/{logical}"
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
            elif "." in name and not name.startswith("AWS::"):
                out.append(self._get_att(*name.split(".", 1)))
            else:
                out.append(self.resolve({"Ref": name}))
        out.append(rest)
        return "".join(out)


def parameter_defaults() -> dict[str, str]:
    return {name: str(p["Default"]) for name, p in template().get("Parameters", {}).items() if "Default" in p}


def function_specs(resolver: Resolver) -> dict[str, FunctionSpec]:
    """Every function of the template with its Globals applied, as SAM deploys it, by name."""
    globals_ = template().get("Globals", {}).get("Function", {})
    global_env = globals_.get("Environment", {}).get("Variables", {})
    specs = {}
    for logical_id, resource in resources(FUNCTION).items():
        props = resource["Properties"]
        env = {**global_env, **props.get("Environment", {}).get("Variables", {})}
        reserved = resolver.evaluate(props.get("ReservedConcurrentExecutions", NO_VALUE))
        spec = FunctionSpec(
            logical_id=logical_id,
            name=resolver.resolve({"Ref": logical_id}),
            code_dir=ROOT / props["CodeUri"],
            handler=props["Handler"],
            timeout=int(resolver.evaluate(props.get("Timeout", globals_.get("Timeout", 3)))),
            memory=int(resolver.evaluate(props.get("MemorySize", globals_.get("MemorySize", 128)))),
            reserved_concurrency=None if reserved is NO_VALUE else int(reserved),
            environment={
                key: resolver.resolve(value) for key, value in env.items() if resolver.evaluate(value) is not NO_VALUE
            },
        )
        specs[spec.name] = spec
    return specs


def layer_dirs() -> list[Path]:
    """The layers' content folders: with BuildMethod python3.11 SAM puts a layer's ContentUri under
    /opt/python, so the folder itself goes on sys.path."""
    return [ROOT / r["Properties"]["ContentUri"] for r in resources("AWS::Serverless::LayerVersion").values()]
