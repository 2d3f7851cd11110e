"""``AWS::SecretsManager::Secret`` in CloudFormation, which moto 5.2.5 skips.

Name, Description, KmsKeyId, Tags, and the value from ``SecretString`` or ``GenerateSecretString``
(PasswordLength, ExcludeCharacters, Exclude{Lowercase,Uppercase,Numbers,Punctuation}, IncludeSpace,
RequireEachIncludedType, and SecretStringTemplate with GenerateStringKey for a JSON secret). ``Ref`` and
``Fn::GetAtt Id`` give the secret's ARN. An update with a new value adds a secret version; a new Name
replaces the secret; deleting the stack deletes the secret at once (no recovery window), as
CloudFormation does. The secret lives in moto's Secrets Manager, so ``GetSecretValue`` reads it, and
``{{resolve:secretsmanager:...}}`` references to it resolve (``emulator.cfn_stacks.dynamic_references``).
"""

from __future__ import annotations

import copy
import json
from typing import Any

# moto's models first, so that the class below comes after them in moto's type -> model map
import moto.cloudformation.parsing  # noqa: F401
from moto.cloudformation.exceptions import UnformattedGetAttTemplateException
from moto.core.common_models import CloudFormationModel
from moto.moto_api._internal import mock_random
from moto.secretsmanager.models import SecretsManagerBackend, secretsmanager_backends
from moto.secretsmanager.utils import random_password

from emulator.cfn_iam.common import clear_model_caches
from emulator.cfn_iam.properties import Properties, as_bool, tag_list, tags

DEFAULT_PASSWORD_LENGTH = 32


def secrets_backend(account_id: str, region_name: str) -> SecretsManagerBackend:
    return secretsmanager_backends[account_id][region_name]


def generated_secret_string(spec: dict[str, Any]) -> str:
    """A value as Secrets Manager's GetRandomPassword makes it for ``GenerateSecretString``."""
    length = int(spec.get("PasswordLength") or DEFAULT_PASSWORD_LENGTH)
    if not 1 <= length <= 4096:
        raise ValueError(f"PasswordLength must be between 1 and 4096, not {length}")
    password = random_password(
        length,
        str(spec.get("ExcludeCharacters") or ""),
        as_bool(spec.get("ExcludeNumbers")),
        as_bool(spec.get("ExcludePunctuation")),
        as_bool(spec.get("ExcludeUppercase")),
        as_bool(spec.get("ExcludeLowercase")),
        as_bool(spec.get("IncludeSpace")),
        as_bool(spec.get("RequireEachIncludedType"), default=True),
    )
    template, key = spec.get("SecretStringTemplate"), spec.get("GenerateStringKey")
    if template is None and key is None:
        return password
    if template is None or key is None:
        raise ValueError("SecretStringTemplate and GenerateStringKey go together")
    document = json.loads(template) if isinstance(template, str) else dict(template)
    if not isinstance(document, dict):
        raise ValueError("SecretStringTemplate must be a JSON object")
    document[str(key)] = password
    return json.dumps(document)


def _secret_string(properties: Properties) -> str | None:
    if "SecretString" in properties and "GenerateSecretString" in properties:
        raise ValueError("You can't specify both SecretString and GenerateSecretString")
    if "SecretString" in properties:
        return str(properties["SecretString"])
    if "GenerateSecretString" in properties:
        return generated_secret_string(dict(properties["GenerateSecretString"] or {}))
    return None


class SecretsManagerSecret(CloudFormationModel):
    def __init__(self, account_id: str, region_name: str, name: str, arn: str, properties: Properties,
                 auto_named: bool) -> None:
        self.account_id = account_id
        self.region_name = region_name
        self.name = name
        self.arn = arn
        self.properties: Properties = copy.deepcopy(properties)
        self.auto_named = auto_named

    @property
    def physical_resource_id(self) -> str:
        return self.arn  # Ref of a secret is its ARN

    @staticmethod
    def cloudformation_name_type() -> str:
        return "Name"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SecretsManager::Secret"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "Id"

    def get_cfn_attribute(self, attribute_name: str) -> str:
        if attribute_name == "Id":
            return self.arn
        raise UnformattedGetAttTemplateException()

    def is_created(self) -> bool:
        return True

    def mark_attempted(self, properties: Properties) -> None:
        """A failed update may have applied part of ``properties``: a rollback starts from them."""
        self.properties = copy.deepcopy(properties)

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[override]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str,
        **kwargs: Any,
    ) -> SecretsManagerSecret:
        properties = dict(cloudformation_json.get("Properties") or {})
        explicit = properties.get("Name")
        return cls._create(account_id, region_name, str(explicit or resource_name), properties, not explicit)

    @classmethod
    def _create(cls, account_id: str, region_name: str, name: str, properties: Properties,
                auto_named: bool) -> SecretsManagerSecret:
        backend = secrets_backend(account_id, region_name)
        backend.create_secret(
            name=name, secret_string=_secret_string(properties), secret_binary=None,
            description=_text(properties.get("Description")), tags=tag_list(tags(properties)) or None,
            kms_key_id=_text(properties.get("KmsKeyId")), client_request_token=None, replica_regions=[],
            force_overwrite=False,
        )
        arn = backend.describe_secret(name).arn
        return cls(account_id, region_name, name, arn, properties, auto_named)

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[override]
        cls, original_resource: SecretsManagerSecret, new_resource_name: str, cloudformation_json: dict[str, Any],
        account_id: str, region_name: str,
    ) -> SecretsManagerSecret:
        properties = dict(cloudformation_json.get("Properties") or {})
        explicit = properties.get("Name")
        name = str(explicit) if explicit else (original_resource.name if original_resource.auto_named else new_resource_name)
        if name != original_resource.name:
            replacement = cls._create(account_id, region_name, name, properties, not explicit)
            original_resource.delete(account_id, region_name)
            return replacement
        original_resource._sync(properties)
        original_resource.properties = copy.deepcopy(properties)
        return original_resource

    def _sync(self, new: Properties) -> None:
        backend = secrets_backend(self.account_id, self.region_name)
        old = self.properties
        value_changed = any(old.get(key) != new.get(key) for key in ("SecretString", "GenerateSecretString"))
        secret = backend.describe_secret(self.arn)
        description = _text(new.get("Description"))
        kms_key_id = _text(new.get("KmsKeyId"))
        if value_changed and _secret_string(new) is not None:
            backend.update_secret(self.arn, secret_string=_secret_string(new), kms_key_id=kms_key_id,
                                  description=description, client_request_token=str(mock_random.uuid4()))
        secret.description = description  # moto keeps the old description when the new one is empty
        secret.kms_key_id = kms_key_id
        wanted, had = tags(new), tags(old)
        stale = [key for key in had if key not in wanted]
        if stale:
            backend.untag_resource(self.arn, stale)
        if wanted:
            backend.tag_resource(self.arn, wanted)

    @classmethod
    def delete_from_cloudformation_json(  # type: ignore[override]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> None:
        _delete_secret(secrets_backend(account_id, region_name), resource_name)

    def delete(self, account_id: str, region_name: str) -> None:
        _delete_secret(secrets_backend(self.account_id, self.region_name), self.arn)


def _text(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def _delete_secret(backend: SecretsManagerBackend, secret_id: str) -> None:
    if secret_id in backend.secrets:
        backend.delete_secret(secret_id, recovery_window_in_days=None, force_delete_without_recovery=True)


def install() -> None:
    clear_model_caches()
