"""What every CloudFormation IAM resource here shares: its backend, its remembered properties, and the
helpers that bring IAM from the old properties to the new."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import moto.cloudformation.parsing as cfn_parsing
from moto.cloudformation.exceptions import UnformattedGetAttTemplateException
from moto.iam.exceptions import NoSuchEntity, NotFoundException
from moto.iam.models import IAMBackend, iam_backends
from moto.utilities.utils import get_partition

from emulator.cfn_iam.properties import Properties, inline_policies, removed, string_list

MISSING = (NotFoundException, NoSuchEntity)


def iam_backend(account_id: str, region_name: str) -> IAMBackend:
    return iam_backends[account_id][get_partition(region_name)]


def clear_model_caches() -> None:
    """Forget moto's type -> model maps, so that they are rebuilt with the classes defined here."""
    for cached in (cfn_parsing.get_model_list, cfn_parsing.get_model_map, cfn_parsing.get_name_type_map):
        cached.cache_clear()


class IamResource:
    """Where a resource lives, its name and the properties it last applied.

    Also what moto asks of every CloudFormation model, from three class attributes: ``cfn_type``,
    ``name_property`` and ``cfn_attributes`` (answered by ``attribute()``). Each model still
    subclasses moto's CloudFormationModel directly, as moto's type lookup requires.
    """

    cfn_type = ""
    name_property = ""
    cfn_attributes: tuple[str, ...] = ()

    @classmethod
    def cloudformation_type(cls) -> str:
        return cls.cfn_type

    @classmethod
    def cloudformation_name_type(cls) -> str:
        return cls.name_property

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in cls.cfn_attributes

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        if attribute_name not in self.cfn_attributes:
            raise UnformattedGetAttTemplateException()
        return self.attribute(attribute_name)

    def attribute(self, attribute_name: str) -> Any:
        raise UnformattedGetAttTemplateException()

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> Any:
        properties = resource_properties(cloudformation_json)
        name, auto_named = cls._name_at_create(properties, resource_name)
        return cls._create(account_id, region_name, name, properties, auto_named)

    @classmethod
    def _create(cls, account_id: str, region_name: str, name: str, properties: Properties, auto_named: bool) -> Any:
        raise NotImplementedError

    @classmethod
    def update_from_cloudformation_json(
        cls, original_resource: Any, new_resource_name: str, cloudformation_json: dict[str, Any], account_id: str,
        region_name: str,
    ) -> Any:
        """A new name (or what else ``_needs_replacement`` says) replaces the resource, as in AWS; else in place."""
        properties = resource_properties(cloudformation_json)
        name = cls._name_at_update(original_resource, properties, new_resource_name)
        if name != original_resource.name or original_resource._needs_replacement(properties):
            replacement = cls._create(account_id, region_name, name, properties, cls.name_property not in properties)
            original_resource.delete(account_id, region_name)
            return replacement
        original_resource._update_in_place(properties)
        original_resource.properties = copy.deepcopy(properties)
        return original_resource

    def _needs_replacement(self, properties: Properties) -> bool:
        return False

    def _update_in_place(self, properties: Properties) -> None:
        raise NotImplementedError

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> None:
        cls._remove(iam_backend(account_id, region_name), resource_name)

    def delete(self, account_id: str, region_name: str) -> None:
        self._remove(iam_backend(account_id, region_name), self.physical_resource_id)

    @staticmethod
    def _remove(backend: IAMBackend, physical_id: str) -> None:
        raise NotImplementedError

    def __init__(self, account_id: str, region_name: str, name: str, properties: Properties, auto_named: bool):
        self.account_id = account_id
        self.region_name = region_name
        self.name = name
        self.properties: Properties = copy.deepcopy(properties)
        self.auto_named = auto_named

    @property
    def backend(self) -> IAMBackend:
        return iam_backend(self.account_id, self.region_name)

    @property
    def physical_resource_id(self) -> str:
        return self.name

    def is_created(self) -> bool:
        return True

    def mark_attempted(self, properties: Properties) -> None:
        """An update that failed half-way may have applied part of ``properties``: the rollback must bring
        IAM back from those, not from the properties last applied in full."""
        self.properties = copy.deepcopy(properties)

    @classmethod
    def _name_at_create(cls, properties: Properties, resource_name: str) -> tuple[str, bool]:
        explicit = properties.get(cls.name_property) if cls.name_property else None
        return (str(explicit), False) if explicit else (resource_name, True)

    @classmethod
    def _name_at_update(cls, original: IamResource, properties: Properties, new_resource_name: str) -> str:
        explicit = properties.get(cls.name_property) if cls.name_property else None
        if explicit:
            return str(explicit)
        return original.name if original.auto_named else new_resource_name


def resource_properties(cloudformation_json: dict[str, Any]) -> Properties:
    return dict(cloudformation_json.get("Properties") or {})


def ignore_missing(action: Callable[..., Any], *args: Any) -> None:
    try:
        action(*args)
    except MISSING:
        pass


def sync_attachments(
    old: list[str], new: list[str], attached: Callable[[], set[str]],
    attach: Callable[[str], None], detach: Callable[[str], None],
) -> None:
    """Detach what the old properties had and the new do not; attach what is new and not attached."""
    for arn in removed(old, new):
        if arn in attached():
            detach(arn)
    for arn in new:
        if arn not in attached():
            attach(arn)


def sync_inline_policies(
    old: Properties, new: Properties, put: Callable[[str, str], None], delete: Callable[[str], None]
) -> None:
    wanted = inline_policies(new)
    for policy_name in removed(inline_policies(old), wanted):
        ignore_missing(delete, policy_name)
    for policy_name, document in wanted.items():
        put(policy_name, document)


def sync_policies(backend: IAMBackend, kind: str, name: str, old: Properties, new: Properties) -> None:
    """Inline ``Policies`` and ``ManagedPolicyArns`` of a role, group or user (``kind``), from ``old`` to ``new``.

    moto names the calls alike for the three: put_/delete_<kind>_policy, attach_/detach_<kind>_policy."""
    put, delete = getattr(backend, f"put_{kind}_policy"), getattr(backend, f"delete_{kind}_policy")
    attach, detach = getattr(backend, f"attach_{kind}_policy"), getattr(backend, f"detach_{kind}_policy")
    entity = getattr(backend, f"get_{kind}")
    sync_inline_policies(
        old, new,
        put=lambda policy_name, document: put(name, policy_name, document),
        delete=lambda policy_name: delete(name, policy_name),
    )
    sync_attachments(
        string_list(old.get("ManagedPolicyArns")), string_list(new.get("ManagedPolicyArns")),
        attached=lambda: set(entity(name).managed_policies),
        attach=lambda arn: attach(arn, name),
        detach=lambda arn: detach(arn, name),
    )
