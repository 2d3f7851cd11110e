# -*- coding: utf-8 -*-
# Copyright: orgiam developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One service-managed StackSet's CloudFormation operations, and StackSets' trusted access.

The StackSet counterpart of ``stacks.py``: each function takes a CloudFormation client and does one
thing. StackSets with service-managed permissions live in the management account; the client is the
management account's (``call_as`` SELF, AWS's default), or that of a member account registered as the
organization's delegated administrator for StackSets, with ``call_as`` DELEGATED_ADMIN: every call that
addresses the stack set then says so (``CallAs``), or AWS looks for it in the caller's own account.
Operations are asynchronous in AWS; ``wait_operation`` polls ``DescribeStackSetOperation`` with a
growing interval and a deadline. Errors become ``AwsAccessError`` with one line and the AWS code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from ..model import StackState
from .cloudformation import CAPABILITIES, parameter_list
from .errors import AwsAccessError, call, error_code, explain_aws_error
from .waiters import DEFAULT_CLOCK, Backoff, Clock, poll

SERVICE_MANAGED = "SERVICE_MANAGED"
SELF = ""  # CallAs left out: AWS's default, SELF
DELEGATED_ADMIN = "DELEGATED_ADMIN"
DONE = {"SUCCEEDED", "FAILED", "STOPPED"}
RUNNING = {"RUNNING", "QUEUED", "STOPPING"}
# every account at once, and one account's failure never stops the others: each account is its
# own failure domain, and the failed ones are reported after the operation (see instance_summary)
OPERATION_PREFERENCES = {"RegionConcurrencyType": "PARALLEL", "FailureTolerancePercentage": 100, "MaxConcurrentPercentage": 100}


@dataclass(frozen=True)
class StackSetState:
    """What DescribeStackSet says about a stack set, in plain data."""

    name: str
    status: str
    permission_model: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    parameters: dict[str, str] = field(default_factory=dict)
    template_body: str = ""
    auto_deployment: dict[str, bool] = field(default_factory=dict)
    ou_ids: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()

    def as_stack_state(self) -> StackState:
        """The view plan.decide takes: an ACTIVE stack set is as stable as a complete stack."""
        status = "UPDATE_COMPLETE" if self.status == "ACTIVE" else f"STACK_SET_{self.status}"
        return StackState(name=self.name, status=status, tags=dict(self.tags))


@dataclass(frozen=True)
class InstanceSummary:
    """How a stack set's instances stand: how many, and the ones that are not CURRENT with why."""

    total: int = 0
    current: int = 0
    failed: tuple[tuple[str, str, str], ...] = ()  # (account id, status, reason)

    def lines(self, names: dict[str, str] | None = None, limit: int = 20) -> list[str]:
        names = names or {}
        shown = [f"{names.get(a, a)} ({a}): {status}" + (f": {reason}" if reason else "") for a, status, reason in self.failed[:limit]]
        if len(self.failed) > limit:
            shown.append(f"... and {len(self.failed) - limit} more")
        return shown


def as_caller(call_as: str) -> dict[str, str]:
    """The CallAs argument of a call: none for SELF (AWS's default, and what every client and fake knows)."""
    return {"CallAs": call_as} if call_as and call_as != "SELF" else {}


def describe_stack_set(cfn: Any, name: str, call_as: str = SELF) -> StackSetState | None:
    try:
        data = cfn.describe_stack_set(StackSetName=name, **as_caller(call_as))["StackSet"]
    except Exception as exc:
        if error_code(exc) == "StackSetNotFoundException":
            return None
        raise explain_aws_error(exc, doing=f"describe stack set {name}") from None
    if data.get("Status") == "DELETED":
        return None
    auto = data.get("AutoDeployment") or {}
    return StackSetState(
        name=str(data.get("StackSetName", name)),
        status=str(data.get("Status", "")),
        permission_model=str(data.get("PermissionModel", "")),
        tags={t["Key"]: t["Value"] for t in data.get("Tags", [])},
        parameters={p["ParameterKey"]: p.get("ParameterValue", "") for p in data.get("Parameters", [])},
        template_body=str(data.get("TemplateBody", "")),
        auto_deployment={"Enabled": bool(auto.get("Enabled", False)),
                         "RetainStacksOnAccountRemoval": bool(auto.get("RetainStacksOnAccountRemoval", False))},
        ou_ids=tuple(sorted(data.get("OrganizationalUnitIds", []) or [])),
        regions=tuple(sorted(data.get("Regions", []) or [])),
    )


