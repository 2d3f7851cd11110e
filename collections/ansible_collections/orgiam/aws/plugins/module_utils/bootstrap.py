# -*- coding: utf-8 -*-
# Copyright: orgiam developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bootstrap: install orgiam into an organization once, from the management account.

What it deploys (every template is a file under ``cicd/``, deployed as it is, with parameters):

1. StackSets' trusted access with Organizations (``ActivateOrganizationsAccess``), if it is off;
2. the service-managed StackSet ``<prefix>-deployer`` (``cicd/bootstrap/deployer-role.yml``) with
   auto-deployment on, targeting the organization's root: every member account, nested OUs included,
   gets the role ``/orgiam/orgiam-deployer``, and so does every account created or moved later,
   without a run;
3. in the management account, which StackSets never targets, the stack ``<prefix>-organization-reader``
   (``cicd/bootstrap/organization-reader.yml``) and, when the catalog targets the management account
   (or makes it the central account), the stack ``<prefix>-deployer`` from the same deployer template;
4. the pipeline stack ``<prefix>-pipeline`` (``cicd/pipeline.yml``) in the account settings.yml names
   under ``pipeline.account``, reached through ``OrganizationAccountAccessRole``;
5. the stack ``<prefix>-management-events`` (``cicd/management-events.yml``) in the management account,
   in the region where Organizations' events arrive, forwarding them to the pipeline account.

The run is: check the input without AWS (:func:`load_inputs`), read the organization and check it
(:func:`discover`, :func:`check_organization`), build the desired state as plain data
(:func:`desired_steps`), plan every step with reads only (:func:`plan_step`, using ``plan.decide``),
and only then, unless in check mode, apply them in order (:func:`apply_step`). Every bad input is
reported before the first write. Stacks carry orgiam's tags (``templates.stack_tags``): a matching
template hash and a complete stack is a no-op, so a second run changes nothing.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from typing import Any, Callable

import yaml

from . import plan as P
from . import stackset_ops as S
from .aws import AwsAccessError, AwsClients, explain_aws_error
from .catalog import Catalog
from .resolve import ACTIVE, Account, find_account, role_targets
from .stacks import (
    TEMPLATE_BODY_MAX_BYTES,
    continue_rollback,
    create_stack,
    delete_stack,
    describe_stack,
    update_stack,
    wait_stable,
)
from .templates import stack_tags, template_hash

# orgiam's own roles (the fixed interface with cicd/pipeline.yml)
ORGIAM_PATH = "/orgiam/"
BUILD_ROLE_NAME = "orgiam-sync-build"
DEPLOYER_ROLE_NAME = "orgiam-deployer"
READER_ROLE_NAME = "orgiam-organization-reader"

DEPLOYER_TEMPLATE = os.path.join("bootstrap", "deployer-role.yml")
READER_TEMPLATE = os.path.join("bootstrap", "organization-reader.yml")
PIPELINE_TEMPLATE = "pipeline.yml"
EVENTS_TEMPLATE = "management-events.yml"

PARTS = ("deployer", "management", "pipeline")
DEFAULT_BRANCH = "main"
DEFAULT_SCHEDULE = "rate(1 day)"
# Organizations is a global service: its CloudTrail events arrive on the default bus of this region
EVENTS_REGION = {"aws": "us-east-1", "aws-us-gov": "us-gov-west-1", "aws-cn": "cn-northwest-1"}

# step kinds and the action of the trusted-access step
TRUSTED_ACCESS = "trusted-access"
STACKSET = "stackset"
STACK = "stack"
ACTIVATE = "activate"

# step statuses (as the sync's report has them)
UNCHANGED, CREATED, UPDATED, DELETED, RETAINED, PLANNED, FAILED, SKIPPED = (
    "unchanged", "created", "updated", "deleted", "retained", "planned", "failed", "skipped")
DONE_BY_ACTION = {P.CREATE: CREATED, P.UPDATE: UPDATED, P.DELETE: DELETED, P.RECREATE: CREATED,
                  P.CONTINUE_AND_UPDATE: UPDATED, ACTIVATE: UPDATED}

CODECOMMIT_REPOSITORY = re.compile(r"^[\w.-]{1,100}$")
CONNECTION_REPOSITORY = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)+$")
CONNECTION_ARN = re.compile(r"^arn:(aws[a-z-]*):(codeconnections|codestar-connections):([a-z0-9-]+):(\d{12}):connection/[A-Za-z0-9-]+$")
BAD_BRANCH = re.compile(r"(\.\.|[\x00-\x20~^:?*\[\\]|@\{|//|^/|/$|\.lock$|^\.|/\.|\.$|^@$)")


