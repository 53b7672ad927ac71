"""Checks of template.yaml's security and cost posture that cfn-lint cannot know about (issue
#17), run on the template as SAM transforms it (samtranslator, offline). Each check names the
defect it guards against; scripts/check-template runs this with the venv's python."""

import os
import sys

from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator
from samtranslator.yaml_helper import yaml_parse

os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

with open("template.yaml", encoding="utf-8") as f:
    source = yaml_parse(f.read())

# As `sam validate` does: a local CodeUri becomes an S3 one before the transform.
source["Globals"]["Function"]["CodeUri"] = "s3://bucket/postcall.zip"

parameters = {
    "DatabaseSecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:db",
    "DashboardTokenSecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:token",
}
for name, spec in source["Parameters"].items():
    if "Default" in spec and name not in parameters:
        parameters[name] = spec["Default"]
transformed = Translator(None, Parser()).translate(
    sam_template=source,
    parameter_values=dict(parameters),
    get_managed_policy_map=lambda: {},
)
resources = transformed["Resources"]
failures = []


def check(ok, message):
    if not ok:
        failures.append(message)


def mentions(value, needle):
    """True when `needle` appears anywhere in a template fragment."""
    if isinstance(value, dict):
        return any(mentions(k, needle) or mentions(v, needle) for k, v in value.items())
    if isinstance(value, list):
        return any(mentions(v, needle) for v in value)
    return value == needle


# 1. Every function but the analyzer has a reserved-concurrency bound by default; the analyzer
#    is bounded by its event source's MaximumConcurrency.
for function, parameter in [
    ("DashboardFunction", "DashboardReservedConcurrency"),
    ("NotifierFunction", "NotifierReservedConcurrency"),
    ("BackfillFunction", "BackfillReservedConcurrency"),
    ("BridgeFunction", "BridgeReservedConcurrency"),
]:
    props = resources.get(function, {}).get("Properties", {})
    check(
        mentions(props.get("ReservedConcurrentExecutions"), parameter),
        f"{function}: ReservedConcurrentExecutions must come from {parameter}",
    )
    check(
        str(source["Parameters"].get(parameter, {}).get("Default", "")) != "",
        f"{parameter} must default to a bound",
    )
esm = resources.get("AnalyzerQueueEventSource", {}).get("Properties", {})
check(
    mentions(esm.get("ScalingConfig"), "AnalyzerMaximumConcurrency"),
    "the analyzer's event source must keep ScalingConfig.MaximumConcurrency",
)

# 2. Only the functions that reach Postgres may join a VPC, and their roles get the VPC access
#    policy only when subnets are set. SAM attaches it to a role it generates whenever VpcConfig
#    is present (even as an If that yields no VPC), so these four use roles of the template's
#    own whose ManagedPolicyArns carry the policy inside an If on HasVpc.
VPC_POLICY = "service-role/AWSLambdaVPCAccessExecutionRole"


def vpc_policy_only_if_has_vpc(arns):
    """Every mention of the VPC policy sits in the true branch of an Fn::If on HasVpc."""
    for arn in arns or []:
        if VPC_POLICY not in str(arn):
            continue
        if not (isinstance(arn, dict) and list(arn) == ["Fn::If"] and arn["Fn::If"][0] == "HasVpc"):
            return False
        if VPC_POLICY in str(arn["Fn::If"][2]):
            return False
    return True


for function, role in [
    ("AnalyzerFunction", "AnalyzerRole"),
    ("NotifierFunction", "NotifierRole"),
    ("BackfillFunction", "BackfillRole"),
    ("DashboardFunction", "DashboardRole"),
]:
    props = resources.get(function, {}).get("Properties", {})
    check(
        "VpcConfig" in props,
        f"{function} reaches Postgres and must take VpcConfig when subnets are set",
    )
    check(
        props.get("Role") == {"Fn::GetAtt": [role, "Arn"]} and f"{function}Role" not in resources,
        f"{function} must run as {role}, not a role SAM generates (SAM would attach the VPC policy)",
    )
    arns = resources.get(role, {}).get("Properties", {}).get("ManagedPolicyArns")
    check(
        VPC_POLICY in str(arns) and vpc_policy_only_if_has_vpc(arns),
        f"{role} must get {VPC_POLICY} only under HasVpc",
    )
