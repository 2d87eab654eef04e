"""The cost model prices what template.yaml creates, per samconfig environment, and the profiles'
floors stay within what the docs promise."""

from __future__ import annotations

import pytest

from bench.cost_model import FLOOR, FREE, USAGE, floor, floors, per_job_usage, sqs_cost
from devstack.template import Deployment, samconfig_environments, template
from relayq.services.cost import CostEstimate, usage_cost

ENVIRONMENTS = samconfig_environments()
SERVERLESS = {"RedisProvider": "serverless"}


def test_every_resource_type_of_the_template_is_priced_or_listed_as_free() -> None:
    kinds = {resource["Type"] for resource in template()["Resources"].values()}
    unknown = kinds - FLOOR.keys() - USAGE.keys() - FREE.keys()
    assert not unknown, f"price these in bench/cost_model.py (FLOOR or USAGE) or list them in FREE: {unknown}"


def test_a_resource_type_the_model_does_not_know_fails_the_pricing() -> None:
    document = {**template(), "Resources": {"Bus": {"Type": "AWS::Events::EventBus", "Properties": {}}}}
    with pytest.raises(KeyError, match="AWS::Events::EventBus is neither priced nor listed as free"):
        floor("x", Deployment({}, document))


def test_each_profile_has_a_samconfig_environment() -> None:
    assert {env: overrides["CostProfile"] for env, overrides in ENVIRONMENTS.items()} == {
        "lean": "lean",
        "dev": "standard",
        "prod": "resilient",
    }


def test_the_floors_stay_within_the_promised_budgets() -> None:
    by_env = floors()
    assert by_env["lean"].total <= 15
    assert by_env["dev"].total <= 25
    # resilient pays for a NAT gateway and an address in each of two zones.
    assert sum("NAT gateway" in line for line in by_env["prod"].lines) == 2


def test_the_template_hands_each_profile_its_priced_floor() -> None:
    mapping = template()["Mappings"]["CostFloors"]
    priced = {ENVIRONMENTS[env]["CostProfile"]: f"{result.total:.2f}" for env, result in floors().items()}
    assert {profile: row["Usd"] for profile, row in mapping.items()} == priced, "run python -m bench.cost_model"


@pytest.mark.parametrize("profile", ["lean", "standard", "resilient"])
def test_no_interface_endpoint_beside_a_nat(profile: str) -> None:
    created = Deployment(SERVERLESS | {"CostProfile": profile}).resources()
    assert not [n for n, r in created.items() if r["Properties"].get("VpcEndpointType") == "Interface"]
    assert {r["Properties"]["VpcEndpointType"] for r in created.values() if r["Type"] == "AWS::EC2::VPCEndpoint"} == {
        "Gateway"
    }


@pytest.mark.parametrize(("profile", "zones"), [("lean", 1), ("standard", 1), ("resilient", 2)])
def test_a_closed_vpc_gets_the_interface_endpoints_in_one_zone_unless_resilient(profile: str, zones: int) -> None:
    created = Deployment(SERVERLESS | {"CostProfile": profile, "InternetEgress": "none"}).resources()
    endpoints = {
        n: r["Properties"] for n, r in created.items() if r["Properties"].get("VpcEndpointType") == "Interface"
    }
    assert sorted(endpoints) == ["LambdaEndpoint", "SecretsManagerEndpoint", "XRayEndpoint"]
    assert {len(props["SubnetIds"]) for props in endpoints.values()} == {zones}
    assert not [n for n in created if n.startswith("Nat")]


def test_the_lean_nat_is_an_instance_that_forwards() -> None:
    created = Deployment(ENVIRONMENTS["lean"]).resources()
    assert created["NatInstance"]["Properties"]["InstanceType"] == "t4g.nano"
    assert created["NatInterface"]["Properties"]["SourceDestCheck"] is False
    assert created["PrivateDefaultRoute"]["Properties"] == {
        "RouteTableId": "<PrivateRouteTable>",
        "DestinationCidrBlock": "0.0.0.0/0",
        "NetworkInterfaceId": "<NatInterface>",
    }
    assert "NatGateway" not in created


def test_conditions_follow_the_parameters() -> None:
    existing = Deployment({})
    assert existing.condition("CreateRedis") is False and existing.condition("UseVpc") is False
    given_vpc = Deployment({"VpcId": "vpc-1", "PrivateSubnetIds": "subnet-a,subnet-b"})
    assert given_vpc.condition("UseVpc") and not given_vpc.condition("CreateVpc")
    assert given_vpc.value({"If": ["CreateVpc", ["a"], {"Ref": "PrivateSubnetIds"}]}) == ["subnet-a", "subnet-b"]
    assert given_vpc.value({"Fn::Not": [{"Fn::Equals": [{"Ref": "VpcId"}, ""]}]}) is True


def test_per_job_costs_grow_with_the_jobs_and_sqs_has_a_floor_too() -> None:
    small, large = (sum(per_job_usage(jobs).values()) for jobs in (10_000, 100_000_000))
    assert 0 < small < large
    sqs_floor, sqs_usage = sqs_cost(1_000_000)
    assert sum(sqs_floor.values()) > 0 and sum(sqs_usage.values()) > 0


def test_the_estimate_adds_the_usage_to_the_floor() -> None:
    lines = usage_cost(1_000_000, 1_000_000, 25_000)
    estimate = CostEstimate("standard", 17.52, 1_000_000, 25_000, sum(lines.values()), lines)
    shown = estimate.as_dict()
    assert shown["floor_usd"] == 17.52 and shown["total_usd"] == round(17.52 + sum(lines.values()), 2)
    assert shown["lines"]["API Gateway (REST)"] == 3.5
