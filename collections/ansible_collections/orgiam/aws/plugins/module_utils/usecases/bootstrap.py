# -*- coding: utf-8 -*-
# Copyright: orgiam developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bootstrap: install orgiam into an organization once, from the management account.

What it deploys (every template is a file of the collection's ``files/cicd``, deployed as it is, with
parameters):

1. StackSets' trusted access with Organizations (``ActivateOrganizationsAccess``), if it is off;
2. the service-managed StackSet ``<prefix>-deployer`` (``bootstrap/deployer-role.yml``) with
   auto-deployment on, targeting the organization's root: every member account, nested OUs included,
   gets the role ``/orgiam/orgiam-deployer``, and so does every account created or moved later,
   without a run;
3. in the management account, which StackSets never targets, the stack ``<prefix>-organization-reader``
   (``bootstrap/organization-reader.yml``) and, when the catalog targets the management account
   (or makes it the central account), the stack ``<prefix>-deployer`` from the same deployer template;
4. the pipeline stack ``<prefix>-pipeline`` (``pipeline.yml``) in the account settings.yml names
   under ``pipeline.account``, reached through ``OrganizationAccountAccessRole``;
5. the stack ``<prefix>-management-events`` (``management-events.yml``) in the management account,
   in the region where Organizations' events arrive, forwarding them to the pipeline account.

With ``pipeline.delegated_admin`` in settings.yml (a member account, e.g. the pipeline account) the
bootstrap also registers that account as the organization's delegated administrator for StackSets,
puts orgiam's statement (read the organization, nothing more) into the organization's resource-based
delegation policy, and manages the StackSet from that account with ``CallAs=DELEGATED_ADMIN``: the
StackSet itself stays where AWS keeps every service-managed StackSet, in the management account, so one
made by an earlier bootstrap is taken over as it is. When that account is also the pipeline account and
the pipeline template declares ``OrganizationReaderRoleArn``, the pipeline reads the organization
itself (the parameter is given empty) and the organization reader is no longer needed (kept or deleted
as ``prune`` says). See docs/delegated-admin.md.

Each is a task of the same engine as the sync (``apply/engine.py``). The run: check the input without
AWS (:func:`load_inputs`), read the organization and check it (:func:`discover`,
:func:`check_organization`), build the tasks as plain data (:func:`bootstrap_tasks`), plan every task
with reads only, and only then, unless in check mode, apply them in order. A task that cannot be
planned stops the run before any write; one that fails to apply stops the tasks after it.

