"""AWS without AWS, for unit tests of the engine: one account's CloudFormation kept in dicts, and the
clients object that hands it out.

``FakeCfn`` answers the calls of ``aws/cloudformation.py`` (stacks, change sets) and
``aws/stacksets.py`` (a service-managed stack set, its operations and instances, trusted access) the
way CloudFormation does for the cases orgiam handles, and records every call. Writes take effect at
once; a test that wants to see an operation in progress says so (``in_progress``, ``busy``,
``operation_statuses``). A test makes any call fail with ``fail()``.

``FakeTime`` is a ``waiters.Clock`` whose sleep only moves its own time on: waits take no time.

``FakeClients`` has the shape of ``aws.session.AwsClients`` that the engine and the use cases use:
``client``, ``member_client``, ``region``, ``partition``, ``call_log`` (a real ``CallLog``),
``caller_identity``. It makes one ``FakeCfn`` per account and region, on first use.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from ansible_collections.orgiam.aws.plugins.module_utils.aws.errors import is_write_operation
from ansible_collections.orgiam.aws.plugins.module_utils.aws.session import CallLog, partition_of
from ansible_collections.orgiam.aws.plugins.module_utils.aws.waiters import Clock

MANAGEMENT = "123456789012"


def client_error(code: str, message: str = "", operation: str = "Operation") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, operation)


def no_stack(name: str) -> ClientError:
    return client_error("ValidationError", f"Stack with id {name} does not exist", "DescribeStacks")


def _tags(tags: Any) -> list[dict[str, str]]:
    """Tags as CloudFormation takes them, from a list of {Key, Value} or a dict."""
    if isinstance(tags, dict):
        return [{"Key": k, "Value": v} for k, v in tags.items()]
    return [dict(t) for t in tags or []]


def _parameters(parameters: Any) -> list[dict[str, str]]:
    if isinstance(parameters, dict):
        return [{"ParameterKey": k, "ParameterValue": v} for k, v in sorted(parameters.items())]
    return [dict(p) for p in parameters or []]


def _resources(body: str) -> dict[str, Any]:
    try:
        return dict(json.loads(body).get("Resources", {}))
    except (ValueError, AttributeError):
        return {}


class FakeTime:
    """Time for waiters: ``clock`` sleeps by moving ``now`` on, and remembers each sleep in ``slept``."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    @property
    def clock(self) -> Clock:
        return Clock(sleep=self.sleep, now=lambda: self.now)


class Pages:
    """What a paginator's paginate() gives: the pages, one call recorded."""

    def __init__(self, cfn: FakeCfn, operation: str, pages: list[dict[str, Any]]) -> None:
        self.cfn, self.operation, self.pages = cfn, operation, pages

    def paginate(self, **kwargs: Any) -> list[dict[str, Any]]:
        self.cfn._call(self.operation, kwargs)
        return self.pages


