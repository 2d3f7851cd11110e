"""``AWS::IAM::ManagedPolicy``: a new default version per document change, attachments kept in step."""

from __future__ import annotations

from typing import Any

from moto.core.common_models import CloudFormationModel
from moto.iam.models import IAMBackend

from emulator.cfn_iam.common import MISSING, IamResource, iam_backend
from emulator.cfn_iam.properties import Properties, path, policy_document, removed, same_document, string_list


MAX_POLICY_VERSIONS = 5


class IamManagedPolicy(IamResource, CloudFormationModel):
    cfn_type = "AWS::IAM::ManagedPolicy"
    name_property = "ManagedPolicyName"
    cfn_attributes = ("PolicyArn", "PolicyId", "DefaultVersionId", "AttachmentCount", "IsAttachable")

    def __init__(
        self, account_id: str, region_name: str, name: str, properties: Properties, auto_named: bool, arn: str
    ):
        super().__init__(account_id, region_name, name, properties, auto_named)
        self.arn = arn

    @property
    def physical_resource_id(self) -> str:
        return self.arn  # Ref of a managed policy is its ARN

    def attribute(self, attribute_name: str) -> Any:
        policy = self.backend.get_policy(self.arn)
        return {
            "PolicyArn": policy.arn,
            "PolicyId": policy.id,
            "DefaultVersionId": policy.default_version_id,
            "AttachmentCount": policy.attachment_count,
            "IsAttachable": True,
        }[attribute_name]

    @classmethod
    def _create(
        cls, account_id: str, region_name: str, name: str, properties: Properties, auto_named: bool
    ) -> IamManagedPolicy:
        backend = iam_backend(account_id, region_name)
        policy = backend.create_policy(
            description=str(properties.get("Description") or ""),
            path=path(properties),
            policy_document=policy_document(properties["PolicyDocument"]),
            policy_name=name,
            tags=[],
        )
        try:
            _sync_policy_attachments(backend, policy.arn, {}, properties)
        except Exception:
            _delete_managed_policy(backend, policy.arn)
            raise
        return cls(account_id, region_name, name, properties, auto_named, policy.arn)

    def _needs_replacement(self, properties: Properties) -> bool:
        return path(properties) != path(self.properties)

    def _update_in_place(self, properties: Properties) -> None:
        backend = self.backend
        policy = backend.get_policy(self.arn)
        # AWS replaces a policy whose description changes; one with the same name cannot be, so it changes in place
        policy.description = str(properties.get("Description") or "")
        document = policy_document(properties["PolicyDocument"])
        default = backend.get_policy_version(policy.arn, policy.default_version_id)
        if not same_document(default.document, document):
            _make_room_for_a_version(backend, policy.arn)
            backend.create_policy_version(policy.arn, document, set_as_default=True)
        _sync_policy_attachments(backend, policy.arn, self.properties, properties)

    @staticmethod
    def _remove(backend: IAMBackend, physical_id: str) -> None:
        _delete_managed_policy(backend, physical_id)


def _sync_policy_attachments(backend: IAMBackend, arn: str, old: Properties, new: Properties) -> None:
    for key, get_entity, attach, detach in (
        ("Roles", backend.get_role, backend.attach_role_policy, backend.detach_role_policy),
        ("Groups", backend.get_group, backend.attach_group_policy, backend.detach_group_policy),
        ("Users", backend.get_user, backend.attach_user_policy, backend.detach_user_policy),
    ):
        old_names, new_names = string_list(old.get(key)), string_list(new.get(key))
        for entity_name in removed(old_names, new_names):
            try:
                if arn in get_entity(entity_name).managed_policies:
                    detach(arn, entity_name)
            except MISSING:
                pass
        for entity_name in new_names:
            if arn not in get_entity(entity_name).managed_policies:
                attach(arn, entity_name)


def _make_room_for_a_version(backend: IAMBackend, arn: str) -> None:
    """Delete the oldest non-default versions while the policy has the most AWS allows."""
    policy = backend.get_policy(arn)
    while len(policy.versions) >= MAX_POLICY_VERSIONS:
        oldest = next(v for v in policy.versions if not v.is_default)
        backend.delete_policy_version(arn, oldest.version_id)


def _delete_managed_policy(backend: IAMBackend, arn: str) -> None:
    try:
        policy = backend.get_policy(arn)
    except MISSING:
        return
    for role in list(backend.roles.values()):
        if arn in role.managed_policies:
            backend.detach_role_policy(arn, role.name)
    for group in list(backend.groups.values()):
        if arn in group.managed_policies:
            backend.detach_group_policy(arn, group.name)
    for user in list(backend.users.values()):
        if arn in user.managed_policies:
            backend.detach_user_policy(arn, user.name)
    for version in [v for v in policy.versions if not v.is_default]:
        backend.delete_policy_version(arn, version.version_id)
    backend.delete_policy(arn)
