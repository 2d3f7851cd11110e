"""What moto calls on a CloudFormation model, for the types the emulator implements like a resource handler:
a ``_create`` from the template's properties, an ``_update`` in place, or a replacement when a create-only
property changes (``_replaces``); deletion goes through the created object's ``delete()``.

A mixin, listed before ``CloudFormationModel``: moto looks for models among the *direct* subclasses of
``CloudFormationModel``, so every type names both."""

from __future__ import annotations

import copy
from typing import Any

Properties = dict[str, Any]


def resource_properties(cloudformation_json: dict[str, Any]) -> Properties:
    """The resource's ``Properties`` as the template gives them, a copy the handler may keep."""
    return copy.deepcopy(dict(cloudformation_json.get("Properties") or {}))


class HandledResource:
    ATTRIBUTES: tuple[str, ...] = ()
    properties: Properties

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""  # names are required and used as given: moto must not generate one

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in cls.ATTRIBUTES

    def is_created(self) -> bool:
        return True

    # the handler's steps, for each type to say --------------------------------------------------------

    @classmethod
    def _create(cls, account_id: str, region_name: str, properties: Properties) -> Any:
        raise NotImplementedError

    @classmethod
    def _replaces(cls, before: Properties, after: Properties) -> bool:
        """Whether going from ``before`` to ``after`` changes a create-only property."""
        raise NotImplementedError

    def _update(self, properties: Properties) -> None:
        raise NotImplementedError

    def _retire(self, account_id: str, region_name: str) -> None:
        """What becomes of a resource once its replacement exists: deleted, unless a type says otherwise."""
        self.delete(account_id, region_name)  # type: ignore[attr-defined]

    # moto calls these three ---------------------------------------------------------------------------

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[override]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str,
        **kwargs: Any,
    ) -> Any:
        return cls._create(account_id, region_name, resource_properties(cloudformation_json))

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[override]
        cls, original_resource: Any, new_resource_name: str, cloudformation_json: dict[str, Any],
        account_id: str, region_name: str,
    ) -> Any:
        properties = resource_properties(cloudformation_json)
        if not isinstance(original_resource, cls):
            return cls._create(account_id, region_name, properties)
        if cls._replaces(original_resource.properties, properties):
            replacement = cls._create(account_id, region_name, properties)  # the new one first: never a gap
            original_resource._retire(account_id, region_name)
            return replacement
        original_resource._update(properties)
        return original_resource

    @classmethod
    def delete_from_cloudformation_json(  # type: ignore[override]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str,
    ) -> None:
        pass  # moto deletes through the created object's delete()