With ``verify: live`` the deployer role (in every account with a stack instance, and in the management
account's stack) and the organization reader are also read back through IAM, and what was changed by
hand is planned and put back (``apply/operators.py``). Member accounts are reached through the access
role (``access_role_name``): the deployer role denies itself any change to orgiam's own roles, so only
the bootstrap can put it back. An account whose role cannot be read, or put back, fails the StackSet's
step once every step ran; the other accounts and steps go on.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from typing import Any, Callable

from ..apply.engine import Engine
from ..apply.operators import OPERATORS, Context, not_verified
from ..apply.release import ReleaseOperator
from ..apply.organizations import ORGANIZATIONS_OPERATORS
from ..aws.errors import error_code, explain_aws_error
from ..aws.organizations import STACKSETS_PRINCIPAL
from ..aws.stacksets import DELEGATED_ADMIN
from ..aws.session import AwsClients
from ..catalog import Catalog
from ..catalog.pipeline import BootstrapInputError, PipelineSettings, delegated_admin_problems, pipeline_settings
from ..catalog.pipeline import role_path_problems, source_problems
from ..catalog.pipeline import CONNECTION_ARN
from ..model import NOTHING, Account, Action, Desired, Kind, Result, Status, Task
from ..render.bootstrap import (
    DEPLOYER_ROLE_NAME,
    DEPLOYER_TEMPLATE,
    EVENTS_TEMPLATE,
    ORGIAM_PATH,
    PIPELINE_TEMPLATE,
    READER_ROLE_NAME,
    READER_ROLE_PARAMETER,
    READER_TEMPLATE,
    TemplateFile,
    build_role_arn,
    desired_file,
    events_region,
    fill_parameters,
    organization_read_statement,
    read_template,
)
from ..render.release import Release, build_release, collection_version, installed_collection
from ..render.common import template_hash
from ..resolve import ACTIVE, find_account, role_targets

PARTS = ("deployer", "management", "pipeline")
VERIFY_MODES = ("tags", "live")
DEPLOYER_KIND = "bootstrap-deployer"
READER_KIND = "bootstrap-organization-reader"
# the plain stacks verify: live reads back: their every IAM resource is one plan/drift.py accounts for (the
# pipeline's stack attaches policies with AWS::IAM::Policy resources, which it does not)
LIVE_STACK_KINDS = frozenset({DEPLOYER_KIND, READER_KIND})
# errors of the StackSet's step that leave the management account's stacks to go on: they concern some
# member accounts only, and the deployer role works in the others
MEMBER_ACCOUNT_FAILURES = ("StackInstancesFailed", "RepairFailed")


@dataclass(frozen=True)
class Inputs:
    catalog: Catalog
    pipeline: PipelineSettings
    templates: dict[str, TemplateFile]  # DEPLOYER_TEMPLATE, READER_TEMPLATE, ... -> file
    parts: tuple[str, ...] = PARTS
    release: Release | None = None  # the pipeline part: the orgiam release its builds run


def load_inputs(catalog: Catalog, templates_dir: str, parts: tuple[str, ...] = PARTS) -> Inputs:
    """Everything bootstrap needs that AWS does not give, checked. Raises BootstrapInputError."""
    unknown = [p for p in parts if p not in PARTS]
    if unknown or not parts:
        raise BootstrapInputError([f"parts must be some of {', '.join(PARTS)}; got {', '.join(parts) or 'none'}"])
    pipeline = pipeline_settings(catalog)
    problems = source_problems(pipeline, catalog.settings.source) + role_path_problems(catalog)
    problems += delegated_admin_problems(pipeline, catalog.settings.source)
    wanted = [DEPLOYER_TEMPLATE]
    if "management" in parts:
        wanted.append(READER_TEMPLATE)
    if "pipeline" in parts:
        wanted += [PIPELINE_TEMPLATE, EVENTS_TEMPLATE]
    elif "management" in parts and pipeline.delegated_admin:
        wanted.append(PIPELINE_TEMPLATE)  # only its parameters: whether the pipeline still needs the organization reader
    templates = {}
    for relative in wanted:
        try:
            templates[relative] = read_template(templates_dir, relative)
        except BootstrapInputError as exc:
            problems += exc.problems
    release = None
    if "pipeline" in parts:
        try:
            release = this_release()
        except (OSError, ValueError, ImportError) as exc:
            problems.append(f"the orgiam release for the pipeline cannot be built from this installation: {exc}")
    if problems:
        raise BootstrapInputError(problems)
    return Inputs(catalog, pipeline, templates, tuple(p for p in PARTS if p in parts), release)


@functools.lru_cache(maxsize=1)
def this_release() -> Release:
    """The release of the orgiam collection this code runs from, with the amazon.aws it imports."""
    from ansible_collections.amazon.aws.plugins.module_utils import policy as amazon_aws_policy

    collection = installed_collection(__file__, 3)  # module_utils/usecases/bootstrap.py -> the collection
    amazon_aws = installed_collection(amazon_aws_policy.__file__, 2)  # plugins/module_utils/policy.py
    return build_release(collection, {"amazon.aws": amazon_aws}, collection_version(collection))


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



def discover(clients: AwsClients) -> OrgFacts:
    """Who calls, and the organization (management account, root, every account): reads only.

    Raises BootstrapInputError when the caller is not the organization's management account.
    """
    caller, arn = clients.caller_identity()
    partition = arn.split(":")[1] if arn.startswith("arn:") else clients.partition
    org = clients.client("organizations")
    try:
        organization = org.describe_organization()["Organization"]
    except Exception as exc:
        code = error_code(exc)
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
    delegated_admin: Account | None = None  # the delegated administrator for StackSets (pipeline.delegated_admin)


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
    named = [("central_account", settings.central_account), ("pipeline.account", inputs.pipeline.account)]
    if inputs.pipeline.delegated_admin:
        named.append(("pipeline.delegated_admin", inputs.pipeline.delegated_admin))
    for label, ref in named:
        account = find_account(ref, facts.accounts)
        if account is None:
            problems.append(_account_problem(label, ref, facts, settings.source))
        elif account.status != ACTIVE:
            problems.append(f"{settings.source}: field '{label}': account '{account.name}' ({account.id}) is {account.status}; choose an ACTIVE account")
        elif label == "pipeline.delegated_admin" and account.is_management:
            problems.append(
                f"{settings.source}: field 'pipeline.delegated_admin': account '{account.name}' ({account.id}) is the "
                "management account, which manages StackSets itself; name a member account (e.g. the pipeline account), "
                "or remove the field to keep managing the StackSet from the management account")
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
    # the catalog's roles name it, or it holds the catalog's organization policies (a delegated administrator does
    # when there is one)
    targeted = any(role_targets(role, management) for role in inputs.catalog.roles) or (
        bool(inputs.catalog.policies) and not inputs.pipeline.delegated_admin) or (
        # or it manages the role stack sets (engine: stacksets), or holds the Identity Center stack (identity_center),
        # without a delegated administrator
        (inputs.catalog.settings.engine == "stacksets" or inputs.catalog.identity.uses_identity_center)
        and not inputs.pipeline.delegated_admin)
    return Placement(found["central_account"], found["pipeline.account"], targeted or found["central_account"].is_management,
                     found.get("pipeline.delegated_admin"))


def pipeline_reads_organization(inputs: Inputs, placement: Placement) -> bool:
    """Whether the pipeline's builds read the organization themselves, without the organization reader: its
    account is the delegated administrator, and its template takes the reader's ARN as a parameter (given empty)."""
    template = inputs.templates.get(PIPELINE_TEMPLATE)
    admin = placement.delegated_admin
    return admin is not None and admin.id == placement.pipeline.id and template is not None \
        and READER_ROLE_PARAMETER in template.parameters


# --- the tasks: plain data -----------------------------------------------------------------------


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
        "ApprovalRequired": pipeline.approval,
        "ScheduleExpression": pipeline.schedule,
        "NotificationEmail": pipeline.notify_email,
        "ManagementAccountId": facts.management_account_id,
        # where the organization policies stack (and the Identity Center one) lives: the delegated administrator,
        # or the management account
        "PoliciesAccountId": placement.delegated_admin.id if placement.delegated_admin and (
            inputs.catalog.policies or inputs.catalog.identity.uses_identity_center) else facts.management_account_id,
        "OrganizationId": facts.organization_id,
        # engine: stacksets: where the role stack sets are managed from (usecases/stacksets.py stackset_home)
        "StackSetsAccountId": "" if settings.engine != "stacksets" else
        placement.delegated_admin.id if placement.delegated_admin else facts.management_account_id,
        "PipelineAccountId": pipeline_id,
        "PipelineRegion": region,
        "EventBusArn": f"arn:{partition}:events:{region}:{pipeline_id}:event-bus/default",
        "PipelineEventBusArn": f"arn:{partition}:events:{region}:{pipeline_id}:event-bus/default",
        "TargetEventBusArn": f"arn:{partition}:events:{region}:{pipeline_id}:event-bus/default",
        # empty: the pipeline account is the delegated administrator and reads the organization itself
        READER_ROLE_PARAMETER: "" if pipeline_reads_organization(inputs, placement) else
        f"arn:{partition}:iam::{facts.management_account_id}:role{ORGIAM_PATH}{READER_ROLE_NAME}",
        "DeployerRoleName": DEPLOYER_ROLE_NAME,
        "DeployerRolePath": ORGIAM_PATH,
        "MemberRoleName": DEPLOYER_ROLE_NAME,
        **({"ReleaseKey": inputs.release.key, "ReleaseSha256": inputs.release.sha256} if inputs.release else {}),
    }


