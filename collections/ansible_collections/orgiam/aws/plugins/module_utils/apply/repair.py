# -*- coding: utf-8 -*-
# Copyright: orgiam developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Repair: put back, with direct IAM calls, what a person changed by hand in what orgiam owns.

CloudFormation does not notice such changes and an update with the same template does not undo them,
so ``repair`` makes the calls itself, one drift (``plan/drift.py``) at a time, with no more than
orgiam's deployer role may do (``files/cicd/bootstrap/deployer-role.yml``): roles, policies, groups and
users under orgiam's path, the SAML provider. It never touches what the template does not own, except to
take off an owned resource what was attached or added to it by hand (a policy, a group member, an access
key, a login profile), and to detach an owned policy from a principal it was attached to by hand.

A resource deleted by hand is made again with the same name and path: CloudFormation knows a role,
group or user by its name and a managed policy or SAML provider by its ARN (name and path), so the stack
takes the new one for its own and later updates work. A role or managed policy whose path (or policy
description) differs cannot change in place: it is deleted and made again.

Returns one line per call made (``iam:DetachRolePolicy ReadOnly arn:...``); a drift it cannot put back
gives a line starting with ``!`` instead. A call that fails raises :class:`RepairError`, which carries
the lines of the calls made before it.
"""

from __future__ import annotations

import json
from typing import Any

from ..aws.errors import AwsAccessError, explain_aws_error
from ..aws.iam_state import GROUP, MANAGED_POLICY, ROLE, SAML_PROVIDER, SECRET, TYPES, USER
from ..plan.drift import Drift

try:
    from botocore import xform_name
except ImportError:  # pragma: no cover - reported by the callers
    xform_name = None

MAX_POLICY_VERSIONS = 5  # IAM keeps at most five versions of a managed policy
PRINCIPAL_KINDS = {"Roles": "Role", "Groups": "Group", "Users": "User"}  # ManagedPolicy key -> API noun
KIND_OF_TYPE = {ROLE: "Role", GROUP: "Group", USER: "User"}


class RepairError(AwsAccessError):
    """A repair call failed; ``lines`` are the calls made before it."""

    def __init__(self, message: str, code: str, lines: list[str]) -> None:
        super().__init__(message, code)
        self.lines = lines


def repair(iam: Any, drifts: list[Drift], expected: dict[str, dict[str, Any]], secrets: Any = None) -> list[str]:
    """Put back every drifted resource of one account. ``expected`` is ``plan.drift.expected_state`` of the
    template the drifts were found against; ``secrets`` (a Secrets Manager client) is needed only to give a
    user back the console password the template made (its first password, to be changed at sign-in)."""
    repairer = _Repairer(iam, expected, secrets)
    repairer.run(drifts)
    return repairer.lines


class _Repairer:
    def __init__(self, iam: Any, expected: dict[str, dict[str, Any]], secrets: Any) -> None:
        self.iam = iam
        self.expected = expected
        self.secrets = secrets
        self.lines: list[str] = []
        self.attached: set[tuple[str, str, str]] = set()  # (Role|Group|User, name, policy ARN) done here
        self.remade: set[str] = set()  # logical ids made again: their other drifts are moot
        self.pending: set[str] = set()  # logical ids to be made again
        self.secrets_gone: set[str] = set()  # names of the template's secrets found deleted

    # --- calls ---

    def call(self, operation: str, target: str, detail: str = "", service: str = "iam", **kwargs: Any) -> Any:
        client = self.iam if service == "iam" else self.secrets
        method = getattr(client, xform_name(operation) if xform_name else operation)
        try:
            answer = method(**kwargs)
        except Exception as exc:
            error = explain_aws_error(exc, doing=f"{service}:{operation} {target}")
            raise RepairError(str(error), error.code, list(self.lines)) from None
        self.lines.append(f"{service}:{operation} {target}" + (f" {detail}" if detail else ""))
        return answer

    def cannot(self, drift: Drift, why: str) -> None:
        self.lines.append(f"! {drift.type} {drift.name}: {drift.label or 'the resource'} not repaired: {why}")

    # --- the order ---

    def run(self, drifts: list[Drift]) -> None:
        order = {rtype: index for index, rtype in enumerate(TYPES)}
        self.pending = {d.logical_id for d in drifts if d.missing or _needs_replacement(d)}
        self.secrets_gone = {d.name for d in drifts if d.missing and d.type == SECRET}
        for drift in sorted((d for d in drifts if d.missing), key=lambda d: order.get(d.type, len(order))):
            self.remake(drift)
        for drift in drifts:  # what cannot change in place
            if drift.logical_id in self.remade:
                continue
            if _needs_replacement(drift):
                self.replace(drift)
        by_resource: dict[str, list[Drift]] = {}
        for drift in drifts:
            if drift.logical_id not in self.remade:
                by_resource.setdefault(drift.logical_id, []).append(drift)
        for logical_id in sorted(by_resource, key=lambda lid: order.get(by_resource[lid][0].type, len(order))):
            found = by_resource[logical_id]
            handler = {ROLE: self.fix_role, GROUP: self.fix_group, USER: self.fix_user,
                       MANAGED_POLICY: self.fix_managed_policy, SAML_PROVIDER: self.fix_saml_provider}.get(found[0].type)
            if handler is None:
                for drift in found:
                    self.cannot(drift, "orgiam does not repair this type; update the stack to replace it")
            else:
                handler(found)

    # --- made again ---

    def remake(self, drift: Drift) -> None:
        want = self.expected[drift.logical_id]
        name, props = want["Name"], want["Properties"]
        if drift.type == SECRET:
            self.cannot(drift, "a new secret would have another ARN than the one CloudFormation knows; "
                               "the first console password is gone (the user keeps any password set since)")
            return
        if drift.type == SAML_PROVIDER:
            self.call("CreateSAMLProvider", name, Name=name, SAMLMetadataDocument=props["SamlMetadataDocument"])
        elif drift.type == ROLE:
            kwargs: dict[str, Any] = {
                "RoleName": name, "Path": props["Path"], "MaxSessionDuration": props["MaxSessionDuration"],
                "AssumeRolePolicyDocument": json.dumps(props["AssumeRolePolicyDocument"]),
            }
            if props["Description"]:
                kwargs["Description"] = props["Description"]
            if props["PermissionsBoundary"]:
                kwargs["PermissionsBoundary"] = props["PermissionsBoundary"]
            if props["Tags"]:
                kwargs["Tags"] = _tag_list(props["Tags"])
            self.call("CreateRole", name, props["Path"], **kwargs)
            self.fill_principal("Role", name, props)
        elif drift.type == GROUP:
            self.call("CreateGroup", name, props["Path"], GroupName=name, Path=props["Path"])
            self.fill_principal("Group", name, props)
            for user in props["Members"]:
                self.call("AddUserToGroup", name, user, GroupName=name, UserName=user)
        elif drift.type == USER:
            kwargs = {"UserName": name, "Path": props["Path"]}
            if props["PermissionsBoundary"]:
                kwargs["PermissionsBoundary"] = props["PermissionsBoundary"]
            if props["Tags"]:
                kwargs["Tags"] = _tag_list(props["Tags"])
            self.call("CreateUser", name, props["Path"], **kwargs)
            self.fill_principal("User", name, props)
            if props["LoginProfile"]:
                self.give_login_profile(drift, name)
        elif drift.type == MANAGED_POLICY:
            self.call("CreatePolicy", name, props["Path"], PolicyName=name, Path=props["Path"],
                      PolicyDocument=json.dumps(props["PolicyDocument"]), Description=props["Description"])
            for key, kind in PRINCIPAL_KINDS.items():
                for principal in props[key]:
                    self.attach(kind, principal, want["Arn"])
        else:
            self.cannot(drift, "orgiam does not make this type by itself")
            return
        self.remade.add(drift.logical_id)

    def fill_principal(self, kind: str, name: str, props: dict[str, Any]) -> None:
        """A principal made again: its managed policies (the template's own too, unless made again later)
        and inline policies."""
        for arn in props["ManagedPolicyArns"]:
            self.attach(kind, name, arn)
        for policy_name, document in props["Policies"].items():
            self.put_inline(kind, name, policy_name, document)
        key = {"Role": "Roles", "Group": "Groups", "User": "Users"}[kind]
        for entry in self.expected.values():
            if entry["Type"] == MANAGED_POLICY and name in entry["Properties"][key]:
                self.attach(kind, name, entry["Arn"], missing_ok=True)

    def replace(self, drift: Drift) -> None:
        want = self.expected[drift.logical_id]
        name = want["Name"]
        if drift.type == ROLE:
            for page in self._pages("ListAttachedRolePolicies", name, RoleName=name):
                for policy in page.get("AttachedPolicies", []):
                    self.call("DetachRolePolicy", name, policy["PolicyArn"], RoleName=name, PolicyArn=policy["PolicyArn"])
            for page in self._pages("ListRolePolicies", name, RoleName=name):
                for policy_name in page.get("PolicyNames", []):
                    self.call("DeleteRolePolicy", name, policy_name, RoleName=name, PolicyName=policy_name)
            for page in self._pages("ListInstanceProfilesForRole", name, RoleName=name):
                for profile in page.get("InstanceProfiles", []):
                    self.call("RemoveRoleFromInstanceProfile", name, profile["InstanceProfileName"], RoleName=name,
                              InstanceProfileName=profile["InstanceProfileName"])
            self.call("DeleteRole", name, drift.before if drift.property == "Path" else "", RoleName=name)
        else:  # a managed policy
            arn = want["Arn"]
            for page in self._pages("ListEntitiesForPolicy", name, PolicyArn=arn):
                for key, kind in PRINCIPAL_KINDS.items():
                    for entity in page.get(f"Policy{key}", []):
                        principal = entity[f"{kind}Name"]
                        self.call(f"Detach{kind}Policy", principal, arn, PolicyArn=arn, **{f"{kind}Name": principal})
            self._delete_versions(name, arn, keep_default=True)
            self.call("DeletePolicy", name, arn, PolicyArn=arn)
        self.remake(Drift(drift.logical_id, drift.type, name, "", None, want["Properties"]))

    # --- in place ---

    def fix_role(self, drifts: list[Drift]) -> None:
        want = self.expected[drifts[0].logical_id]
        name, props = want["Name"], want["Properties"]
        self.fix_common("Role", name, drifts)
        for drift in drifts:
            if drift.property == "AssumeRolePolicyDocument":
                self.call("UpdateAssumeRolePolicy", name, RoleName=name,
                          PolicyDocument=json.dumps(props["AssumeRolePolicyDocument"]))
            elif drift.property == "PermissionsBoundary":
                if drift.after:
                    self.call("PutRolePermissionsBoundary", name, drift.after, RoleName=name, PermissionsBoundary=drift.after)
                else:
                    self.call("DeleteRolePermissionsBoundary", name, drift.before, RoleName=name)
        if any(d.property in ("Description", "MaxSessionDuration") for d in drifts):
            self.call("UpdateRole", name, f"MaxSessionDuration={props['MaxSessionDuration']}", RoleName=name,
                      Description=props["Description"], MaxSessionDuration=props["MaxSessionDuration"])

    def fix_group(self, drifts: list[Drift]) -> None:
        name = self.expected[drifts[0].logical_id]["Name"]
        self.fix_common("Group", name, drifts)
        for drift in drifts:
            if drift.property == "Path":
                self.call("UpdateGroup", name, drift.after, GroupName=name, NewPath=drift.after)
            elif drift.property == "Members":
                for user in _added(drift):
                    self.call("AddUserToGroup", name, user, GroupName=name, UserName=user)
                for user in _removed(drift):
                    self.call("RemoveUserFromGroup", name, user, GroupName=name, UserName=user)

    def fix_user(self, drifts: list[Drift]) -> None:
        name = self.expected[drifts[0].logical_id]["Name"]
        self.fix_common("User", name, drifts)
        for drift in drifts:
            if drift.property == "Path":
                self.call("UpdateUser", name, drift.after, UserName=name, NewPath=drift.after)
            elif drift.property == "PermissionsBoundary":
                if drift.after:
                    self.call("PutUserPermissionsBoundary", name, drift.after, UserName=name, PermissionsBoundary=drift.after)
                else:
                    self.call("DeleteUserPermissionsBoundary", name, drift.before, UserName=name)
            elif drift.property == "AccessKeys":
                for key_id in _removed(drift):
                    self.call("DeleteAccessKey", name, key_id, UserName=name, AccessKeyId=key_id)
            elif drift.property == "LoginProfile":
                if drift.after:
                    self.give_login_profile(drift, name)
                else:
                    self.call("DeleteLoginProfile", name, UserName=name)

    def fix_common(self, kind: str, name: str, drifts: list[Drift]) -> None:
        """What roles, groups and users share: managed and inline policies, tags."""
        tag, untag = {}, []
        for drift in drifts:
            if drift.property == "ManagedPolicyArns":
                for arn in _added(drift):
                    self.attach(kind, name, arn)
                for arn in _removed(drift):
                    self.call(f"Detach{kind}Policy", name, arn, PolicyArn=arn, **{f"{kind}Name": name})
            elif drift.property == "Policies":
                if drift.after is None:
                    self.call(f"Delete{kind}Policy", name, drift.key, **{f"{kind}Name": name}, PolicyName=drift.key)
                else:
                    self.put_inline(kind, name, drift.key, drift.after)
            elif drift.property == "Tags":
                if drift.after is None:
                    untag.append(drift.key)
                else:
                    tag[drift.key] = drift.after
        if tag:
            self.call(f"Tag{kind}", name, ", ".join(sorted(tag)), **{f"{kind}Name": name}, Tags=_tag_list(tag))
        if untag:
            self.call(f"Untag{kind}", name, ", ".join(sorted(untag)), **{f"{kind}Name": name}, TagKeys=sorted(untag))

    def fix_managed_policy(self, drifts: list[Drift]) -> None:
        want = self.expected[drifts[0].logical_id]
        name, arn = want["Name"], want["Arn"]
        for drift in drifts:
            if drift.property == "PolicyDocument":
                self._make_room_for_a_version(name, arn)
                self.call("CreatePolicyVersion", name, "as default", PolicyArn=arn,
                          PolicyDocument=json.dumps(want["Properties"]["PolicyDocument"]), SetAsDefault=True)
            elif drift.property in PRINCIPAL_KINDS:
                kind = PRINCIPAL_KINDS[drift.property]
                for principal in _added(drift):
                    self.attach(kind, principal, arn)
                for principal in _removed(drift):
                    self.call(f"Detach{kind}Policy", principal, arn, PolicyArn=arn, **{f"{kind}Name": principal})

    def fix_saml_provider(self, drifts: list[Drift]) -> None:
        want = self.expected[drifts[0].logical_id]
        for drift in drifts:
            if drift.property == "SamlMetadataDocument":
                self.call("UpdateSAMLProvider", want["Name"], SAMLProviderArn=want["Arn"],
                          SAMLMetadataDocument=want["Properties"]["SamlMetadataDocument"])

    # --- pieces ---

    def attach(self, kind: str, name: str, arn: str, missing_ok: bool = False) -> None:
        if (kind, name, arn) in self.attached:
            return
        if missing_ok and any(e.get("Arn") == arn and lid in self.pending and lid not in self.remade
                              for lid, e in self.expected.items()):
            return  # the policy itself is made again later, with its attachments
        self.call(f"Attach{kind}Policy", name, arn, PolicyArn=arn, **{f"{kind}Name": name})
        self.attached.add((kind, name, arn))

    def put_inline(self, kind: str, name: str, policy_name: str, document: Any) -> None:
        self.call(f"Put{kind}Policy", name, policy_name, **{f"{kind}Name": name}, PolicyName=policy_name,
                  PolicyDocument=json.dumps(document))

    def give_login_profile(self, drift: Drift, name: str) -> None:
        secret = self.expected[drift.logical_id].get("PasswordSecret", "")
        if secret in self.secrets_gone:
            self.cannot(drift, f"its first console password was in secret {secret}, which was deleted")
            return
        if not secret or self.secrets is None:
            self.cannot(drift, "its console password comes from a secret that this repair cannot read"
                               if secret else "the template gives no password orgiam can read")
            return
        password = self.call("GetSecretValue", secret, service="secretsmanager", SecretId=secret)["SecretString"]
        self.call("CreateLoginProfile", name, "password reset required", UserName=name, Password=password,
                  PasswordResetRequired=True)

    def _pages(self, operation: str, target: str, **kwargs: Any) -> list[dict[str, Any]]:
        try:
            pages = list(self.iam.get_paginator(xform_name(operation) if xform_name else operation).paginate(**kwargs))
        except Exception as exc:
            error = explain_aws_error(exc, doing=f"iam:{operation} {target}")
            raise RepairError(str(error), error.code, list(self.lines)) from None
        self.lines += [f"iam:{operation} {target}"] * len(pages)
        return pages

    def _versions(self, name: str, arn: str) -> list[dict[str, Any]]:
        return [v for page in self._pages("ListPolicyVersions", name, PolicyArn=arn) for v in page.get("Versions", [])]

    def _make_room_for_a_version(self, name: str, arn: str) -> None:
        versions = self._versions(name, arn)
        if len(versions) >= MAX_POLICY_VERSIONS:
            oldest = min((v for v in versions if not v["IsDefaultVersion"]), key=lambda v: (v["CreateDate"], v["VersionId"]))
            self.call("DeletePolicyVersion", name, oldest["VersionId"], PolicyArn=arn, VersionId=oldest["VersionId"])

    def _delete_versions(self, name: str, arn: str, keep_default: bool) -> None:
        for version in self._versions(name, arn):
            if not (keep_default and version["IsDefaultVersion"]):
                self.call("DeletePolicyVersion", name, version["VersionId"], PolicyArn=arn, VersionId=version["VersionId"])


def _needs_replacement(drift: Drift) -> bool:
    """A role's path, and a managed policy's path or description, cannot change in place."""
    return (drift.type == ROLE and drift.property == "Path") or (
        drift.type == MANAGED_POLICY and drift.property in ("Path", "Description"))


def _tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in sorted(tags.items())]


def _added(drift: Drift) -> list[str]:
    return sorted(set(drift.after or []) - set(drift.before or []))


def _removed(drift: Drift) -> list[str]:
    return sorted(set(drift.before or []) - set(drift.after or []))