class BootstrapInputError(Exception):
    """Input that bootstrap cannot work with; nothing has been written. ``problems`` lists each one."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        head = "bootstrap cannot start" if len(problems) == 1 else f"bootstrap cannot start: {len(problems)} problems"
        super().__init__(head + ":\n  " + "\n  ".join(self.problems))


# --- input, checked without AWS -----------------------------------------------------------------


@dataclass(frozen=True)
class PipelineSettings:
    """settings.yml ``pipeline``, with the defaults filled in."""

    account: str
    provider: str
    repository: str
    branch: str = DEFAULT_BRANCH
    connection_arn: str = ""
    approval: bool = True
    schedule: str = DEFAULT_SCHEDULE
    notify_email: str = ""
    region: str = ""


@dataclass(frozen=True)
class TemplateFile:
    """A CloudFormation template as it is deployed (its text) and the parameters it declares."""

    path: str  # as shown to people
    body: str
    parameters: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class Inputs:
    catalog: Catalog
    pipeline: PipelineSettings
    templates: dict[str, TemplateFile]  # DEPLOYER_TEMPLATE, READER_TEMPLATE, ... -> file
    parts: tuple[str, ...] = PARTS


def pipeline_settings(catalog: Catalog) -> PipelineSettings:
    data = catalog.settings.pipeline or {}
    if not data:
        raise BootstrapInputError([
            f"{catalog.settings.source}: no 'pipeline' section; bootstrap needs to know where orgiam's pipeline runs "
            "and where its source is. Add, for example:\n"
            "    pipeline:\n      account: Deployments            # id or name of the pipeline's account\n"
            "      source: {provider: CodeCommit, repository: orgiam-catalog, branch: main}\n"
            "  (see docs/tutorials/pipeline.md)"
        ])
    source = data.get("source") or {}
    return PipelineSettings(
        account=str(data["account"]),
        provider=str(source.get("provider", "")),
        repository=str(source.get("repository", "")),
        branch=str(source.get("branch") or DEFAULT_BRANCH),
        connection_arn=str(source.get("connection_arn") or ""),
        approval=bool(data.get("approval", True)),
        schedule=str(data.get("schedule") or DEFAULT_SCHEDULE),
        notify_email=str(data.get("notify_email") or ""),
        region=str(data.get("region") or ""),
    )


def source_problems(pipeline: PipelineSettings, where: str) -> list[str]:
    """The repository parameters, checked as CodeCommit and CodeConnections check them."""
    problems = []
    field_name = f"{where}: field 'pipeline.source"
    if pipeline.provider == "CodeCommit":
        name = pipeline.repository
        if not CODECOMMIT_REPOSITORY.match(name) or name.lower().endswith(".git"):
            problems.append(
                f"{field_name}.repository': '{name}' is not a CodeCommit repository name: 1 to 100 letters, digits, "
                "'.', '_' or '-', not ending in '.git' (for GitHub and others use provider: CodeConnections "
                "with repository: owner/name)")
        if pipeline.connection_arn:
            problems.append(f"{field_name}.connection_arn': a CodeCommit source takes no connection; remove it")
    elif pipeline.provider == "CodeConnections":
        name = pipeline.repository
        if not CONNECTION_REPOSITORY.match(name) or name.lower().endswith(".git") or len(name) > 256:
            problems.append(
                f"{field_name}.repository': '{name}' is not a full repository id: CodeConnections needs owner/name "
                "(e.g. my-org/orgiam-catalog; GitLab groups may nest: group/subgroup/name), without '.git'")
        if not pipeline.connection_arn:
            problems.append(
                f"{field_name}.connection_arn': a CodeConnections source needs the ARN of a connection in the pipeline "
                "account (arn:aws:codeconnections:<region>:<account>:connection/<id>), made and approved in the console first")
    if BAD_BRANCH.search(pipeline.branch) or len(pipeline.branch) > 256:
        problems.append(f"{field_name}.branch': '{pipeline.branch}' is not a valid git branch name")
    return problems


def role_path_problems(catalog: Catalog) -> list[str]:
    """The deployer role may only manage IAM resources under role_path: every role must live there."""
    base = catalog.settings.role_path
    return [
        f"{role.source}: role '{role.name}' has path {role.path}, outside role_path {base} in settings.yml; "
        "the deployer role may only manage roles under role_path: move the role there, or change role_path"
        for role in catalog.roles if not role.path.startswith(base)
    ]


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


def read_template(directory: str, relative: str) -> TemplateFile:
    """Read a template file; a missing or unreadable one raises BootstrapInputError."""
    path = os.path.join(directory, relative)
    display = os.path.relpath(path) if not os.path.relpath(path).startswith("..") else path
    if not os.path.exists(path):
        raise BootstrapInputError([f"{display} does not exist: bootstrap deploys it; check the templates directory ({directory})"])
    with open(path, encoding="utf-8") as handle:
        body = handle.read()
    try:
        data = yaml.load(body, Loader=_CfnLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise BootstrapInputError([f"{display}: not a valid CloudFormation template: {exc}"]) from None
    if not isinstance(data, dict) or "Resources" not in data:
        raise BootstrapInputError([f"{display}: not a CloudFormation template (no Resources)"])
    if len(body.encode()) > TEMPLATE_BODY_MAX_BYTES:
        raise BootstrapInputError([f"{display} is {len(body.encode())} bytes, more than CloudFormation's {TEMPLATE_BODY_MAX_BYTES} for a template body"])
    return TemplateFile(display, body, dict(data.get("Parameters") or {}))


def load_inputs(catalog: Catalog, templates_dir: str, parts: tuple[str, ...] = PARTS) -> Inputs:
    """Everything bootstrap needs that AWS does not give, checked. Raises BootstrapInputError."""
    unknown = [p for p in parts if p not in PARTS]
    if unknown or not parts:
        raise BootstrapInputError([f"parts must be some of {', '.join(PARTS)}; got {', '.join(parts) or 'none'}"])
    pipeline = pipeline_settings(catalog)
    problems = source_problems(pipeline, catalog.settings.source) + role_path_problems(catalog)
    wanted = [DEPLOYER_TEMPLATE]
    if "management" in parts:
        wanted.append(READER_TEMPLATE)
    if "pipeline" in parts:
        wanted += [PIPELINE_TEMPLATE, EVENTS_TEMPLATE]
    templates = {}
    for relative in wanted:
        try:
            templates[relative] = read_template(templates_dir, relative)
        except BootstrapInputError as exc:
            problems += exc.problems
    if problems:
        raise BootstrapInputError(problems)
    return Inputs(catalog, pipeline, templates, tuple(p for p in PARTS if p in parts))


# --- the organization ---------------------------------------------------------------------------


@dataclass(frozen=True)
class OrgFacts:
    caller_account_id: str
    partition: str
    management_account_id: str
    organization_id: str
    root_id: str
    accounts: tuple[Account, ...]

    @property
    def management(self) -> Account:
        return next(a for a in self.accounts if a.id == self.management_account_id)

    def name_of(self, account_id: str) -> str:
        return next((a.name for a in self.accounts if a.id == account_id), account_id)


def _error_code(exc: Exception) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))


def discover(clients: AwsClients) -> OrgFacts:
    """Who calls, and the organization (management account, root, every account): reads only.

    Raises BootstrapInputError when the caller is not the organization's management account.
    """
    caller = clients.caller_account_id()
    try:
        arn = str(clients.client("sts").get_caller_identity()["Arn"])
    except Exception as exc:
        raise explain_aws_error(exc, clients.endpoint_url, "cannot call AWS") from None
    partition = arn.split(":")[1] if arn.startswith("arn:") else "aws"
    org = clients.client("organizations")
    try:
        organization = org.describe_organization()["Organization"]
    except Exception as exc:
        code = _error_code(exc)
        if code == "AWSOrganizationsNotInUseException":
            raise BootstrapInputError([
                f"account {caller} (your credentials) is not in an AWS Organization: run bootstrap with credentials "
                "of your organization's management account"]) from None
        if code in ("AccessDeniedException", "AccessDenied"):
            raise BootstrapInputError([
                f"account {caller} (your credentials) may not read the organization ({explain_aws_error(exc)}): "
                "run bootstrap with credentials of the organization's management account"]) from None
        raise explain_aws_error(exc, clients.endpoint_url, "read the organization") from None
    management_id = str(organization["MasterAccountId"])
    if caller != management_id:
        raise BootstrapInputError([
            f"bootstrap needs credentials of the organization's management account {management_id}; yours are of "
            f"account {caller}. Service-managed StackSets, the management account's stacks and trusted access "
            "can only be set up from there (e.g. export AWS_PROFILE=<management profile>)"])
    try:
        root_id = str(org.list_roots()["Roots"][0]["Id"])
        accounts = []
        for page in org.get_paginator("list_accounts").paginate():
            for item in page.get("Accounts", []):
                account_id = str(item["Id"])
                accounts.append(Account(
                    id=account_id, name=str(item.get("Name", account_id)),
                    status=str(item.get("State") or item.get("Status") or ""),
                    is_management=account_id == management_id,
                ))
    except Exception as exc:
        raise explain_aws_error(exc, clients.endpoint_url, "list the organization's accounts") from None
    if not any(a.id == management_id for a in accounts):
        accounts.append(Account(id=management_id, name=management_id, is_management=True))
    return OrgFacts(caller, partition, management_id, str(organization["Id"]), root_id,
                    tuple(sorted(accounts, key=lambda a: a.id)))


@dataclass(frozen=True)
class Placement:
    """Which accounts the settings name, once checked against the organization."""

    central: Account
    pipeline: Account
    management_targeted: bool  # the deployer role is also needed in the management account


def _account_problem(label: str, ref: str, facts: OrgFacts, where: str) -> str:
    names = sorted(f"{a.name} ({a.id})" for a in facts.accounts if a.status == ACTIVE)
    listing = ", ".join(names[:15]) + (f", ... ({len(names)} in all)" if len(names) > 15 else "")
    return (f"{where}: field '{label}': account '{ref}' is not in the organization {facts.organization_id}; "
            f"name an ACTIVE account by id or name: {listing}")


def check_organization(inputs: Inputs, facts: OrgFacts, region: str) -> Placement:
    """The settings against the organization. Raises BootstrapInputError listing every problem."""
    settings = inputs.catalog.settings
    problems = []
    found: dict[str, Account] = {}
    for label, ref in (("central_account", settings.central_account), ("pipeline.account", inputs.pipeline.account)):
        account = find_account(ref, facts.accounts)
        if account is None:
            problems.append(_account_problem(label, ref, facts, settings.source))
        elif account.status != ACTIVE:
            problems.append(f"{settings.source}: field '{label}': account '{account.name}' ({account.id}) is {account.status}; choose an ACTIVE account")
        else:
            found[label] = account
    arn = inputs.pipeline.connection_arn
    match = CONNECTION_ARN.match(arn) if arn else None
    if arn and match is None:
        problems.append(f"{settings.source}: field 'pipeline.source.connection_arn': '{arn}' is not a CodeConnections connection ARN")
    if match and "pipeline.account" in found:
        if match.group(4) != found["pipeline.account"].id:
            problems.append(
                f"{settings.source}: field 'pipeline.source.connection_arn': the connection is in account {match.group(4)}, "
                f"not in the pipeline account {found['pipeline.account'].name} ({found['pipeline.account'].id}); "
                "make the connection in the pipeline account")
        if match.group(3) != region:
            problems.append(
                f"{settings.source}: field 'pipeline.source.connection_arn': the connection is in region {match.group(3)}, "
                f"the pipeline in {region}; a pipeline uses a connection of its own region")
    if problems:
        raise BootstrapInputError(problems)
    management = facts.management
    targeted = any(role_targets(role, management) for role in inputs.catalog.roles)
    return Placement(found["central_account"], found["pipeline.account"], targeted or found["central_account"].is_management)


# --- desired state: plain data --------------------------------------------------------------------


@dataclass(frozen=True)
class Desired:
    """One template with its parameters, as it must be deployed (None body: must not exist)."""

    template: TemplateFile | None
    parameters: dict[str, str] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)  # what else the hash covers (stack set targets)

    @property
    def hash(self) -> str | None:
        if self.template is None:
            return None
        return template_hash({"body": self.template.body, "parameters": self.parameters, **self.extra})


@dataclass
class Step:
    """One thing bootstrap deploys, and what planning and applying it found."""

    key: str
    title: str
    kind: str
    account_id: str
    account_name: str
    region: str
    name: str = ""
    desired: Desired | None = None
    stack_kind: str = ""  # the orgiam:stack-kind tag
    targets: tuple[str, ...] = ()  # stack set: the OU ids (the root) it must be deployed to
    reason_if_absent: str = ""  # why the stack is not wanted, when desired has no template
    # planning
    action: str = P.NOOP
    reason: str = ""
    deploy_to: tuple[str, ...] = ()  # stack set: targets not deployed yet
    status: str = UNCHANGED
    details: list[str] = field(default_factory=list)
    diff: dict[str, str] | None = None
    error: str = ""
    error_code: str = ""

    @property
    def changes(self) -> bool:
        return self.action in P.CHANGING or self.action == ACTIVATE or bool(self.deploy_to)

    @property
    def changed(self) -> bool:
        return self.status in (CREATED, UPDATED, DELETED) or (self.status == PLANNED and self.changes)

    @property
    def where(self) -> str:
        return f"{self.account_name} ({self.account_id}) {self.region}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key, "title": self.title, "kind": self.kind, "account_id": self.account_id,
            "account_name": self.account_name, "region": self.region, "name": self.name, "action": self.action,
            "reason": self.reason, "deploy_to": list(self.deploy_to), "status": self.status, "changed": self.changed,
            "details": list(self.details), "error": self.error, "error_code": self.error_code,
            "template": self.desired.template.path if self.desired and self.desired.template else "",
            "parameters": dict(self.desired.parameters) if self.desired else {},
        }


def build_role_arn(partition: str, pipeline_account_id: str) -> str:
    return f"arn:{partition}:iam::{pipeline_account_id}:role{ORGIAM_PATH}{BUILD_ROLE_NAME}"


def known_parameters(inputs: Inputs, facts: OrgFacts, placement: Placement, region: str) -> dict[str, str]:
    """Every value bootstrap can give a template parameter, by the parameter's name."""
    settings = inputs.catalog.settings
    pipeline = inputs.pipeline
    partition = facts.partition
    pipeline_id = placement.pipeline.id
    return {
        "BuildRoleArn": build_role_arn(partition, pipeline_id),
        "CentralAccountId": placement.central.id,
        "StackPrefix": settings.stack_prefix,
        "RolePath": settings.role_path,
        "TemplateBucket": settings.template_bucket,
        "SourceProvider": pipeline.provider,
        "RepositoryName": pipeline.repository,
        "BranchName": pipeline.branch,
        "ConnectionArn": pipeline.connection_arn,
        "ApprovalRequired": "true" if pipeline.approval else "false",
        "ScheduleExpression": pipeline.schedule,
        "NotificationEmail": pipeline.notify_email,
        "ManagementAccountId": facts.management_account_id,
        "OrganizationId": facts.organization_id,
        "PipelineAccountId": pipeline_id,
        "PipelineRegion": region,
        "EventBusArn": f"arn:{partition}:events:{region}:{pipeline_id}:event-bus/default",
        "PipelineEventBusArn": f"arn:{partition}:events:{region}:{pipeline_id}:event-bus/default",
        "TargetEventBusArn": f"arn:{partition}:events:{region}:{pipeline_id}:event-bus/default",
        "OrganizationReaderRoleArn": f"arn:{partition}:iam::{facts.management_account_id}:role{ORGIAM_PATH}{READER_ROLE_NAME}",
        "DeployerRoleName": DEPLOYER_ROLE_NAME,
        "DeployerRolePath": ORGIAM_PATH,
        "MemberRoleName": DEPLOYER_ROLE_NAME,
    }