def bootstrap_tasks(inputs: Inputs, facts: OrgFacts, placement: Placement, region: str) -> list[Task]:
    """What bootstrap must deploy, in order. Pure. Raises BootstrapInputError for template parameters."""
    prefix = inputs.catalog.settings.stack_prefix
    known = known_parameters(inputs, facts, placement, region)
    management = facts.management
    problems: list[str] = []

    def desired(relative: str, extra: dict[str, Any] | None = None) -> Any:
        template = inputs.templates[relative]
        values, found = fill_parameters(template, known, frozenset({READER_ROLE_PARAMETER}))
        problems.extend(found)
        return desired_file(template, values, extra)

    def task(key: str, title: str, kind: Kind, account: Account, task_region: str, name: str = "", **more: Any) -> Task:
        return Task(key, kind, account.id, account.name, task_region, name, title=title, partition=facts.partition, **more)

    tasks = [task("trusted-access", "StackSets' trusted access with Organizations", Kind.TRUSTED_ACCESS, management, region)]
    policy_types = sorted({p.policy_type for p in inputs.catalog.policies})
    if policy_types:
        tasks.append(task("policy-types", "organization policy types of the catalog's policies", Kind.POLICY_TYPES,
                          management, region, desired=Desired("", None, extra={"types": policy_types})))
    admin = placement.delegated_admin
    if admin is not None:
        tasks.append(task("delegated-admin", f"{admin.name} ({admin.id}) delegated administrator for StackSets",
                          Kind.DELEGATED_ADMIN, management, region,
                          desired=Desired("", None, extra={"account_id": admin.id, "service_principal": STACKSETS_PRINCIPAL})))
    deployer = desired(DEPLOYER_TEMPLATE, {"auto_deployment": {"Enabled": True, "RetainStacksOnAccountRemoval": False},
                                           "targets": [facts.root_id], "regions": [region]})
    # the same stack set either way (AWS keeps it in the management account); with a delegated administrator it
    # is created, updated and read from that account, as DELEGATED_ADMIN
    tasks.append(task("deployer-stackset", f"deployer role {ORGIAM_PATH}{DEPLOYER_ROLE_NAME} in every member account "
                      "(service-managed StackSet)", Kind.STACKSET, admin or management, region, f"{prefix}-deployer",
                      desired=deployer, stack_kind=DEPLOYER_KIND, targets=(facts.root_id,),
                      call_as=DELEGATED_ADMIN if admin is not None else ""))
    if "management" in inputs.parts:
        if admin is not None:
            statement = organization_read_statement(facts.partition, admin.id, bool(inputs.catalog.policies))
            tasks.append(task("organization-access", f"{admin.name} ({admin.id}) may read the organization",
                              Kind.ORGANIZATION_POLICY, management, region,
                              desired=Desired("", template_hash(statement), extra={"statement": statement})))
        reads_itself = pipeline_reads_organization(inputs, placement)
        tasks.append(task("organization-reader", "organization reader role in the management account", Kind.STACK, management,
                          region, f"{prefix}-organization-reader",
                          desired=NOTHING if reads_itself else desired(READER_TEMPLATE), stack_kind=READER_KIND,
                          reason_if_absent=f"the pipeline account {placement.pipeline.name} is the delegated administrator "
                                           "and reads the organization itself"))
        tasks.append(task("management-deployer", "deployer role in the management account", Kind.STACK, management, region,
                          f"{prefix}-deployer",
                          desired=desired(DEPLOYER_TEMPLATE) if placement.management_targeted else NOTHING,
                          stack_kind=DEPLOYER_KIND,
                          reason_if_absent="the catalog neither targets the management account nor has organization policies"))
    if "pipeline" in inputs.parts:
        tasks.append(task("pipeline", "orgiam's pipeline", Kind.STACK, placement.pipeline, region, f"{prefix}-pipeline",
                          desired=desired(PIPELINE_TEMPLATE), stack_kind="bootstrap-pipeline"))
        if inputs.release is not None:
            tasks.append(task("release", f"orgiam release {inputs.release.version} the pipeline runs", Kind.RELEASE,
                              placement.pipeline, region, f"{prefix}-pipeline",
                              desired=Desired("", inputs.release.sha256, extra={"key": inputs.release.key})))
        tasks.append(task("management-events", "Organizations events forwarded to the pipeline", Kind.STACK, management,
                          events_region(facts.partition), f"{prefix}-management-events", desired=desired(EVENTS_TEMPLATE),
                          stack_kind="bootstrap-management-events"))
    if problems:
        raise BootstrapInputError(problems)
    return tasks