class FakeCfn:
    """One account's CloudFormation in one region."""

    def __init__(self, account_id: str = MANAGEMENT, region: str = "us-east-1", call_log: CallLog | None = None,
                 journal: list[tuple[str, str, str]] | None = None) -> None:
        self.account_id, self.region = account_id, region
        self.call_log = call_log
        self.journal = journal if journal is not None else []  # (account id, operation, stack or stack set name)
        self.calls: list[str] = []  # every operation, in order: "DescribeStacks", "CreateStack", ...
        self.requests: list[tuple[str, dict[str, Any]]] = []  # (operation, its arguments)
        self.failures: list[tuple[str, str | None, BaseException]] = []
        # stacks, as DescribeStacks shows them, plus their TemplateBody and termination protection
        self.stacks: dict[str, dict[str, Any]] = {}
        self.busy: dict[str, list[str]] = {}  # stack -> statuses the next DescribeStacks see before its own
        self.in_progress = 0  # after each stack write, this many DescribeStacks see it *_IN_PROGRESS
        self.change_sets: dict[tuple[str, str], dict[str, Any]] = {}
        self._serial = 0
        # StackSets
        self.stack_sets: dict[str, dict[str, Any]] = {}
        self.instances: list[dict[str, Any]] = []  # of its stack set (orgiam has one)
        self.members: list[str] = []  # the accounts under the organization's root
        self.operations: dict[str, list[str]] = {}  # operation id -> statuses, the first one current
        self.operation_statuses: list[str] = []  # how the next operation goes, look after look (default: SUCCEEDED)
        self.operation_reason = ""
        self.access = True  # StackSets' trusted access with Organizations

    # --- bookkeeping -------------------------------------------------------------------------------

    def fail(self, operation: str, error: BaseException, name: str | None = None) -> None:
        """Make ``operation`` (e.g. "CreateStack") raise ``error``, for every stack or only for ``name``."""
        self.failures.append((operation, name, error))

    @property
    def writes(self) -> list[str]:
        return [c for c in self.calls if is_write_operation(c)]

    def _call(self, operation: str, kwargs: dict[str, Any]) -> None:
        name = kwargs.get("StackName") or kwargs.get("StackSetName") or ""
        self.calls.append(operation)
        self.requests.append((operation, dict(kwargs)))
        self.journal.append((self.account_id, operation, name))
        if self.call_log is not None:
            self.call_log.record(self.account_id, "cloudformation", operation)
        for failing, only, error in self.failures:
            if failing == operation and only in (None, name):
                raise error

    def _next_id(self) -> int:
        self._serial += 1
        return self._serial

    def add_stack(self, name: str, status: str = "CREATE_COMPLETE", tags: Any = (), body: str = "{}",
                  parameters: Any = (), outputs: dict[str, str] | None = None) -> dict[str, Any]:
        """A stack that is already there (termination protection on, as orgiam creates them)."""
        self.stacks[name] = {
            "StackName": name,
            "StackId": f"arn:aws:cloudformation:{self.region}:{self.account_id}:stack/{name}/{self._next_id()}",
            "StackStatus": status,
            "Tags": _tags(tags),
            "Parameters": _parameters(parameters),
            "Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in (outputs or {}).items()],
            "TemplateBody": body,
            "EnableTerminationProtection": True,
        }
        return self.stacks[name]

    def _stack(self, name: str) -> dict[str, Any]:
        if name not in self.stacks:
            raise no_stack(name)
        return self.stacks[name]

    def _written(self, name: str, status: str) -> None:
        self.stacks[name]["StackStatus"] = status
        if self.in_progress:
            self.busy[name] = [status.rsplit("_", 1)[0] + "_IN_PROGRESS"] * self.in_progress

    # --- stacks ------------------------------------------------------------------------------------

    def describe_stacks(self, StackName: str) -> dict[str, Any]:
        self._call("DescribeStacks", {"StackName": StackName})
        stack = {k: v for k, v in self._stack(StackName).items() if k not in ("TemplateBody", "EnableTerminationProtection")}
        if self.busy.get(StackName):
            stack["StackStatus"] = self.busy[StackName].pop(0)
        return {"Stacks": [stack]}

    def get_template(self, StackName: str, TemplateStage: str = "Original") -> dict[str, Any]:
        self._call("GetTemplate", {"StackName": StackName})
        return {"TemplateBody": self._stack(StackName)["TemplateBody"]}

    def create_stack(self, **kwargs: Any) -> dict[str, str]:
        self._call("CreateStack", kwargs)
        name = kwargs["StackName"]
        if name in self.stacks:
            raise client_error("AlreadyExistsException", f"Stack [{name}] already exists", "CreateStack")
        stack = self.add_stack(name, "CREATE_COMPLETE", kwargs.get("Tags"), kwargs.get("TemplateBody", kwargs.get("TemplateURL", "")),
                               kwargs.get("Parameters"))
        stack["EnableTerminationProtection"] = bool(kwargs.get("EnableTerminationProtection"))
        self._written(name, "CREATE_COMPLETE")
        return {"StackId": stack["StackId"]}

    def update_stack(self, **kwargs: Any) -> dict[str, str]:
        self._call("UpdateStack", kwargs)
        stack = self._stack(kwargs["StackName"])
        new = {"TemplateBody": kwargs.get("TemplateBody", kwargs.get("TemplateURL", "")),
               "Parameters": _parameters(kwargs.get("Parameters")), "Tags": _tags(kwargs.get("Tags"))}
        if all(stack[key] == value for key, value in new.items()):
            raise client_error("ValidationError", "No updates are to be performed.", "UpdateStack")
        stack.update(new)
        self._written(stack["StackName"], "UPDATE_COMPLETE")
        return {"StackId": stack["StackId"]}

    def update_termination_protection(self, StackName: str, EnableTerminationProtection: bool) -> dict[str, str]:
        self._call("UpdateTerminationProtection", {"StackName": StackName})
        stack = self._stack(StackName)
        stack["EnableTerminationProtection"] = EnableTerminationProtection
        return {"StackId": stack["StackId"]}

    def delete_stack(self, StackName: str) -> dict[str, Any]:
        self._call("DeleteStack", {"StackName": StackName})
        stack = self.stacks.get(StackName)
        if stack is not None and stack["EnableTerminationProtection"]:
            raise client_error("ValidationError", f"Stack [{StackName}] cannot be deleted while TerminationProtection is enabled",
                               "DeleteStack")
        self.stacks.pop(StackName, None)  # deleting a stack that is not there succeeds, as in AWS
        return {}

    def continue_update_rollback(self, StackName: str) -> dict[str, Any]:
        self._call("ContinueUpdateRollback", {"StackName": StackName})
        stack = self._stack(StackName)
        if stack["StackStatus"] != "UPDATE_ROLLBACK_FAILED":
            raise client_error("ValidationError", f"Stack {StackName} is in {stack['StackStatus']} state", "ContinueUpdateRollback")
        self._written(StackName, "UPDATE_ROLLBACK_COMPLETE")
        return {}

    # --- change sets: created and described as CloudFormation would, never executed ---------------

    def create_change_set(self, **kwargs: Any) -> dict[str, str]:
        self._call("CreateChangeSet", kwargs)
        name, change_set = kwargs["StackName"], kwargs["ChangeSetName"]
        old, new = _resources(self._stack(name)["TemplateBody"]), _resources(kwargs.get("TemplateBody", ""))
        changes = []
        for logical in sorted(old.keys() | new.keys()):
            if old.get(logical) != new.get(logical):
                action = "Add" if logical not in old else "Remove" if logical not in new else "Modify"
                changes.append({"Type": "Resource", "ResourceChange": {
                    "Action": action, "LogicalResourceId": logical, "ResourceType": (new.get(logical) or old[logical]).get("Type", ""),
                    "Replacement": "False" if action == "Modify" else ""}})
        status, reason = ("CREATE_COMPLETE", "") if changes else (
            "FAILED", "The submitted information didn't contain changes. Submit different information to create a change set.")
        self.change_sets[(name, change_set)] = {"Status": status, "StatusReason": reason, "Changes": changes}
        return {"Id": f"{name}/{change_set}"}

    def describe_change_set(self, StackName: str, ChangeSetName: str) -> dict[str, Any]:
        self._call("DescribeChangeSet", {"StackName": StackName, "ChangeSetName": ChangeSetName})
        if (StackName, ChangeSetName) not in self.change_sets:
            raise client_error("ChangeSetNotFoundException", f"ChangeSet [{ChangeSetName}] does not exist", "DescribeChangeSet")
        return dict(self.change_sets[(StackName, ChangeSetName)])

    def delete_change_set(self, StackName: str, ChangeSetName: str) -> dict[str, Any]:
        self._call("DeleteChangeSet", {"StackName": StackName, "ChangeSetName": ChangeSetName})
        self.change_sets.pop((StackName, ChangeSetName), None)
        return {}

    # --- StackSets ---------------------------------------------------------------------------------

    def describe_organizations_access(self) -> dict[str, str]:
        self._call("DescribeOrganizationsAccess", {})
        return {"Status": "ENABLED" if self.access else "DISABLED"}

    def activate_organizations_access(self) -> dict[str, Any]:
        self._call("ActivateOrganizationsAccess", {})
        self.access = True
        return {}

    def describe_stack_set(self, StackSetName: str) -> dict[str, Any]:
        self._call("DescribeStackSet", {"StackSetName": StackSetName})
        if StackSetName not in self.stack_sets:
            raise client_error("StackSetNotFoundException", f"StackSet {StackSetName} not found", "DescribeStackSet")
        return {"StackSet": dict(self.stack_sets[StackSetName])}

    def create_stack_set(self, **kwargs: Any) -> dict[str, str]:
        self._call("CreateStackSet", kwargs)
        name = kwargs["StackSetName"]
        if name in self.stack_sets:
            raise client_error("NameAlreadyExistsException", f"StackSet {name} already exists", "CreateStackSet")
        self.stack_sets[name] = {
            "StackSetName": name, "Status": "ACTIVE", "PermissionModel": kwargs.get("PermissionModel", "SELF_MANAGED"),
            "Tags": _tags(kwargs.get("Tags")), "AutoDeployment": dict(kwargs.get("AutoDeployment") or {}),
            "TemplateBody": kwargs["TemplateBody"], "Parameters": _parameters(kwargs.get("Parameters")),
            "OrganizationalUnitIds": [], "Regions": [],
        }
        return {"StackSetId": f"{name}:{self._next_id()}"}

    def update_stack_set(self, **kwargs: Any) -> dict[str, str]:
        self._call("UpdateStackSet", kwargs)
        data = self.stack_sets[kwargs["StackSetName"]]
        data.update(TemplateBody=kwargs["TemplateBody"], Parameters=_parameters(kwargs.get("Parameters")),
                    Tags=_tags(kwargs.get("Tags")), AutoDeployment=dict(kwargs.get("AutoDeployment") or {}))
        return self._operation()

    def create_stack_instances(self, **kwargs: Any) -> dict[str, str]:
        self._call("CreateStackInstances", kwargs)
        data = self.stack_sets[kwargs["StackSetName"]]
        data["OrganizationalUnitIds"] = sorted(set(data["OrganizationalUnitIds"]) | set(kwargs["DeploymentTargets"]["OrganizationalUnitIds"]))
        data["Regions"] = sorted(set(data["Regions"]) | set(kwargs["Regions"]))
        self.instances = [{"Account": a, "Status": "CURRENT", "StackInstanceStatus": {"DetailedStatus": "SUCCEEDED"}}
                          for a in self.members]
        return self._operation()

    def _operation(self) -> dict[str, str]:
        operation_id = f"op-{self._next_id()}"
        self.operations[operation_id] = list(self.operation_statuses) or ["SUCCEEDED"]
        return {"OperationId": operation_id}

    def describe_stack_set_operation(self, StackSetName: str, OperationId: str) -> dict[str, Any]:
        self._call("DescribeStackSetOperation", {"StackSetName": StackSetName, "OperationId": OperationId})
        if OperationId not in self.operations:
            raise client_error("OperationNotFoundException", f"Operation {OperationId} not found", "DescribeStackSetOperation")
        statuses = self.operations[OperationId]
        status = statuses.pop(0) if len(statuses) > 1 else statuses[0]
        return {"StackSetOperation": {"OperationId": OperationId, "Status": status, "StatusReason": self.operation_reason}}

    def get_paginator(self, name: str) -> Pages:
        if name == "list_stack_instances":
            return Pages(self, "ListStackInstances", [{"Summaries": [dict(i) for i in self.instances]}])
        if name == "list_stack_set_operations":
            summaries = [{"OperationId": op, "Status": statuses[0]} for op, statuses in self.operations.items()]
            return Pages(self, "ListStackSetOperations", [{"Summaries": summaries}])
        raise AssertionError(f"FakeCfn has no paginator {name}")