def _definition(
    name: str, body: str, parameters: dict[str, str], tags: list[dict[str, str]], auto_deployment: dict[str, bool],
    description: str,
) -> dict[str, Any]:
    """What a create and an update of orgiam's stack set both say."""
    return {
        "StackSetName": name,
        "Description": description,
        "TemplateBody": body,
        "Parameters": parameter_list(parameters),
        "Capabilities": CAPABILITIES,
        "Tags": tags,
        "PermissionModel": SERVICE_MANAGED,
        "AutoDeployment": auto_deployment,
    }


def create_stack_set(
    cfn: Any, name: str, body: str, parameters: dict[str, str], tags: list[dict[str, str]], auto_deployment: dict[str, bool],
    description: str, call_as: str = SELF,
) -> None:
    definition = _definition(name, body, parameters, tags, auto_deployment, description)
    call(f"create stack set {name}", cfn.create_stack_set, **definition, ManagedExecution={"Active": True}, **as_caller(call_as))


def update_stack_set(
    cfn: Any, name: str, body: str, parameters: dict[str, str], tags: list[dict[str, str]], auto_deployment: dict[str, bool],
    description: str, call_as: str = SELF, preferences: dict[str, Any] | None = None,
    targets: dict[str, Any] | None = None, regions: list[str] | None = None,
) -> str:
    """Template, parameters, tags and auto-deployment; every existing instance is updated (only those of ``targets``
    in ``regions`` when given). Returns the operation id."""
    definition = _definition(name, body, parameters, tags, auto_deployment, description)
    where: dict[str, Any] = {"DeploymentTargets": targets, "Regions": regions} if targets else {}
    if targets:  # AWS refuses AutoDeployment with DeploymentTargets or Regions: an update of some instances keeps it
        definition.pop("AutoDeployment")
    response = call(f"update stack set {name}", cfn.update_stack_set, **definition,
                    OperationPreferences=preferences or OPERATION_PREFERENCES, **where, **as_caller(call_as))
    return str(response["OperationId"])


def create_instances(cfn: Any, name: str, ou_ids: list[str], regions: list[str], call_as: str = SELF,
                     targets: dict[str, Any] | None = None, preferences: dict[str, Any] | None = None) -> str:
    """Deploy to every account under ``ou_ids`` (the root: the whole organization), or to ``targets`` (DeploymentTargets
    with an account filter). Returns the operation id."""
    targets = targets or {"OrganizationalUnitIds": ou_ids}
    response = call(
        f"deploy stack set {name} to {describe_targets(targets)}",
        cfn.create_stack_instances,
        StackSetName=name,
        DeploymentTargets=targets,
        Regions=regions,
        OperationPreferences=preferences or OPERATION_PREFERENCES,
        **as_caller(call_as),
    )
    return str(response["OperationId"])


def delete_instances(cfn: Any, name: str, targets: dict[str, Any], regions: list[str], call_as: str = SELF,
                     preferences: dict[str, Any] | None = None) -> str:
    """Delete the instances of ``targets`` (their stacks and resources too). Returns the operation id."""
    response = call(
        f"delete the instances of stack set {name} in {describe_targets(targets)}",
        cfn.delete_stack_instances,
        StackSetName=name,
        DeploymentTargets=targets,
        Regions=regions,
        RetainStacks=False,
        OperationPreferences=preferences or OPERATION_PREFERENCES,
        **as_caller(call_as),
    )
    return str(response["OperationId"])


def delete_stack_set(cfn: Any, name: str, call_as: str = SELF) -> None:
    """Delete a stack set that has no instance left."""
    call(f"delete stack set {name}", cfn.delete_stack_set, StackSetName=name, **as_caller(call_as))


def describe_targets(targets: dict[str, Any]) -> str:
    ous = ", ".join(targets.get("OrganizationalUnitIds") or [])
    accounts = targets.get("Accounts") or []
    if not accounts:
        return ous
    shown = ", ".join(accounts[:5]) + (f" and {len(accounts) - 5} more" if len(accounts) > 5 else "")
    return f"{ous} ({targets.get('AccountFilterType', 'UNION').lower()} {shown})"


def stack_set_names(cfn: Any, prefix: str, call_as: str = SELF) -> list[str]:
    """The names of the ACTIVE stack sets that start with ``prefix`` (ListStackSets, paged)."""
    found = []
    try:
        for page in cfn.get_paginator("list_stack_sets").paginate(Status="ACTIVE", **as_caller(call_as)):
            found += [str(s["StackSetName"]) for s in page.get("Summaries", [])
                      if str(s.get("StackSetName", "")).startswith(prefix) and s.get("Status", "ACTIVE") == "ACTIVE"]
    except Exception as exc:
        raise explain_aws_error(exc, doing="list the stack sets") from None
    return sorted(found)