# --- the whole run --------------------------------------------------------------------------------


@dataclass
class Options:
    check: bool = False
    diff: bool = False
    timeout: float = 900.0  # one stack operation
    stackset_timeout: float = 3600.0  # one stack set operation (every account of the organization)
    prune: str = "plan"  # for the management account's deployer stack when the catalog stops targeting it
    verify: str = "tags"  # or "live": read back the deployer roles and the organization reader, put back hand changes


@dataclass
class Outcome:
    results: list[Result]
    check: bool
    facts: OrgFacts | None = None
    verify: str = "tags"
    delegated_admin: Account | None = None

    @property
    def failed(self) -> list[Result]:
        return [r for r in self.results if r.status == Status.FAILED]

    @property
    def changed(self) -> bool:
        return any(r.changed for r in self.results)

    def to_dict(self) -> dict[str, Any]:
        facts = self.facts
        return {
            "mode": "check" if self.check else "apply",
            "verify": self.verify,
            "ok": not self.failed,
            "changed": self.changed,
            "management_account_id": facts.management_account_id if facts else "",
            "organization_id": facts.organization_id if facts else "",
            "delegated_admin": {"account_id": self.delegated_admin.id, "account_name": self.delegated_admin.name}
            if self.delegated_admin else None,
            "steps": [step_dict(r) for r in self.results],
        }