class FakeClients:
    """``AwsClients`` for unit tests: a FakeCfn per account and region, calls counted in a real CallLog.

    ``services`` gives the clients of other services (``client("organizations")``...). Unlike AwsClients,
    ``client()`` counts its calls under the caller's account id, not under "caller".
    """

    def __init__(self, caller: str = MANAGEMENT, region: str = "us-east-1", services: dict[str, Any] | None = None) -> None:
        self.caller = caller
        self.region = region
        self.endpoint_url: str | None = None
        self.call_log = CallLog()
        self.services = dict(services or {})
        self.cfns: dict[tuple[str, str], FakeCfn] = {}
        self.journal: list[tuple[str, str, str]] = []  # (account id, operation, name) over every FakeCfn, in order

    @property
    def partition(self) -> str:
        return partition_of(self.region)

    def cfn(self, account_id: str | None = None, region: str | None = None) -> FakeCfn:
        """The CloudFormation of one account (the caller's by default) and region (ours by default)."""
        key = (account_id or self.caller, region or self.region)
        if key not in self.cfns:
            self.cfns[key] = FakeCfn(key[0], key[1], self.call_log, self.journal)
        return self.cfns[key]

    def client(self, service: str, region: str | None = None) -> Any:
        if service == "cloudformation":
            return self.cfn(self.caller, region)
        if service not in self.services:
            raise AssertionError(f"FakeClients has no {service} client; pass services={{'{service}': ...}}")
        return self.services[service]

    def member_client(self, service: str, account_id: str, region: str | None = None, label: str | None = None) -> Any:
        if service != "cloudformation":
            raise AssertionError(f"FakeClients gives member accounts CloudFormation only, not {service}")
        return self.cfn(account_id, region)

    def caller_identity(self) -> tuple[str, str]:
        return self.caller, f"arn:{self.partition}:iam::{self.caller}:user/admin"

    def caller_account_id(self) -> str:
        return self.caller

    def writes(self) -> list[str]:
        """Every write to any account's CloudFormation, in order: "CreateStack orgiam-x"."""
        return [f"{operation} {name}".strip() for _, operation, name in self.journal if is_write_operation(operation)]
