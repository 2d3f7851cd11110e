"""``AWS::IAM::Role``: trust policy, inline and managed policies, boundary, session duration, tags."""

from __future__ import annotations

import copy
from typing import Any

from moto.core.common_models import CloudFormationModel
from moto.iam.models import IAMBackend

from emulator.cfn_iam.common import (
    MISSING,
    IamResource,
    iam_backend,
    resource_properties,
    sync_policies,
)
from emulator.cfn_iam.properties import Properties, path, policy_document, removed, tag_list, tags


class IamRole(IamResource, CloudFormationModel):
    cfn_type = "AWS::IAM::Role"
    name_property = "RoleName"
    cfn_attributes = ("Arn", "RoleId")

    def attribute(self, attribute_name: str) -> str:
        role = self.backend.get_role(self.name)
        return role.arn if attribute_name == "Arn" else role.id

    @classmethod
    def _create(
        cls, account_id: str, region_name: str, name: str, properties: Properties, auto_named: bool
    ) -> IamRole:
        backend = iam_backend(account_id, region_name)
        backend.create_role(
            role_name=name,
            assume_role_policy_document=policy_document(properties["AssumeRolePolicyDocument"]),
            path=path(properties),
            permissions_boundary=properties.get("PermissionsBoundary") or None,
            description=_description(properties),  # type: ignore[arg-type]
            tags=tag_list(tags(properties)),
            max_session_duration=int(properties.get("MaxSessionDuration") or 3600),  # type: ignore[arg-type]
        )
        try:
            _sync_role(backend, name, {}, properties)
        except Exception:
            _delete_role(backend, name)
            raise
        return cls(account_id, region_name, name, properties, auto_named)

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[override]
        cls, original_resource: IamRole, new_resource_name: str, cloudformation_json: dict[str, Any],
        account_id: str, region_name: str,
    ) -> IamRole:
        properties = resource_properties(cloudformation_json)
        name = cls._name_at_update(original_resource, properties, new_resource_name)
        if name != original_resource.name or path(properties) != path(original_resource.properties):
            auto_named = cls.name_property not in properties
            if name == original_resource.name:  # same name, new path: the old role must go first
                original_resource.delete(account_id, region_name)
                return cls._create(account_id, region_name, name, properties, auto_named)
            replacement = cls._create(account_id, region_name, name, properties, auto_named)
            original_resource.delete(account_id, region_name)
            return replacement
        _sync_role(original_resource.backend, name, original_resource.properties, properties)
        original_resource.properties = copy.deepcopy(properties)
        return original_resource

    @classmethod
    def delete_from_cloudformation_json(  # type: ignore[override]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> None:
        _delete_role(iam_backend(account_id, region_name), resource_name)

    def delete(self, account_id: str, region_name: str) -> None:
        _delete_role(iam_backend(account_id, region_name), self.name)


def _description(properties: Properties) -> str | None:
    """A role's description; None when the template has none, so that IAM leaves it out as AWS does."""
    value = properties.get("Description")
    return str(value) if value else None


def _sync_role(backend: IAMBackend, name: str, old: Properties, new: Properties) -> None:
    backend.update_assume_role_policy(name, policy_document(new["AssumeRolePolicyDocument"]))
    backend.update_role(name, _description(new), int(new.get("MaxSessionDuration") or 3600))  # type: ignore[arg-type]
    boundary = new.get("PermissionsBoundary")
    if boundary:
        backend.put_role_permissions_boundary(name, str(boundary))
    elif backend.get_role(name).permissions_boundary_arn:
        backend.delete_role_permissions_boundary(name)
    sync_policies(backend, "role", name, old, new)
    wanted_tags = tags(new)
    stale_keys = removed(tags(old), wanted_tags)
    if stale_keys:
        backend.untag_role(name, stale_keys)
    if wanted_tags:
        backend.tag_role(name, tag_list(wanted_tags))


def _delete_role(backend: IAMBackend, name: str) -> None:
    try:
        role = backend.get_role(name)
    except MISSING:
        return
    for arn in list(role.managed_policies):
        backend.detach_role_policy(arn, name)
    for policy_name in list(role.policies):
        backend.delete_role_policy(name, policy_name)
    # moto's AWS::IAM::Policy resources remember the roles they were put on
    for inline_policy in backend.inline_policies.values():
        inline_policy.role_names = [n for n in inline_policy.role_names if n != name]
    backend.delete_role(name)