def step_dict(result: Result) -> dict[str, Any]:
    data = result.to_dict()
    task = result.task
    desired = task.desired
    data.update(template=desired.source_path, parameters=dict(desired.parameters))
    if task.kind == Kind.STACKSET:
        data["call_as"] = task.call_as or "SELF"
    # every drift names its account: the StackSet's are in member accounts, a stack's in its own
    data["drift"] = [{"account_id": task.account_id, "account_name": task.account_name, **d} for d in data["drift"]]
    return data


def run_bootstrap(
    clients: AwsClients,
    inputs: Inputs,
    region: str,
    options: Options,
    on_step: Callable[[Result, str], None] | None = None,
) -> Outcome:
    """Discover, check, plan every task, then (unless check) apply them in order.

    Bad input raises BootstrapInputError before any write. A task that cannot be planned fails the
    run before any write; a task that fails to apply stops the tasks after it (they are skipped):
    the pipeline is never started against deployer roles that are not there.
    """
    if options.verify not in VERIFY_MODES:
        raise BootstrapInputError([f"verify must be one of {', '.join(VERIFY_MODES)}; got '{options.verify}'"])
    facts = discover(clients)
    placement = check_organization(inputs, facts, region)
    tasks = bootstrap_tasks(inputs, facts, placement, region)
    _own_credentials_in_management_account(clients, facts)
    report = on_step or (lambda result, phase: None)
    ctx = Context(clients, check=options.check, diff=options.diff, timeout=options.timeout,
                  stackset_timeout=options.stackset_timeout, prune=options.prune,
                  on_wait=lambda task, what: report(by_task[task.key], f"waiting: {what}"),
                  account_names={a.id: a.name for a in facts.accounts}, verify=options.verify,
                  live_stack_kinds=LIVE_STACK_KINDS,
                  inactive_accounts=frozenset(a.id for a in facts.accounts if a.status != ACTIVE))
    release = {Kind.RELEASE: ReleaseOperator(inputs.release)} if inputs.release else {}
    engine = Engine(ctx, operators={**OPERATORS, **ORGANIZATIONS_OPERATORS, **release})
    results: list[Result] = []
    by_task: dict[str, Result] = {}
    for task in tasks:
        result = _plan(engine, task, by_task, facts)
        by_task[task.key] = result
        results.append(result)
        report(result, "planned")
    outcome = Outcome(results, options.check, facts, options.verify, placement.delegated_admin)
    # accounts live verification could not read: their step fails once every other step ran (was planned)
    unverified = {result.task.key: not_verified(result.state) for result in results}
    if outcome.failed:
        for result in results:
            if result.status != Status.FAILED:
                result.status, result.reason = Status.SKIPPED, f"not applied: another step could not be planned; {result.reason}"
        return outcome
    if options.check:
        _fail_unverified(results, unverified, ctx.account_names)
        return outcome
    stopped = False
    for index, result in enumerate(results):
        if stopped:
            result.status, result.reason = Status.SKIPPED, "not applied: an earlier step failed"
        else:
            # the engine may plan a task again (its stack changed since the plan): keep the result it returns
            result = results[index] = by_task[result.task.key] = engine.apply(result)
            # failed stack instances (or repairs) leave the others working: the management account's stacks may still go
            stopped = result.status == Status.FAILED and not (
                result.error_code in MEMBER_ACCOUNT_FAILURES and result.task.kind == Kind.STACKSET)
        report(result, "done")
    _fail_unverified(results, unverified, ctx.account_names)
    return outcome