def instance_statuses(cfn: Any, name: str, call_as: str = SELF) -> dict[str, tuple[str, str]]:
    """Account -> (status, reason) of every stack instance (ListStackInstances, 100 a page). A status is CURRENT
    only when the instance's last operation succeeded; else its detailed status (FAILED, CANCELLED, ...) or its
    status (OUTDATED, INOPERABLE). IAM is global: one account's instances in several regions count once, the
    worst first."""
    found: dict[str, tuple[str, str]] = {}
    paginator = cfn.get_paginator("list_stack_instances")
    try:
        for page in paginator.paginate(StackSetName=name, PaginationConfig={"PageSize": 100}, **as_caller(call_as)):
            for instance in page.get("Summaries", []):
                detailed = str((instance.get("StackInstanceStatus") or {}).get("DetailedStatus", ""))
                status = str(instance.get("Status", ""))
                seen = "CURRENT" if status == "CURRENT" and detailed in ("", "SUCCEEDED") else (detailed or status)
                account = str(instance.get("Account", ""))
                if found.get(account, ("CURRENT", ""))[0] == "CURRENT":
                    found[account] = (seen, str(instance.get("StatusReason", "") or ""))
    except Exception as exc:
        raise explain_aws_error(exc, doing=f"list the stack instances of {name}") from None
    return found


def running_operation(cfn: Any, name: str, call_as: str = SELF) -> str | None:
    """The id of an operation still running on the stack set (AWS runs one at a time), else None."""
    paginator = cfn.get_paginator("list_stack_set_operations")
    try:
        for page in paginator.paginate(StackSetName=name, **as_caller(call_as)):
            for operation in page.get("Summaries", []):
                if operation.get("Status") in RUNNING:
                    return str(operation["OperationId"])
    except Exception as exc:
        raise explain_aws_error(exc, doing=f"list the operations of stack set {name}") from None
    return None


def wait_operation(
    cfn: Any, name: str, operation_id: str, timeout: float, clock: Clock = DEFAULT_CLOCK,
    on_wait: Callable[[str, float], None] | None = None, call_as: str = SELF,
) -> str:
    """Poll until the operation is done. Returns SUCCEEDED; raises on FAILED, STOPPED or the deadline."""
    def look() -> dict[str, Any]:
        return call(f"read operation {operation_id} of stack set {name}", cfn.describe_stack_set_operation,
                    StackSetName=name, OperationId=operation_id, **as_caller(call_as))["StackSetOperation"]

    try:
        operation = poll(
            look, lambda op: str(op.get("Status", "")) in DONE, timeout,
            lambda op: f"operation {operation_id} of stack set {name} still {op.get('Status', '')}",
            Backoff(first=0.0, minimum=2.0, maximum=30.0), clock,
            (lambda op, waited: on_wait(str(op.get("Status", "")), waited)) if on_wait else None,
        )
    except AwsAccessError as exc:
        raise AwsAccessError(f"{exc}; it goes on in AWS: run the bootstrap again later to see it finish", exc.code) from None
    status = str(operation.get("Status", ""))
    if status != "SUCCEEDED":
        reason = operation.get("StatusReason") or "see the stack instances for the accounts that failed"
        raise AwsAccessError(f"operation {operation_id} of stack set {name} ended {status}: {reason}", f"StackSet{status.title()}")
    return status


def instance_summary(cfn: Any, name: str, call_as: str = SELF) -> InstanceSummary:
    """Every stack instance's status (ListStackInstances, 100 a page)."""
    total = current = 0
    failed = []
    paginator = cfn.get_paginator("list_stack_instances")
    try:
        for page in paginator.paginate(StackSetName=name, PaginationConfig={"PageSize": 100}, **as_caller(call_as)):
            for instance in page.get("Summaries", []):
                total += 1
                detailed = str((instance.get("StackInstanceStatus") or {}).get("DetailedStatus", ""))
                status = str(instance.get("Status", ""))
                if status == "CURRENT" and detailed in ("", "SUCCEEDED"):
                    current += 1
                else:
                    failed.append((str(instance.get("Account", "")), detailed or status, str(instance.get("StatusReason", "") or "")))
    except Exception as exc:
        raise explain_aws_error(exc, doing=f"list the stack instances of {name}") from None
    return InstanceSummary(total, current, tuple(sorted(failed)))


def trusted_access_enabled(cfn: Any) -> bool:
    """Whether StackSets may deploy through Organizations (DescribeOrganizationsAccess)."""
    status = call("read StackSets' trusted access with Organizations", cfn.describe_organizations_access)
    return str(status.get("Status", "")) == "ENABLED"


def activate_trusted_access(cfn: Any) -> None:
    """ActivateOrganizationsAccess: enables trusted access and the service-linked roles StackSets needs."""
    call("activate StackSets' trusted access with Organizations", cfn.activate_organizations_access)
