"""``AWS::IAM::SAMLProvider``: an identity provider in the account's IAM (moto's CloudFormation skips it).

Name (a new name replaces the provider), SamlMetadataDocument and Tags; ``Ref`` and ``Fn::GetAtt Arn``
give the provider's ARN. The provider is made through moto's IAM backend, so ``ListSAMLProviders`` and
``GetSAMLProvider`` (with its tags) show it.
"""

from __future__ import annotations


from moto.core.common_models import CloudFormationModel
from moto.iam.exceptions import EntityAlreadyExists
from moto.iam.models import IAMBackend

from emulator.cfn_iam.common import MISSING, IamResource, iam_backend
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

    def _update_in_place(self, properties: Properties) -> None:
        backend = self.backend
        provider = backend.update_saml_provider(self.arn, str(properties["SamlMetadataDocument"]))
        provider.tags = tag_list(tags(properties))  # type: ignore[attr-defined]

    @staticmethod
    def _remove(backend: IAMBackend, physical_id: str) -> None:
        _delete_provider(backend, physical_id)


def _delete_provider(backend: IAMBackend, arn: str) -> None:
    try:
        backend.delete_saml_provider(arn)
    except MISSING:
        pass