def _plan(engine: Engine, task: Task, planned: dict[str, Result], facts: OrgFacts) -> Result:
    """Plan one task. The stack set of a delegated administrator that is not registered yet (it will be, by the
    step before) is planned from the management account: AWS refuses CallAs=DELEGATED_ADMIN until then, and it
    is the same stack set either way (AWS keeps it in the management account). It is applied as DELEGATED_ADMIN."""
    registering = planned.get("delegated-admin")
    if task.call_as != DELEGATED_ADMIN:
        return engine.plan(task)
    if registering is None or registering.action != Action.ACTIVATE:
        result = engine.plan(task)
        result.details.insert(0, f"managed from {task.account_name} ({task.account_id}), the delegated administrator, "
                                 "with CallAs=DELEGATED_ADMIN")
        return result
    management = facts.management
    result = engine.plan(dataclasses.replace(task, account_id=management.id, account_name=management.name, call_as=""))
    result.task = task
    result.details.insert(0, f"planned from the management account {management.name} ({management.id}): "
                             f"{task.account_name} ({task.account_id}) is not the delegated administrator yet; "
                             "applied from there once it is, with CallAs=DELEGATED_ADMIN")
    return result


def _own_credentials_in_management_account(clients: Any, facts: OrgFacts) -> None:
    """The management account is reached with the caller's own credentials, not an access role (it has none):
    AwsClients does so for the account its settings name."""
    settings = getattr(clients, "settings", None)
    if settings is not None and not settings.management_account_id:
        settings.management_account_id = facts.management_account_id


def _fail_unverified(results: list[Result], unverified: dict[str, tuple[tuple[str, str], ...]], names: dict[str, str]) -> None:
    """A step that could not verify every account fails, naming them (the step's other work is done)."""
    for result in results:
        missed = unverified.get(result.task.key, ())
        if not missed or result.status in (Status.FAILED, Status.SKIPPED, Status.STALE):
            continue
        shown = "; ".join(f"{names.get(a, a)} ({a}): {why}" for a, why in missed[:5])
        more = f"; ... and {len(missed) - 5} more" if len(missed) > 5 else ""
        result.fail(f"{result.task.kind} {result.task.name}: live verification could not read {len(missed)} account(s): "
                    f"{shown}{more}", "NotVerified")


def plan_lines(outcome: Outcome) -> list[str]:
    """The plan (or the result) as people read it: one line a task, then its details."""
    lines = []
    for result in outcome.results:
        task = result.task
        what = f"{task.kind} {task.name}" if task.name else task.title
        head = f"[{task.account_name} ({task.account_id}) {task.region}] {what}: {result.action}"
        if outcome.check:
            head += f" ({result.reason})" if result.reason else ""
            head += f" -> failed ({result.error})" if result.error else ""
        else:
            head += f" -> {result.status}" + (f" ({result.error})" if result.error else "")
        lines.append(head)
        lines += [f"    {detail}" for detail in result.details]
        put_back = not outcome.check and result.status in (Status.REPAIRED, Status.UPDATED) and bool(result.repairs)
        lines += [f"    {'put back' if put_back else 'changed by hand'}: {_where(result, d)}{d.get('line', '')}" for d in result.drift]
    return lines


def _where(result: Result, drift: dict[str, Any]) -> str:
    """The account of a drift, when it is not the step's own (a StackSet's instances)."""
    account = drift.get("account_id", "")
    if not account or account == result.task.account_id:
        return ""
    return f"{drift.get('account_name') or account} ({account}): "


def summary_line(outcome: Outcome) -> str:
    counts: dict[str, int] = {}
    for result in outcome.results:
        counts[str(result.status)] = counts.get(str(result.status), 0) + 1
    changes = sum(1 for r in outcome.results if r.changed)
    parts = ", ".join(f"{status}: {count}" for status, count in sorted(counts.items()))
    line = f"orgiam bootstrap ({'check' if outcome.check else 'apply'}): {len(outcome.results)} steps, changes: {changes} ({parts})"
    if outcome.verify == "live":
        line += f"; verified live, changed by hand: {sum(len(r.drift) for r in outcome.results)}"
    return line
