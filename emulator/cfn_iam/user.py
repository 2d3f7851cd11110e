"""``AWS::IAM::User``: path, groups, inline and managed policies, tags, login profile, boundary."""

from __future__ import annotations

from typing import Any

from moto.core.common_models import CloudFormationModel
from moto.iam.models import IAMBackend

from emulator.cfn_iam.common import (
    MISSING,
    IamResource,
    iam_backend,
    ignore_missing,
    sync_policies,
)
from emulator.cfn_iam.properties import Properties, as_bool, path, removed, string_list, tag_list, tags


# moto stores a login profile's password; the emulator never keeps the template's
LOGIN_PROFILE_PLACEHOLDER_PASSWORD = "not-kept-by-the-emulator"


class IamUser(IamResource, CloudFormationModel):
    cfn_type = "AWS::IAM::User"
    name_property = "UserName"
    cfn_attributes = ("Arn",)

    def attribute(self, attribute_name: str) -> str:
        return self.backend.get_user(self.name).arn

    @classmethod
    def _create(
        cls, account_id: str, region_name: str, name: str, properties: Properties, auto_named: bool
    ) -> IamUser:
        backend = iam_backend(account_id, region_name)
        backend.create_user(region_name, name, path(properties), tag_list(tags(properties)))
        try:
            _sync_user(backend, name, {}, properties)
        except Exception:
            _delete_user(backend, name)
            raise
        return cls(account_id, region_name, name, properties, auto_named)

    def _update_in_place(self, properties: Properties) -> None:
        _sync_user(self.backend, self.name, self.properties, properties)

    @staticmethod
    def _remove(backend: IAMBackend, physical_id: str) -> None:
        _delete_user(backend, physical_id)


def _sync_user(backend: IAMBackend, name: str, old: Properties, new: Properties) -> None:
    user = backend.get_user(name)
    if user.path != path(new):
        backend.tagger.delete_all_tags_for_resource(user.arn)  # moto keys user tags by ARN, which has the path
        backend.update_user(name, new_path=path(new))
    old_groups, new_groups = string_list(old.get("Groups")), string_list(new.get("Groups"))
    for group_name in removed(old_groups, new_groups):
        ignore_missing(backend.remove_user_from_group, group_name, name)
    for group_name in new_groups:
        backend.add_user_to_group(group_name, name)
    sync_policies(backend, "user", name, old, new)
    wanted_tags = tags(new)
    stale_keys = removed(tags(old), wanted_tags)
    if stale_keys:
        backend.untag_user(name, stale_keys)
    if wanted_tags:
        backend.tag_user(name, tag_list(wanted_tags))
    _sync_login_profile(backend, name, new.get("LoginProfile"))
    _set_user_permissions_boundary(backend, name, new.get("PermissionsBoundary"))


def _sync_login_profile(backend: IAMBackend, name: str, login_profile: dict[str, Any] | None) -> None:
    user = backend.get_user(name)
    if not login_profile:
        if user.password:
            backend.delete_login_profile(name)
        return
    if not user.password:
        backend.create_login_profile(name, LOGIN_PROFILE_PLACEHOLDER_PASSWORD)
    reset_required = as_bool(login_profile.get("PasswordResetRequired"))
    backend.update_login_profile(name, LOGIN_PROFILE_PLACEHOLDER_PASSWORD, reset_required)


def _set_user_permissions_boundary(backend: IAMBackend, name: str, boundary: Any) -> None:
    """moto's users have no permissions boundary: keep it on the user, in the shape GetUser returns."""
    if boundary and not backend.policy_arn_regex.match(str(boundary)):
        raise ValueError(f"PermissionsBoundary {boundary} is not a policy ARN")
    user = backend.get_user(name)
    user.permissions_boundary = (  # type: ignore[attr-defined]
        {"PermissionsBoundaryType": "PermissionsBoundaryPolicy", "PermissionsBoundaryArn": str(boundary)}
        if boundary
        else None
    )


def _delete_user(backend: IAMBackend, name: str) -> None:
    try:
        user = backend.get_user(name)
    except MISSING:
        return
    for group in backend.get_groups_for_user(name):
        backend.remove_user_from_group(group.name, name)
    if user.password:
        backend.delete_login_profile(name)
    for policy_name in list(user.policies):
        backend.delete_user_policy(name, policy_name)
    for arn in list(user.managed_policies):
        backend.detach_user_policy(arn, name)
    for inline_policy in backend.inline_policies.values():
        inline_policy.user_names = [n for n in inline_policy.user_names if n != name]
    backend.delete_user(name)
