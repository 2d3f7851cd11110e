# -*- coding: utf-8 -*-
# Copyright: orgiam developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bootstrap's templates: CloudFormation files shipped with the collection, deployed as they are, with
parameters filled by name and checked against each template's own AllowedValues and AllowedPattern; and
orgiam's statement in the organization's resource-based delegation policy (``pipeline.delegated_admin``).

Where the files are: ``templates_dir()`` (the collection's ``files/cicd``), unless a directory is given.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from ..aws.cloudformation import TEMPLATE_BODY_MAX_BYTES
from ..catalog.pipeline import BootstrapInputError
from ..model import Desired
from .common import template_hash

# orgiam's own roles (the fixed interface with cicd/pipeline.yml)
ORGIAM_PATH = "/orgiam/"
BUILD_ROLE_NAME = "orgiam-sync-build"
DEPLOYER_ROLE_NAME = "orgiam-deployer"
READER_ROLE_NAME = "orgiam-organization-reader"

DEPLOYER_TEMPLATE = os.path.join("bootstrap", "deployer-role.yml")
READER_TEMPLATE = os.path.join("bootstrap", "organization-reader.yml")
PIPELINE_TEMPLATE = "pipeline.yml"
EVENTS_TEMPLATE = "management-events.yml"

# the pipeline template's parameter for the role its builds assume to read the organization: the management
# account's organization reader, or empty when the pipeline account is the delegated administrator and reads
# the organization itself. Given only when the template declares it, and given empty, not left to a default.
READER_ROLE_PARAMETER = "OrganizationReaderRoleArn"

# orgiam's statement in the Organizations resource-based delegation policy, found again by its Sid; the
# same reads as the organization reader role (bootstrap/organization-reader.yml), read only
ORGANIZATION_READ_SID = "OrgiamDelegatedAdminReadsTheOrganization"
ORGANIZATION_READ_ACTIONS = (
    "organizations:DescribeAccount",
    "organizations:DescribeOrganization",
    "organizations:DescribeOrganizationalUnit",
    "organizations:ListAccounts",
    "organizations:ListAccountsForParent",
    "organizations:ListChildren",
    "organizations:ListOrganizationalUnitsForParent",
    "organizations:ListParents",
    "organizations:ListRoots",
    "organizations:ListTagsForResource",
)

# with organization policies in the catalog, the delegated administrator also manages them (the
# organization policies stack lives there): the calls AWS::Organizations::Policy makes, and no other
ORGANIZATION_POLICY_ACTIONS = (
    "organizations:AttachPolicy",
    "organizations:CreatePolicy",
    "organizations:DeletePolicy",
    "organizations:DescribePolicy",
    "organizations:DetachPolicy",
    "organizations:ListPolicies",
    "organizations:ListPoliciesForTarget",
    "organizations:ListTargetsForPolicy",
    "organizations:TagResource",
    "organizations:UntagResource",
    "organizations:UpdatePolicy",
)

# Organizations is a global service: its CloudTrail events arrive on the default bus of this region
EVENTS_REGION = {"aws": "us-east-1", "aws-us-gov": "us-gov-west-1", "aws-cn": "cn-northwest-1"}


def templates_dir() -> str:
    """The templates shipped inside the collection (plugins/module_utils/render/ -> files/cicd)."""
    here = os.path.dirname(os.path.abspath(__file__))
    return os.path.normpath(os.path.join(here, "..", "..", "..", "files", "cicd"))


@dataclass(frozen=True)
class TemplateFile:
    """A CloudFormation template as it is deployed (its text) and the parameters it declares."""

    path: str  # as shown to people
    body: str
    parameters: dict[str, dict[str, Any]] = field(default_factory=dict)


class _CfnLoader(yaml.SafeLoader):
    """Reads CloudFormation YAML: short-form intrinsic functions (!Ref, !Sub, ...) become their long form."""


def _intrinsic(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if tag_suffix == "GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if tag_suffix == "Ref":
        return {"Ref": value}
    if tag_suffix == "Condition":
        return {"Condition": value}
    return {f"Fn::{tag_suffix}": value}


_CfnLoader.add_multi_constructor("!", _intrinsic)


def parse_template(text: str) -> Any:
    """A template's text (JSON or YAML, short-form intrinsics included) as data, the long forms throughout.
    Raises ValueError (with the parser's message) for text that is neither."""
    try:
        return json.loads(text)
    except ValueError:
        pass
    try:
        return yaml.load(text, Loader=_CfnLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise ValueError(str(exc)) from None


def read_template(directory: str, relative: str) -> TemplateFile:
    """Read a template file; a missing or unreadable one raises BootstrapInputError."""
    path = os.path.join(directory, relative)
    display = os.path.relpath(path) if not os.path.relpath(path).startswith("..") else path
    if not os.path.exists(path):
        raise BootstrapInputError([f"{display} does not exist: bootstrap deploys it; check the templates directory ({directory})"])
    with open(path, encoding="utf-8") as handle:
        body = handle.read()
    try:
        data = parse_template(body)
    except ValueError as exc:
        raise BootstrapInputError([f"{display}: not a valid CloudFormation template: {exc}"]) from None
    if not isinstance(data, dict) or "Resources" not in data:
        raise BootstrapInputError([f"{display}: not a CloudFormation template (no Resources)"])
    if len(body.encode()) > TEMPLATE_BODY_MAX_BYTES:
        raise BootstrapInputError([f"{display} is {len(body.encode())} bytes, more than CloudFormation's {TEMPLATE_BODY_MAX_BYTES} for a template body"])
    return TemplateFile(display, body, dict(data.get("Parameters") or {}))


def fill_parameters(template: TemplateFile, known: dict[str, str],
                    given_empty: frozenset[str] = frozenset()) -> tuple[dict[str, str], list[str]]:
    """The values for the parameters a template declares, checked against its AllowedValues/AllowedPattern.

    An empty value is left to the template's default, unless its name is in ``given_empty`` (empty means
    something there). A parameter bootstrap has no value for must have a default.
    """
    values: dict[str, str] = {}
    problems = []
    for name, spec in sorted(template.parameters.items()):
        spec = spec if isinstance(spec, dict) else {}
        value = known.get(name, "")
        if value == "" and "Default" in spec and name not in given_empty:
            continue
        if name not in known:
            problems.append(f"{template.path}: parameter {name} has no default, and bootstrap has no value for it; "
                            f"give it a Default (bootstrap knows: {', '.join(sorted(known))})")
            continue
        allowed = spec.get("AllowedValues")
        if isinstance(allowed, list) and value not in [_cfn_text(v) for v in allowed]:
            problems.append(f"{template.path}: parameter {name}: '{value}' is not one of {', '.join(map(_cfn_text, allowed))}")
        pattern = spec.get("AllowedPattern")
        try:
            mismatch = isinstance(pattern, str) and not re.fullmatch(pattern, value)
        except re.error:  # a Java pattern Python cannot read: CloudFormation checks it itself
            mismatch = False
        if mismatch:
            problems.append(f"{template.path}: parameter {name}: '{value}' does not match {pattern}")
        values[name] = value
    return values, problems


def _cfn_text(value: Any) -> str:
    """A YAML scalar as CloudFormation reads it: unquoted true/false are the strings "true"/"false"."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def events_region(partition: str) -> str:
    return EVENTS_REGION.get(partition, "us-east-1")




def build_role_arn(partition: str, pipeline_account_id: str) -> str:
    return f"arn:{partition}:iam::{pipeline_account_id}:role{ORGIAM_PATH}{BUILD_ROLE_NAME}"


def desired_file(template: TemplateFile | None, parameters: dict[str, str] | None = None, extra: dict[str, Any] | None = None) -> Desired:
    """A template file with its parameters as a task's desired state; the hash covers all three."""
    if template is None:
        return Desired(None, None)
    parameters, extra = dict(parameters or {}), dict(extra or {})
    digest = template_hash({"body": template.body, "parameters": parameters, **extra})
    return Desired(template.body, digest, parameters=parameters, source_path=template.path, extra=extra)


# --- the Organizations delegation policy ------------------------------------------------------------


def organization_read_statement(partition: str, account_id: str, manages_policies: bool = False) -> dict[str, Any]:
    """orgiam's statement: ``account_id`` (the delegated administrator) may read the organization, and, when the
    catalog has organization policies (``manages_policies``), manage them; nothing more."""
    actions = ORGANIZATION_READ_ACTIONS + (ORGANIZATION_POLICY_ACTIONS if manages_policies else ())
    return {
        "Sid": ORGANIZATION_READ_SID,
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:{partition}:iam::{account_id}:root"},
        "Action": sorted(actions),
        "Resource": "*",
    }


def policy_statements(document: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The statements of a policy document (one statement may stand alone, not in a list)."""
    found = (document or {}).get("Statement", [])
    if isinstance(found, dict):
        return [found]
    return [s for s in found if isinstance(s, dict)] if isinstance(found, list) else []


def orgiam_statement(document: dict[str, Any] | None) -> dict[str, Any] | None:
    """orgiam's statement in a delegation policy (by its Sid), if it has one."""
    return next((s for s in policy_statements(document) if s.get("Sid") == ORGANIZATION_READ_SID), None)


def same_statement(first: dict[str, Any] | None, second: dict[str, Any] | None) -> bool:
    """Equal as IAM reads them: the order of actions and a one-item list against a string do not count."""
    def normal(statement: dict[str, Any] | None) -> Any:
        if statement is None:
            return None
        actions = statement.get("Action", [])
        return dict(statement, Action=sorted([actions] if isinstance(actions, str) else actions))
    return json.dumps(normal(first), sort_keys=True) == json.dumps(normal(second), sort_keys=True)


def with_statement(document: dict[str, Any] | None, statement: dict[str, Any]) -> dict[str, Any]:
    """``document`` with orgiam's statement in place of the one it had (or added last); every other statement
    is kept as it is, in its place."""
    others = policy_statements(document)
    merged, placed = [], False
    for existing in others:
        if existing.get("Sid") == statement.get("Sid"):
            if not placed:
                merged.append(statement)
                placed = True
            continue
        merged.append(existing)
    if not placed:
        merged.append(statement)
    return {"Version": str((document or {}).get("Version") or "2012-10-17"), "Statement": merged}
