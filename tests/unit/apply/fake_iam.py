"""IAM without AWS, for the live verification's unit tests: one account's roles and customer managed policies
in dicts, answering the calls of ``aws/iam_state.py`` (reads) and ``apply/repair.py`` (the repairs a role
needs) the way IAM does, and the clients object that hands out one per account.

``FakeIam.deploy`` makes what a template (as ``plan/drift.py`` ``expected_state`` says it) owns, as
CloudFormation would; a test then changes it by hand with the same calls people make.
``LiveClients`` is ``tests.fakes.FakeClients`` that also gives IAM clients; an account in ``unreachable``
cannot be reached (its access role cannot be assumed), and ``fail(account, operation, error)`` makes one
IAM operation of one account fail.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from ansible_collections.orgiam.aws.plugins.module_utils.aws.iam_state import MANAGED_POLICY, ROLE
from ansible_collections.orgiam.aws.plugins.module_utils.aws.session import CallLog
from tests.fakes import FakeClients, client_error


def _document(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


class FakeIam:
    def __init__(self, account_id: str, call_log: CallLog | None = None) -> None:
        self.account_id = account_id
        self.call_log = call_log
        self.roles: dict[str, dict[str, Any]] = {}  # name -> {"Role": ..., "attached": [...], "inline": {...}}
        self.policies: dict[str, dict[str, Any]] = {}  # ARN -> {"Policy": ..., "Document": ...}
        self.calls: list[str] = []
        self.failures: dict[str, Exception] = {}

    # --- bookkeeping ---

    def _call(self, operation: str) -> None:
        self.calls.append(operation)
        if self.call_log is not None:
            self.call_log.record(self.account_id, "iam", operation)
        if operation in self.failures:
            raise self.failures[operation]

    @property
    def writes(self) -> list[str]:
        return [c for c in self.calls if not c.startswith(("Get", "List"))]

    def _role(self, name: str) -> dict[str, Any]:
        if name not in self.roles:
            raise client_error("NoSuchEntity", f"The role with name {name} cannot be found.", "GetRole")
        return self.roles[name]

    def _policy(self, arn: str) -> dict[str, Any]:
        if arn not in self.policies:
            raise client_error("NoSuchEntity", f"Policy {arn} was not found.", "GetPolicy")
        return self.policies[arn]

    def deploy(self, expected: dict[str, dict[str, Any]]) -> "FakeIam":
        """What CloudFormation makes of a template: its roles and managed policies (``expected_state``'s shape)."""
        for entry in expected.values():
            props = entry["Properties"]
            if entry["Type"] == ROLE:
                self.roles[entry["Name"]] = {
                    "Role": {"RoleName": entry["Name"], "Path": props["Path"], "Description": props["Description"],
                             "MaxSessionDuration": props["MaxSessionDuration"],
                             "AssumeRolePolicyDocument": copy.deepcopy(props["AssumeRolePolicyDocument"]),
                             "Tags": [{"Key": k, "Value": v} for k, v in props["Tags"].items()]},
                    "attached": list(props["ManagedPolicyArns"]),
                    "inline": copy.deepcopy(props["Policies"]),
                }
        for entry in expected.values():
            if entry["Type"] == MANAGED_POLICY:
                props = entry["Properties"]
                self.policies[entry["Arn"]] = {
                    "Policy": {"PolicyName": entry["Name"], "Arn": entry["Arn"], "Path": props["Path"],
                               "Description": props["Description"], "DefaultVersionId": "v1"},
                    "Document": copy.deepcopy(props["PolicyDocument"]),
                }
                for role in props["Roles"]:
                    self.roles[role]["attached"].append(entry["Arn"])
        return self

    # --- reads ---

    def get_role(self, RoleName: str) -> dict[str, Any]:
        self._call("GetRole")
        return {"Role": copy.deepcopy(self._role(RoleName)["Role"])}

    def get_role_policy(self, RoleName: str, PolicyName: str) -> dict[str, Any]:
        self._call("GetRolePolicy")
        inline = self._role(RoleName)["inline"]
        if PolicyName not in inline:
            raise client_error("NoSuchEntity", f"The role policy with name {PolicyName} cannot be found.", "GetRolePolicy")
        return {"RoleName": RoleName, "PolicyName": PolicyName, "PolicyDocument": copy.deepcopy(inline[PolicyName])}

    def get_policy(self, PolicyArn: str) -> dict[str, Any]:
        self._call("GetPolicy")
        return {"Policy": dict(self._policy(PolicyArn)["Policy"])}

    def get_policy_version(self, PolicyArn: str, VersionId: str) -> dict[str, Any]:
        self._call("GetPolicyVersion")
        return {"PolicyVersion": {"Document": copy.deepcopy(self._policy(PolicyArn)["Document"]), "VersionId": VersionId}}

    def get_paginator(self, name: str) -> "_ListPages":
        if name in ("list_attached_role_policies", "list_role_policies", "list_entities_for_policy"):
            return _ListPages(self, name)
        raise AssertionError(f"FakeIam has no paginator {name}")

    # --- writes (what a repair of a role and its policies calls) ---

    def update_assume_role_policy(self, RoleName: str, PolicyDocument: str) -> dict[str, Any]:
        self._call("UpdateAssumeRolePolicy")
        self._role(RoleName)["Role"]["AssumeRolePolicyDocument"] = _document(PolicyDocument)
        return {}

    def attach_role_policy(self, RoleName: str, PolicyArn: str) -> dict[str, Any]:
        self._call("AttachRolePolicy")
        attached = self._role(RoleName)["attached"]
        if PolicyArn not in attached:
            attached.append(PolicyArn)
        return {}

    def detach_role_policy(self, RoleName: str, PolicyArn: str) -> dict[str, Any]:
        self._call("DetachRolePolicy")
        self._role(RoleName)["attached"].remove(PolicyArn)
        return {}

    def put_role_policy(self, RoleName: str, PolicyName: str, PolicyDocument: str) -> dict[str, Any]:
        self._call("PutRolePolicy")
        self._role(RoleName)["inline"][PolicyName] = _document(PolicyDocument)
        return {}

    def delete_role_policy(self, RoleName: str, PolicyName: str) -> dict[str, Any]:
        self._call("DeleteRolePolicy")
        del self._role(RoleName)["inline"][PolicyName]
        return {}

    def update_role(self, RoleName: str, **changes: Any) -> dict[str, Any]:
        self._call("UpdateRole")
        self._role(RoleName)["Role"].update(changes)
        return {}


class _ListPages:
    """A list call's paginator: one page, answered from the state at the time it is made, one call recorded."""

    def __init__(self, iam: FakeIam, name: str) -> None:
        self.iam, self.name = iam, name
        self.operation = "".join(part.title() for part in name.split("_"))

    def paginate(self, **kwargs: Any) -> list[dict[str, Any]]:
        self.iam._call(self.operation)
        if self.name == "list_entities_for_policy":
            arn = kwargs["PolicyArn"]
            roles = [{"RoleName": n} for n, r in sorted(self.iam.roles.items()) if arn in r["attached"]]
            return [{"PolicyRoles": roles, "PolicyGroups": [], "PolicyUsers": []}]
        role = self.iam._role(kwargs["RoleName"])
        if self.name == "list_attached_role_policies":
            return [{"AttachedPolicies": [{"PolicyArn": arn, "PolicyName": arn.rsplit("/", 1)[-1]} for arn in role["attached"]]}]
        return [{"PolicyNames": sorted(role["inline"])}]


class LiveClients(FakeClients):
    """FakeClients that also hands out one FakeIam per account (the caller's own included)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.iams: dict[str, FakeIam] = {}
        self.unreachable: set[str] = set()

    def iam(self, account_id: str) -> FakeIam:
        if account_id not in self.iams:
            self.iams[account_id] = FakeIam(account_id, self.call_log)
        return self.iams[account_id]

    def member_client(self, service: str, account_id: str, region: str | None = None) -> Any:
        if account_id in self.unreachable:
            raise client_error("AccessDenied", f"User is not authorized to perform: sts:AssumeRole on "
                                               f"arn:aws:iam::{account_id}:role/OrganizationAccountAccessRole", "AssumeRole")
        if service == "iam":
            return self.iam(account_id)
        return super().member_client(service, account_id, region)

    def iam_writes(self) -> dict[str, list[str]]:
        return {account: iam.writes for account, iam in sorted(self.iams.items()) if iam.writes}