bridge_role = resources.get("BridgeFunctionRole", {}).get("Properties", {})
check(
    "VpcConfig" not in resources.get("BridgeFunction", {}).get("Properties", {})
    and not mentions(bridge_role, "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole")
    and not any("AWSLambdaVPCAccessExecutionRole" in str(arn) for arn in bridge_role.get("ManagedPolicyArns", [])),
    "the bridge never talks to Postgres: no VpcConfig, no VPC access policy",
)

# 3. TRACE makes lambda_runtime log raw events (tokens, cookies, hot-lead PII).
check(
    "TRACE" not in source["Parameters"]["LogLevel"]["AllowedValues"],
    "LogLevel must not allow TRACE",
)

# 6. The hot-leads topic carries PII: encrypted, and the publisher may use a customer key.
topic = resources.get("HotLeadsTopic", {}).get("Properties", {})
check(
    mentions(topic.get("KmsMasterKeyId"), "HotLeadsTopicKmsKeyId"),
    "HotLeadsTopic must set KmsMasterKeyId",
)
analyzer_role = resources.get("AnalyzerRole", {}).get("Properties", {})
check(
    mentions(analyzer_role.get("Policies"), "kms:GenerateDataKey")
    and mentions(analyzer_role.get("Policies"), "HasCustomerKmsKey"),
    "the analyzer's role must get kms:GenerateDataKey on a customer key",
)

# 7. The LLM key never travels over plain http.
check(
    source["Parameters"]["LlmBaseUrl"]["AllowedPattern"] == "^$|^https://.+$",
    "LlmBaseUrl must allow https URLs only",
)

# 8. The database connection is verified by default, for a direct RDS instance as for RDS Proxy:
#    verify-full against the RDS bundle shipped in the functions, on every function with a
#    database.
check(
    source["Parameters"]["DatabaseTls"]["Default"] == "verify-full"
    and source["Parameters"]["DatabaseCaRoots"]["Default"] == "aws-rds",
    "DatabaseTls must default to verify-full and DatabaseCaRoots to aws-rds",
)
for function in ["AnalyzerFunction", "NotifierFunction", "BackfillFunction", "DashboardFunction"]:
    variables = (
        resources.get(function, {}).get("Properties", {}).get("Environment", {}).get("Variables", {})
    )
    check(
        mentions(variables.get("DATABASE_TLS"), "DatabaseTls")
        and mentions(variables.get("DATABASE_CA_BUNDLE"), "DatabaseCaRoots"),
        f"{function}: DATABASE_TLS and DATABASE_CA_BUNDLE must come from the parameters",
    )

# 9. No DDL rights needed by default.
check(
    source["Parameters"]["AutoMigrate"]["Default"] == "false",
    "AutoMigrate must default to false",
)

# 10. Abuse and spend are watched.
alarms = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::CloudWatch::Alarm"]
metrics = {(a.get("Namespace"), a.get("MetricName")) for a in alarms}
check(("AWS/Lambda", "Url4xxCount") in metrics, "an alarm on the dashboard's Url4xxCount")
check(("postcall", "LlmCostUsd") in metrics, "an alarm on LLM spend (postcall/LlmCostUsd)")
for function in ["AnalyzerFunction", "NotifierFunction", "BackfillFunction", "BridgeFunction", "DashboardFunction"]:
    check(
        any(
            a.get("MetricName") == "Throttles" and mentions(a.get("Dimensions"), function)
            for a in alarms
        ),
        f"an alarm on {function}'s Throttles",
    )

if failures:
    print("template policy: FAILED", file=sys.stderr)
    for failure in failures:
        print(f"  - {failure}", file=sys.stderr)
    sys.exit(1)
print(f"template policy: {len(resources)} resources after the SAM transform; every check passed")
