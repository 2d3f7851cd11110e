"""``AWS::IAM::SAMLProvider``: an identity provider in the account's IAM (moto's CloudFormation skips it).

Name (a new name replaces the provider), SamlMetadataDocument and Tags; ``Ref`` and ``Fn::GetAtt Arn``
give the provider's ARN. The provider is made through moto's IAM backend, so ``ListSAMLProviders`` and
``GetSAMLProvider`` (with its tags) show it.
"""

from __future__ import annotations

import copy
from typing import Any

from moto.core.common_models import CloudFormationModel
from moto.iam.exceptions import EntityAlreadyExists
from moto.iam.models import IAMBackend

from emulator.cfn_iam.common import MISSING, IamResource, iam_backend, resource_properties
from emulator.cfn_iam.properties import Properties, tag_list, tags


class IamSamlProvider(IamResource, CloudFormationModel):
    cfn_type = "AWS::IAM::SAMLProvider"
    name_property = "Name"
    cfn_attributes = ("Arn",)

    def __init__(
        self, account_id: str, region_name: str, name: str, properties: Properties, auto_named: bool, arn: str
    ):
        super().__init__(account_id, region_name, name, properties, auto_named)
        self.arn = arn

    @property
    def physical_resource_id(self) -> str:
        return self.arn  # Ref of a SAML provider is its ARN

    def attribute(self, attribute_name: str) -> str:
        return self.arn

    @classmethod
    def _create(
        cls, account_id: str, region_name: str, name: str, properties: Properties, auto_named: bool
    ) -> IamSamlProvider:
        backend = iam_backend(account_id, region_name)
        if name in backend.saml_providers:  # moto would replace it silently
            raise EntityAlreadyExists(f"SAMLProvider {name} already exists")
        provider = backend.create_saml_provider(name, str(properties["SamlMetadataDocument"]))
        provider.tags = tag_list(tags(properties))  # type: ignore[attr-defined]  # GetSAMLProvider shows them
        return cls(account_id, region_name, name, properties, auto_named, provider.arn)

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[override]
        cls, original_resource: IamSamlProvider, new_resource_name: str, cloudformation_json: dict[str, Any],
        account_id: str, region_name: str,
    ) -> IamSamlProvider:
        properties = resource_properties(cloudformation_json)
        name = cls._name_at_update(original_resource, properties, new_resource_name)
        if name != original_resource.name:
            replacement = cls._create(account_id, region_name, name, properties, cls.name_property not in properties)
            original_resource.delete(account_id, region_name)
            return replacement
        backend = original_resource.backend
        provider = backend.update_saml_provider(original_resource.arn, str(properties["SamlMetadataDocument"]))
        provider.tags = tag_list(tags(properties))  # type: ignore[attr-defined]
        original_resource.properties = copy.deepcopy(properties)
        return original_resource

    @classmethod
    def delete_from_cloudformation_json(  # type: ignore[override]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> None:
        _delete_provider(iam_backend(account_id, region_name), resource_name)

    def delete(self, account_id: str, region_name: str) -> None:
        _delete_provider(iam_backend(account_id, region_name), self.arn)


def _delete_provider(backend: IAMBackend, arn: str) -> None:
    try:
        backend.delete_saml_provider(arn)
    except MISSING:
        pass
