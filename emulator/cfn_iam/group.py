"""``AWS::IAM::Group`` and ``AWS::IAM::UserToGroupAddition``: groups, their policies and their members."""

from __future__ import annotations

import copy
from typing import Any

from moto.cloudformation.exceptions import UnformattedGetAttTemplateException
from moto.core.common_models import CloudFormationModel
from moto.iam.models import IAMBackend

from emulator.cfn_iam.common import (
    MISSING,
    IamResource,
    iam_backend,
    ignore_missing,
    resource_properties,
    sync_policies,
)
from emulator.cfn_iam.properties import Properties, path, removed, string_list


class IamGroup(IamResource, CloudFormationModel):
    cfn_type = "AWS::IAM::Group"
    name_property = "GroupName"
    cfn_attributes = ("Arn",)

    def attribute(self, attribute_name: str) -> str:
        return self.backend.get_group(self.name).arn

    @classmethod
    def _create(
        cls, account_id: str, region_name: str, name: str, properties: Properties, auto_named: bool
    ) -> IamGroup:
        backend = iam_backend(account_id, region_name)
        backend.create_group(name, path(properties))
        try:
            _sync_group(backend, name, {}, properties)
        except Exception:
            _delete_group(backend, name)
            raise
        return cls(account_id, region_name, name, properties, auto_named)

    def _update_in_place(self, properties: Properties) -> None:
        _sync_group(self.backend, self.name, self.properties, properties)

    @staticmethod
    def _remove(backend: IAMBackend, physical_id: str) -> None:
        _delete_group(backend, physical_id)


def _sync_group(backend: IAMBackend, name: str, old: Properties, new: Properties) -> None:
    backend.get_group(name).path = path(new)  # a path change needs no replacement; moto has no call for it
    sync_policies(backend, "group", name, old, new)


def _delete_group(backend: IAMBackend, name: str) -> None:
    try:
        group = backend.get_group(name)
    except MISSING:
        return
    for user in list(group.users):
        backend.remove_user_from_group(name, user.name)
    for policy_name in list(group.policies):
        backend.delete_group_policy(name, policy_name)
    for arn in list(group.managed_policies):
        backend.detach_group_policy(arn, name)
    for inline_policy in backend.inline_policies.values():
        inline_policy.group_names = [n for n in inline_policy.group_names if n != name]
    backend.delete_group(name)


class IamUserToGroupAddition(IamResource, CloudFormationModel):
    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::IAM::UserToGroupAddition"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return False

    def get_cfn_attribute(self, attribute_name: str) -> str:
        raise UnformattedGetAttTemplateException()

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[override]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str,
        **kwargs: Any,
    ) -> IamUserToGroupAddition:
        properties = resource_properties(cloudformation_json)
        backend = iam_backend(account_id, region_name)
        group_name = str(properties["GroupName"])
        for user_name in string_list(properties.get("Users")):
            backend.add_user_to_group(group_name, user_name)
        return cls(account_id, region_name, resource_name, properties, auto_named=True)

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[override]
        cls, original_resource: IamUserToGroupAddition, new_resource_name: str,
        cloudformation_json: dict[str, Any], account_id: str, region_name: str,
    ) -> IamUserToGroupAddition:
        properties = resource_properties(cloudformation_json)
        backend = original_resource.backend
        old_group, new_group = str(original_resource.properties["GroupName"]), str(properties["GroupName"])
        old_users = string_list(original_resource.properties.get("Users"))
        new_users = string_list(properties.get("Users"))
        leaving = old_users if old_group != new_group else removed(old_users, new_users)
        for user_name in leaving:
            ignore_missing(backend.remove_user_from_group, old_group, user_name)
        for user_name in new_users:
            backend.add_user_to_group(new_group, user_name)
        original_resource.properties = copy.deepcopy(properties)
        return original_resource

    @classmethod
    def delete_from_cloudformation_json(  # type: ignore[override]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> None:
        properties = resource_properties(cloudformation_json)
        _remove_members(iam_backend(account_id, region_name), str(properties.get("GroupName")), properties)

    def delete(self, account_id: str, region_name: str) -> None:
        _remove_members(iam_backend(account_id, region_name), str(self.properties.get("GroupName")), self.properties)


def _remove_members(backend: IAMBackend, group_name: str, properties: Properties) -> None:
    for user_name in string_list(properties.get("Users")):
        ignore_missing(backend.remove_user_from_group, group_name, user_name)