def fill_parameters(template: TemplateFile, known: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """The values for the parameters a template declares, checked against its AllowedValues/AllowedPattern.

    An empty value is left to the template's default. A parameter bootstrap has no value for must
    have a default.
    """
    values: dict[str, str] = {}
    problems = []
    for name, spec in sorted(template.parameters.items()):
        spec = spec if isinstance(spec, dict) else {}
        value = known.get(name, "")
        if value == "" and "Default" in spec:
            continue
        if name not in known:
            problems.append(f"{template.path}: parameter {name} has no default, and bootstrap has no value for it; "
                            f"give it a Default (bootstrap knows: {', '.join(sorted(known))})")
            continue
        allowed = spec.get("AllowedValues")
        if isinstance(allowed, list) and value not in [str(v) for v in allowed]:
            problems.append(f"{template.path}: parameter {name}: '{value}' is not one of {', '.join(map(str, allowed))}")
        pattern = spec.get("AllowedPattern")
        try:
            mismatch = isinstance(pattern, str) and not re.fullmatch(pattern, value)
        except re.error:  # a Java pattern Python cannot read: CloudFormation checks it itself
            mismatch = False
        if mismatch:
            problems.append(f"{template.path}: parameter {name}: '{value}' does not match {pattern}")
        values[name] = value
    return values, problems


def events_region(partition: str) -> str:
    return EVENTS_REGION.get(partition, "us-east-1")


def desired_steps(inputs: Inputs, facts: OrgFacts, placement: Placement, region: str) -> list[Step]:
    """What bootstrap must deploy, in order. Pure. Raises BootstrapInputError for template parameters."""
    prefix = inputs.catalog.settings.stack_prefix
    known = known_parameters(inputs, facts, placement, region)
    management = facts.management
    problems: list[str] = []

    def desired(relative: str, extra: dict[str, Any] | None = None) -> Desired:
        template = inputs.templates[relative]
        values, found = fill_parameters(template, known)
        problems.extend(found)
        return Desired(template, values, extra or {})

    def at(account: Account, step_region: str) -> dict[str, str]:
        return {"account_id": account.id, "account_name": account.name, "region": step_region}

    steps = [
        Step(TRUSTED_ACCESS, "StackSets' trusted access with Organizations", TRUSTED_ACCESS, **at(management, region)),
    ]
    deployer = desired(DEPLOYER_TEMPLATE, {"auto_deployment": {"Enabled": True, "RetainStacksOnAccountRemoval": False},
                                           "targets": [facts.root_id], "regions": [region]})
    steps.append(Step("deployer-stackset", "deployer role in every member account (service-managed StackSet)", STACKSET,
                      name=f"{prefix}-deployer", desired=deployer, stack_kind="bootstrap-deployer",
                      targets=(facts.root_id,), **at(management, region)))
    if "management" in inputs.parts:
        steps.append(Step("organization-reader", "organization reader role in the management account", STACK,
                          name=f"{prefix}-organization-reader", desired=desired(READER_TEMPLATE),
                          stack_kind="bootstrap-organization-reader", **at(management, region)))
        management_deployer = desired(DEPLOYER_TEMPLATE) if placement.management_targeted else Desired(None)
        steps.append(Step("management-deployer", "deployer role in the management account", STACK,
                          name=f"{prefix}-deployer", desired=management_deployer, stack_kind="bootstrap-deployer",
                          reason_if_absent="the catalog does not target the management account",
                          **at(management, region)))
    if "pipeline" in inputs.parts:
        steps.append(Step("pipeline", "orgiam's pipeline", STACK, name=f"{prefix}-pipeline", desired=desired(PIPELINE_TEMPLATE),
                          stack_kind="bootstrap-pipeline", **at(placement.pipeline, region)))
        steps.append(Step("management-events", "Organizations events forwarded to the pipeline", STACK,
                          name=f"{prefix}-management-events", desired=desired(EVENTS_TEMPLATE),
                          stack_kind="bootstrap-management-events", **at(management, events_region(facts.partition))))
    if problems:
        raise BootstrapInputError(problems)
    return steps


# --- plan: reads only -----------------------------------------------------------------------------


@dataclass
class Options:
    check: bool = False
    diff: bool = False
    timeout: float = 900.0  # one stack operation
    stackset_timeout: float = 3600.0  # one stack set operation (every account of the organization)
    prune: str = "plan"  # for the management account's deployer stack when the catalog stops targeting it


def _cfn(clients: AwsClients, step: Step, facts: OrgFacts) -> Any:
    if step.account_id == facts.caller_account_id:
        return clients.client("cloudformation", region=step.region)
    return clients.member_client("cloudformation", step.account_id, facts.partition)


def render(parameters: dict[str, str], body: str) -> str:
    """A template and its parameters as people read them in a diff."""
    lines = ["# parameters"] + [f"{k}: {v}" for k, v in sorted(parameters.items())] + ["# template", body.rstrip()]
    return "\n".join(lines) + "\n"


def _deployed_stack(cfn: Any, name: str) -> tuple[dict[str, str], str]:
    try:
        stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
        body = cfn.get_template(StackName=name, TemplateStage="Original")["TemplateBody"]
    except Exception as exc:
        raise explain_aws_error(exc, doing=f"read stack {name}") from None
    parameters = {p["ParameterKey"]: p.get("ParameterValue", "") for p in stack.get("Parameters", [])}
    return parameters, body if isinstance(body, str) else json.dumps(body, indent=2, sort_keys=True)


def _diff(step: Step, before: str, after: str) -> dict[str, str]:
    what = f"{step.kind} {step.name}" if step.name else step.title
    return {"before_header": f"{step.account_name}: {what} (deployed)", "after_header": f"{step.account_name}: {what} (desired)",
            "before": before, "after": after}


def plan_step(clients: AwsClients, facts: OrgFacts, step: Step, options: Options) -> Step:
    """Observe the step's deployed state and decide what to do (reads only, in check mode too)."""
    cfn = _cfn(clients, step, facts)
    if step.kind == TRUSTED_ACCESS:
        if S.trusted_access_enabled(cfn):
            step.action, step.reason = P.NOOP, "enabled"
        else:
            step.action, step.reason = ACTIVATE, "StackSets may not deploy through Organizations yet"
        return step
    if step.kind == STACKSET:
        return _plan_stackset(cfn, step, options)
    return _plan_stack(cfn, step, options)


def _plan_stackset(cfn: Any, step: Step, options: Options) -> Step:
    assert step.desired is not None and step.desired.template is not None
    observed = S.describe_stack_set(cfn, step.name)
    if observed is not None and observed.permission_model not in ("", S.SERVICE_MANAGED):
        step.action = P.REFUSE
        step.reason = f"stack set {step.name} exists with {observed.permission_model} permissions; delete it or change stack_prefix"
        return step
    decision = P.decide(observed.as_stack_state() if observed else None, step.desired.hash, "never")
    step.action, step.reason = decision.action, decision.reason
    if decision.action == P.REFUSE:
        return step
    wanted_auto = step.desired.extra["auto_deployment"]
    if observed is not None and decision.action == P.NOOP and observed.auto_deployment != wanted_auto:
        step.action, step.reason = P.UPDATE, f"auto-deployment is {observed.auto_deployment}; it must be {wanted_auto}"
    if observed is not None and step.action == P.NOOP:
        summary = S.instance_summary(cfn, step.name)
        if summary.failed:
            step.action = P.UPDATE
            step.reason = f"{len(summary.failed)} stack instance(s) are not current; update them all again"
        else:
            step.details.append(f"{summary.current} stack instance(s), all current")
    deployed = set(observed.ou_ids) if observed else set()
    regions = set(observed.regions) if observed else set()
    if observed is None or not set(step.desired.extra["regions"]) <= regions:
        step.deploy_to = step.targets
    else:
        step.deploy_to = tuple(t for t in step.targets if t not in deployed)
    if step.deploy_to:
        step.reason += f"; deploy to {', '.join(step.deploy_to)} (the root: every member account) in {', '.join(step.desired.extra['regions'])}"
    if step.changes and options.diff:
        before = render(observed.parameters, observed.template_body) if observed else ""
        step.diff = _diff(step, before, render(step.desired.parameters, step.desired.template.body))
    return step


def _plan_stack(cfn: Any, step: Step, options: Options) -> Step:
    assert step.desired is not None
    observed = describe_stack(cfn, step.name)
    decision = P.decide(observed, step.desired.hash, options.prune)
    if decision.action == P.WAIT:
        observed = wait_stable(cfn, step.name, options.timeout, first_delay=1.0)
        decision = P.decide(observed, step.desired.hash, options.prune)
    step.action = decision.action
    step.reason = decision.reason
    if step.desired.template is None and decision.action in (P.NOOP, P.RETAIN, P.DELETE) and step.reason_if_absent:
        step.reason = {
            P.NOOP: f"not needed: {step.reason_if_absent}",
            P.RETAIN: f"no longer needed ({step.reason_if_absent}); kept because prune is '{options.prune}'",
            P.DELETE: f"no longer needed ({step.reason_if_absent}); deleted because prune is 'apply'",
        }[decision.action]
    if step.changes and options.diff:
        before = render(*_deployed_stack(cfn, step.name)) if observed is not None else ""
        template = step.desired.template
        after = render(step.desired.parameters, template.body) if template is not None and step.action != P.DELETE else ""
        step.diff = _diff(step, before, after)
    return step


# --- apply ----------------------------------------------------------------------------------------


def _source(parameters: dict[str, str]) -> Callable[[str, dict[str, Any]], dict[str, Any]]:
    """How a bootstrap template reaches CloudFormation: its text as it is, with its parameters."""

    def source(name: str, template: dict[str, Any]) -> dict[str, Any]:
        return {"TemplateBody": template["body"], "Parameters": S.parameter_list(parameters)}

    return source


def apply_step(
    clients: AwsClients, facts: OrgFacts, step: Step, options: Options, on_wait: Callable[[Step, str], None] | None = None
) -> Step:
    """Do what the plan decided for one step. Raises on failure (the caller records it)."""
    cfn = _cfn(clients, step, facts)
    if step.kind == TRUSTED_ACCESS:
        if step.action == ACTIVATE:
            S.activate_trusted_access(cfn)
        step.status = DONE_BY_ACTION.get(step.action, UNCHANGED)
        return step
    if step.kind == STACKSET:
        return _apply_stackset(cfn, facts, step, options, on_wait)
    return _apply_stack(cfn, step, options)


def _apply_stackset(
    cfn: Any, facts: OrgFacts, step: Step, options: Options, on_wait: Callable[[Step, str], None] | None
) -> Step:
    assert step.desired is not None and step.desired.template is not None
    desired = step.desired
    tags = stack_tags(step.stack_kind, desired.hash or "")
    auto = dict(desired.extra["auto_deployment"])
    description = f"orgiam: the role {ORGIAM_PATH}{DEPLOYER_ROLE_NAME} in every member account (playbooks/bootstrap.yml)"

    def wait(operation_id: str) -> None:
        S.wait_operation(cfn, step.name, operation_id, options.stackset_timeout,
                         on_wait=(lambda status, waited: on_wait(step, f"{status}, {int(waited)} s")) if on_wait else None)

    def settle() -> None:
        running = S.running_operation(cfn, step.name)
        if running:
            wait(running)

    if step.action == P.NOOP and not step.deploy_to:
        step.status = UNCHANGED  # the plan read the instances already
        return step
    if step.action == P.CREATE:
        S.create_stack_set(cfn, step.name, desired.template.body, desired.parameters, tags, auto, description)
    elif step.action == P.UPDATE:
        settle()
        wait(S.update_stack_set(cfn, step.name, desired.template.body, desired.parameters, tags, auto, description))
    if step.deploy_to:
        settle()
        wait(S.create_instances(cfn, step.name, list(step.deploy_to), list(desired.extra["regions"])))
    summary = S.instance_summary(cfn, step.name)
    step.details.append(f"{summary.current} of {summary.total} stack instance(s) current")
    step.status = DONE_BY_ACTION.get(step.action, UPDATED if step.deploy_to else UNCHANGED)
    if summary.failed:
        names = {a.id: a.name for a in facts.accounts}
        step.details += summary.lines(names)
        raise AwsAccessError(
            f"stack set {step.name}: {len(summary.failed)} account(s) did not get the deployer role: "
            + "; ".join(summary.lines(names, limit=5)), "StackInstancesFailed")
    return step


def _apply_stack(cfn: Any, step: Step, options: Options) -> Step:
    assert step.desired is not None
    desired = step.desired
    template = {"body": desired.template.body} if desired.template is not None else None
    tags = stack_tags(step.stack_kind, desired.hash or "")
    source = _source(desired.parameters)
    action, timeout, name = step.action, options.timeout, step.name
    if action == P.CREATE:
        assert template is not None
        create_stack(cfn, name, template, tags, timeout, source)
    elif action == P.UPDATE:
        assert template is not None
        update_stack(cfn, name, template, tags, timeout, source)
    elif action == P.DELETE:
        delete_stack(cfn, name, timeout)
    elif action == P.RECREATE:
        assert template is not None
        delete_stack(cfn, name, timeout)
        create_stack(cfn, name, template, tags, timeout, source)
    elif action == P.CONTINUE_AND_UPDATE:
        assert template is not None
        continue_rollback(cfn, name, timeout)
        update_stack(cfn, name, template, tags, timeout, source)
    step.status = DONE_BY_ACTION.get(action, RETAINED if action == P.RETAIN else UNCHANGED)
    return step


# --- the whole run --------------------------------------------------------------------------------


@dataclass
class Outcome:
    steps: list[Step]
    check: bool
    facts: OrgFacts | None = None

    @property
    def failed(self) -> list[Step]:
        return [s for s in self.steps if s.status == FAILED]

    @property
    def changed(self) -> bool:
        return any(s.changed for s in self.steps)

    def to_dict(self) -> dict[str, Any]:
        facts = self.facts
        return {
            "mode": "check" if self.check else "apply",
            "ok": not self.failed,
            "changed": self.changed,
            "management_account_id": facts.management_account_id if facts else "",
            "organization_id": facts.organization_id if facts else "",
            "steps": [s.to_dict() for s in self.steps],
        }


def _fail(step: Step, exc: BaseException) -> None:
    error = explain_aws_error(exc)
    step.status, step.error, step.error_code = FAILED, str(error), error.code


def run_bootstrap(
    clients: AwsClients,
    inputs: Inputs,
    region: str,
    options: Options,
    on_step: Callable[[Step, str], None] | None = None,
) -> Outcome:
    """Discover, check, plan every step, then (unless check) apply them in order.

    Bad input raises BootstrapInputError before any write. A step that cannot be planned fails the
    run before any write; a step that fails to apply stops the steps after it (they are skipped):
    the pipeline is never started against deployer roles that are not there.
    """
    facts = discover(clients)
    placement = check_organization(inputs, facts, region)
    steps = desired_steps(inputs, facts, placement, region)
    outcome = Outcome(steps, options.check, facts)
    report = on_step or (lambda step, phase: None)
    for step in steps:
        try:
            plan_step(clients, facts, step, options)
            if step.action == P.REFUSE:
                raise AwsAccessError(step.reason, "NotOrgiamStack")
        except Exception as exc:
            _fail(step, exc)
        report(step, "planned")
    if outcome.failed:
        for step in steps:
            if step.status != FAILED:
                step.status, step.reason = SKIPPED, f"not applied: another step could not be planned; {step.reason}"
        return outcome
    if options.check:
        for step in steps:
            step.status = PLANNED if step.changes else (RETAINED if step.action == P.RETAIN else UNCHANGED)
        return outcome
    stopped = False
    for step in steps:
        if stopped:
            step.status, step.reason = SKIPPED, "not applied: an earlier step failed"
            report(step, "done")
            continue
        try:
            apply_step(clients, facts, step, options, on_wait=lambda s, what: report(s, f"waiting: {what}"))
        except Exception as exc:
            _fail(step, exc)
            # failed stack instances leave the others working: the management account's stacks may still go
            stopped = step.error_code != "StackInstancesFailed" or step.kind != STACKSET
        report(step, "done")
    return outcome


def plan_lines(outcome: Outcome) -> list[str]:
    """The plan (or the result) as people read it: one line a step, then its details."""
    lines = []
    for step in outcome.steps:
        what = f"{step.kind} {step.name}" if step.name else step.title
        verb = step.action if step.action != P.NOOP else "none"
        if step.deploy_to and step.action == P.NOOP:
            verb = "deploy"
        head = f"[{step.where}] {what}: {verb}"
        if outcome.check:
            head += f" ({step.reason})" if step.reason else ""
        else:
            head += f" -> {step.status}" + (f" ({step.error})" if step.error else "")
        lines.append(head)
        lines += [f"    {detail}" for detail in step.details]
    return lines


def summary_line(outcome: Outcome) -> str:
    counts: dict[str, int] = {}
    for step in outcome.steps:
        counts[step.status] = counts.get(step.status, 0) + 1
    changes = sum(1 for s in outcome.steps if s.changed)
    parts = ", ".join(f"{status}: {count}" for status, count in sorted(counts.items()))
    return f"orgiam bootstrap ({'check' if outcome.check else 'apply'}): {len(outcome.steps)} steps, changes: {changes} ({parts})"
