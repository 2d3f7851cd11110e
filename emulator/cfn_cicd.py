"""CloudFormation resource types of orgiam's pipeline templates (``cicd/``), made real in the emulator.

moto 5.2.5's CloudFormation, for the types ``cicd/pipeline.yml`` and ``cicd/management-events.yml`` use:

- ``AWS::KMS::Key`` fails the whole request on CloudFormation's ``Key``/``Value`` tags (moto wants KMS's
  ``TagKey``/``TagValue``) and keeps the key policy as an object, not a document;
- ``AWS::S3::Bucket`` applies encryption (without ``BucketKeyEnabled``) and tags, and ignores the public
  access block, ownership controls, versioning and lifecycle;
- ``AWS::Logs::LogGroup`` ignores ``KmsKeyId``;
- ``AWS::S3::BucketPolicy``, ``AWS::SNS::Subscription``, ``AWS::SNS::TopicPolicy``,
  ``AWS::Events::EventBusPolicy``, ``AWS::CodeBuild::Project`` and ``AWS::CodePipeline::Pipeline`` are
  skipped: the stack completes without them, although moto has the service APIs to read them;
- ``AWS::Events::EventBus``'s ``Ref`` is the bus object instead of its name;
- ``AWS::CodeBuild::ReportGroup`` is skipped and a ``Fn::GetAtt`` of it fails the stack.

The classes below create, update and delete these through moto's service backends, so that a test reads
them back with the ordinary APIs (``GetBucketPolicy``, ``BatchGetProjects``, ``GetPipeline``,
``DescribeEventBus``, ...). moto has no CodeBuild report-group API: a report group is only a record that
CloudFormation can reference (``Ref`` and ``Fn::GetAtt Arn``), listed in the stack's resources.

Nothing here runs a build or a pipeline, evaluates a key, bucket, topic or bus policy, or delivers an
event to CodePipeline: moto does none of that.

Loading this module registers the classes (they come after moto's own in moto's type -> model map, so
they win) and clears moto's caches of that map; ``emulator.server.install_extensions`` imports it.
"""

from __future__ import annotations

import copy
import json
from typing import Any

# moto's models first, so that the classes below come after them in moto's type -> model map
import moto.cloudformation.parsing as cfn_parsing
from moto.codebuild.models import codebuild_backends
from moto.codepipeline.models import codepipeline_backends
from moto.core.common_models import CloudFormationModel
from moto.events.models import events_backends
from moto.kms.models import kms_backends
from moto.logs.models import logs_backends
from moto.s3.models import FakeBucket, s3_backends
from moto.sns.models import sns_backends
from moto.utilities.utils import get_partition

Properties = dict[str, Any]

__all__ = [
    "MODELS", "clear_model_caches", "CodeBuildProject", "CodeBuildReportGroup", "CodePipelinePipeline",
    "EventBus", "EventBusPolicy", "KmsKey", "LogGroup", "S3Bucket", "S3BucketPolicy", "SnsSubscription", "SnsTopicPolicy",
]


def clear_model_caches() -> None:
    """Forget moto's type -> model maps, so that they are rebuilt with the classes defined here."""
    for cached in (cfn_parsing.get_model_list, cfn_parsing.get_model_map, cfn_parsing.get_name_type_map):
        cached.cache_clear()


def _properties(cloudformation_json: dict[str, Any]) -> Properties:
    return copy.deepcopy(dict(cloudformation_json.get("Properties") or {}))


def _present(values: list[Any] | None) -> list[Any]:
    """A list as CloudFormation passes it on: ``AWS::NoValue`` entries (None here) removed."""
    return [value for value in values or [] if value is not None]


def _policy_text(document: Any) -> str:
    return document if isinstance(document, str) else json.dumps(document)


def _flag(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


class _Created:
    """What the stack keeps of one resource: where it is, its physical id, attributes and properties.

    A mixin: moto looks for models among the *direct* subclasses of ``CloudFormationModel``, so every
    type below names both."""

    NAME_PROPERTY = ""
    ATTRIBUTES: tuple[str, ...] = ()

    def __init__(self, account_id: str, region_name: str, physical_id: str, properties: Properties,
                 attributes: dict[str, str] | None = None) -> None:
        self.account_id = account_id
        self.region_name = region_name
        self._physical_id = physical_id
        self.properties = properties
        self.attributes = dict(attributes or {})

    @property
    def physical_resource_id(self) -> str:
        return self._physical_id

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in cls.ATTRIBUTES

    def get_cfn_attribute(self, attribute_name: str) -> str:
        from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

        if attribute_name in self.ATTRIBUTES and attribute_name in self.attributes:
            return self.attributes[attribute_name]
        raise UnformattedGetAttTemplateException()

    def is_created(self) -> bool:
        return True

    @classmethod
    def _name(cls, properties: Properties, resource_name: str) -> str:
        explicit = properties.get(cls.NAME_PROPERTY) if cls.NAME_PROPERTY else None
        return str(explicit) if explicit else resource_name

    # moto calls these three; each type says what creating, updating and deleting mean
    @classmethod
    def create_from_cloudformation_json(  # type: ignore[override]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str,
        **kwargs: Any,
    ) -> Any:
        return cls._create(account_id, region_name, cls._name(_properties(cloudformation_json), resource_name),
                           _properties(cloudformation_json), kwargs.get("LogicalId", ""))

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[override]
        cls, original_resource: Any, new_resource_name: str, cloudformation_json: dict[str, Any],
        account_id: str, region_name: str,
    ) -> Any:
        properties = _properties(cloudformation_json)
        # without an explicit name, a resource keeps the one it has (CloudFormation generates names once)
        kept = original_resource.physical_resource_id if isinstance(original_resource, _Created) else new_resource_name
        name = cls._name(properties, kept)
        if isinstance(original_resource, _Created) and name == original_resource.physical_resource_id:
            return original_resource._update(properties)
        original_resource.delete(account_id, region_name)  # a new name replaces the resource
        return cls._create(account_id, region_name, name, properties, "")

    @classmethod
    def delete_from_cloudformation_json(  # type: ignore[override]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str,
    ) -> None:
        pass  # moto deletes through the created object's delete()

    @classmethod
    def _create(cls, account_id: str, region_name: str, name: str, properties: Properties, logical_id: str) -> Any:
        raise NotImplementedError

    def _update(self, properties: Properties) -> Any:
        """Bring the resource to ``properties`` in place; by default, delete it and create it again."""
        self.delete(self.account_id, self.region_name)
        return type(self)._create(self.account_id, self.region_name, self._physical_id, properties, "")

    def delete(self, account_id: str, region_name: str) -> None:
        raise NotImplementedError


# ------------------------------------------------------------------------------------------------ KMS


class KmsKey(_Created, CloudFormationModel):
    """``AWS::KMS::Key``: the key policy as a document, rotation, description, CloudFormation tags."""

    ATTRIBUTES = ("Arn", "KeyId")

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::KMS::Key"

    @classmethod
    def _create(cls, account_id: str, region_name: str, name: str, properties: Properties, logical_id: str) -> KmsKey:
        backend = kms_backends[account_id][region_name]
        key = backend.create_key(
            policy=_policy_text(properties["KeyPolicy"]),
            key_usage=properties.get("KeyUsage", "ENCRYPT_DECRYPT"),
            key_spec=properties.get("KeySpec", "SYMMETRIC_DEFAULT"),
            description=properties.get("Description", ""),
            tags=[{"TagKey": t["Key"], "TagValue": t["Value"]} for t in properties.get("Tags", [])],
            multi_region=_flag(properties.get("MultiRegion", False)),
        )
        key.key_rotation_status = _flag(properties.get("EnableKeyRotation", False))
        key.enabled = _flag(properties.get("Enabled", True))
        return cls(account_id, region_name, key.id, properties, {"Arn": key.arn, "KeyId": key.id})

    def _update(self, properties: Properties) -> KmsKey:
        backend = kms_backends[self.account_id][self.region_name]
        key_id = self._physical_id
        backend.put_key_policy(key_id, _policy_text(properties["KeyPolicy"]))
        backend.update_key_description(key_id, properties.get("Description", ""))
        backend.keys[key_id].key_rotation_status = _flag(properties.get("EnableKeyRotation", False))
        backend.keys[key_id].enabled = _flag(properties.get("Enabled", True))
        backend.tagger.delete_all_tags_for_resource(key_id)
        backend.tagger.tag_resource(key_id, [{"TagKey": t["Key"], "TagValue": t["Value"]}
                                             for t in properties.get("Tags", [])])
        self.properties = properties
        return self

    def delete(self, account_id: str, region_name: str) -> None:
        pending = int(self.properties.get("PendingWindowInDays", 30))
        kms_backends[account_id][region_name].schedule_key_deletion(self._physical_id, pending)


# ------------------------------------------------------------------------------------------------ S3


class S3Bucket(CloudFormationModel):
    """``AWS::S3::Bucket``: moto's bucket, plus what moto leaves out (public access block, ownership
    controls, versioning, lifecycle, and encryption with ``BucketKeyEnabled``). The created object is
    moto's own ``FakeBucket``."""

    @staticmethod
    def cloudformation_name_type() -> str:
        return "BucketName"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::S3::Bucket"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return FakeBucket.has_cfn_attr(attr)

    def is_created(self) -> bool:
        return True

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[override]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str,
        **kwargs: Any,
    ) -> FakeBucket:
        bucket = FakeBucket.create_from_cloudformation_json(resource_name, cloudformation_json, account_id,
                                                            region_name, **kwargs)
        _apply_bucket_settings(s3_backends[account_id][get_partition(region_name)], bucket.name,
                               _properties(cloudformation_json))
        return bucket

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[override]
        cls, original_resource: Any, new_resource_name: str, cloudformation_json: dict[str, Any],
        account_id: str, region_name: str,
    ) -> FakeBucket:
        bucket = FakeBucket.update_from_cloudformation_json(original_resource, new_resource_name,
                                                            cloudformation_json, account_id, region_name)
        _apply_bucket_settings(s3_backends[account_id][get_partition(region_name)], bucket.name,
                               _properties(cloudformation_json))
        return bucket

    @classmethod
    def delete_from_cloudformation_json(  # type: ignore[override]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str,
    ) -> None:
        FakeBucket.delete_from_cloudformation_json(resource_name, cloudformation_json, account_id, region_name)


def _apply_bucket_settings(backend: Any, name: str, properties: Properties) -> None:
    encryption = properties.get("BucketEncryption")
    if encryption:
        rule = encryption["ServerSideEncryptionConfiguration"][0]
        backend.put_bucket_encryption(name, {"Rule": {
            "ApplyServerSideEncryptionByDefault": dict(rule.get("ServerSideEncryptionByDefault", {})),
            "BucketKeyEnabled": "true" if _flag(rule.get("BucketKeyEnabled", False)) else "false",
        }})
    block = properties.get("PublicAccessBlockConfiguration")
    if block:
        backend.put_public_access_block(name, {key: _flag(value) for key, value in block.items()})
    else:
        backend.get_bucket(name).public_access_block = None
    ownership = properties.get("OwnershipControls")
    backend.get_bucket(name).ownership_rule = ownership["Rules"][0]["ObjectOwnership"] if ownership else None
    versioning = properties.get("VersioningConfiguration")
    if versioning:
        backend.put_bucket_versioning(name, versioning["Status"])
    lifecycle = properties.get("LifecycleConfiguration")
    if lifecycle:
        backend.put_bucket_lifecycle(name, [_lifecycle_rule(rule) for rule in lifecycle["Rules"]])
    elif backend.get_bucket(name).rules:
        backend.delete_bucket_lifecycle(name)


def _lifecycle_rule(rule: Properties) -> dict[str, Any]:
    """A CloudFormation lifecycle rule in the shape of S3's PutBucketLifecycleConfiguration XML."""
    api: dict[str, Any] = {"ID": rule.get("Id", ""), "Status": rule["Status"],
                           "Filter": {"Prefix": rule.get("Prefix", "")}}
    if "ExpirationInDays" in rule:
        api["Expiration"] = {"Days": str(rule["ExpirationInDays"])}
    if "NoncurrentVersionExpiration" in rule:
        api["NoncurrentVersionExpiration"] = {
            "NoncurrentDays": str(rule["NoncurrentVersionExpiration"]["NoncurrentDays"])}
    elif "NoncurrentVersionExpirationInDays" in rule:
        api["NoncurrentVersionExpiration"] = {"NoncurrentDays": str(rule["NoncurrentVersionExpirationInDays"])}
    if "AbortIncompleteMultipartUpload" in rule:
        api["AbortIncompleteMultipartUpload"] = {
            "DaysAfterInitiation": str(rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"])}
    return api


class S3BucketPolicy(_Created, CloudFormationModel):
    """``AWS::S3::BucketPolicy``: the bucket's policy (physical id: the bucket name)."""

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::S3::BucketPolicy"

    @classmethod
    def _name(cls, properties: Properties, resource_name: str) -> str:
        return str(properties["Bucket"])

    @classmethod
    def _create(cls, account_id: str, region_name: str, name: str, properties: Properties,
                logical_id: str) -> S3BucketPolicy:
        backend = s3_backends[account_id][get_partition(region_name)]
        backend.put_bucket_policy(name, _policy_text(properties["PolicyDocument"]).encode())
        return cls(account_id, region_name, name, properties)

    def _update(self, properties: Properties) -> S3BucketPolicy:
        return type(self)._create(self.account_id, self.region_name, self._physical_id, properties, "")

    def delete(self, account_id: str, region_name: str) -> None:
        backend = s3_backends[account_id][get_partition(region_name)]
        if self._physical_id in backend.buckets:
            backend.delete_bucket_policy(self._physical_id)


# ------------------------------------------------------------------------------------------------ logs


class LogGroup(_Created, CloudFormationModel):
    """``AWS::Logs::LogGroup`` with its retention and its KMS key (moto's own drops the key)."""

    NAME_PROPERTY = "LogGroupName"
    ATTRIBUTES = ("Arn",)

    @staticmethod
    def cloudformation_name_type() -> str:
        return "LogGroupName"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Logs::LogGroup"

    @classmethod
    def _create(cls, account_id: str, region_name: str, name: str, properties: Properties, logical_id: str) -> LogGroup:
        backend = logs_backends[account_id][region_name]
        tags = {t["Key"]: t["Value"] for t in properties.get("Tags", [])}
        group = backend.create_log_group(name, tags)
        group.retention_in_days = int(properties["RetentionInDays"]) if properties.get("RetentionInDays") else None
        group.kms_key_id = properties.get("KmsKeyId")
        return cls(account_id, region_name, name, properties, {"Arn": group.arn})

    def _update(self, properties: Properties) -> LogGroup:
        group = logs_backends[self.account_id][self.region_name].groups[self._physical_id]
        group.retention_in_days = int(properties["RetentionInDays"]) if properties.get("RetentionInDays") else None
        group.kms_key_id = properties.get("KmsKeyId")
        self.properties = properties
        return self

    def delete(self, account_id: str, region_name: str) -> None:
        backend = logs_backends[account_id][region_name]
        if self._physical_id in backend.groups:
            backend.delete_log_group(self._physical_id)


# ------------------------------------------------------------------------------------------------ SNS


class SnsSubscription(_Created, CloudFormationModel):
    """``AWS::SNS::Subscription`` (physical id: the subscription ARN)."""

    ATTRIBUTES = ("Arn",)

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SNS::Subscription"

    @classmethod
    def _create(cls, account_id: str, region_name: str, name: str, properties: Properties,
                logical_id: str) -> SnsSubscription:
        topic_arn = properties["TopicArn"]
        backend = sns_backends[account_id][topic_arn.split(":")[3]]
        subscription = backend.subscribe(topic_arn, properties["Endpoint"], properties["Protocol"])
        for attribute in ("FilterPolicy", "RawMessageDelivery", "RedrivePolicy"):
            if attribute in properties:
                value = properties[attribute]
                backend.set_subscription_attributes(
                    subscription.arn, attribute, value if isinstance(value, str) else json.dumps(value))
        return cls(account_id, region_name, subscription.arn, properties, {"Arn": subscription.arn})

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[override]
        cls, original_resource: Any, new_resource_name: str, cloudformation_json: dict[str, Any],
        account_id: str, region_name: str,
    ) -> Any:
        original_resource.delete(account_id, region_name)  # a changed subscription is a new one
        return cls._create(account_id, region_name, new_resource_name, _properties(cloudformation_json), "")

    def delete(self, account_id: str, region_name: str) -> None:
        sns_backends[account_id][self._physical_id.split(":")[3]].unsubscribe(self._physical_id)


class SnsTopicPolicy(_Created, CloudFormationModel):
    """``AWS::SNS::TopicPolicy``: the ``Policy`` attribute of each topic; deleting it restores SNS's
    default policy."""

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SNS::TopicPolicy"

    @classmethod
    def _create(cls, account_id: str, region_name: str, name: str, properties: Properties,
                logical_id: str) -> SnsTopicPolicy:
        for topic_arn in _present(properties["Topics"]):
            sns_backends[account_id][topic_arn.split(":")[3]].set_topic_attribute(
                topic_arn, "policy", _policy_text(properties["PolicyDocument"]))
        return cls(account_id, region_name, name, properties)

    def _update(self, properties: Properties) -> SnsTopicPolicy:
        self.delete(self.account_id, self.region_name)
        return type(self)._create(self.account_id, self.region_name, self._physical_id, properties, "")

    def delete(self, account_id: str, region_name: str) -> None:
        for topic_arn in _present(self.properties["Topics"]):
            backend = sns_backends[account_id][topic_arn.split(":")[3]]
            topic = backend.topics.get(topic_arn)
            if topic is not None:
                topic._policy_json = topic._create_default_topic_policy(backend.region_name, topic.account_id, topic.name)


# ------------------------------------------------------------------------------------------------ EventBridge


class EventBus(_Created, CloudFormationModel):
    """``AWS::Events::EventBus`` whose ``Ref`` is its name, as in CloudFormation (moto's gives the bus
    object itself, which a rule's ``EventBusName`` or a bus policy cannot use)."""

    NAME_PROPERTY = "Name"
    ATTRIBUTES = ("Arn", "Name", "Policy")

    @staticmethod
    def cloudformation_name_type() -> str:
        return "Name"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Events::EventBus"

    @classmethod
    def _create(cls, account_id: str, region_name: str, name: str, properties: Properties, logical_id: str) -> EventBus:
        bus = events_backends[account_id][region_name].create_event_bus(
            name, event_source_name=properties.get("EventSourceName"), description=properties.get("Description"),
            kms_key_identifier=properties.get("KmsKeyIdentifier"), dead_letter_config=properties.get("DeadLetterConfig"),
            tags=properties.get("Tags"))
        return cls(account_id, region_name, name, properties, {"Arn": bus.arn, "Name": name})

    def get_cfn_attribute(self, attribute_name: str) -> str:
        if attribute_name == "Policy":
            bus = events_backends[self.account_id][self.region_name].event_buses.get(self._physical_id)
            return (bus.policy if bus is not None else None) or ""
        return super().get_cfn_attribute(attribute_name)

    def _update(self, properties: Properties) -> EventBus:
        bus = events_backends[self.account_id][self.region_name].event_buses[self._physical_id]
        bus.description = properties.get("Description")
        bus.kms_key_identifier = properties.get("KmsKeyIdentifier")
        bus.dead_letter_config = properties.get("DeadLetterConfig")
        self.properties = properties
        return self

    def delete(self, account_id: str, region_name: str) -> None:
        backend = events_backends[account_id][region_name]
        bus = backend.event_buses.get(self._physical_id)
        if bus is not None:
            for rule in list(bus.rules.values()):
                rule.delete(account_id, region_name)
            backend.delete_event_bus(self._physical_id)


class EventBusPolicy(_Created, CloudFormationModel):
    """``AWS::Events::EventBusPolicy``: one statement of a bus's resource policy (``Statement``, or the
    older ``Action``/``Principal``/``Condition``), named by ``StatementId``."""

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Events::EventBusPolicy"

    @classmethod
    def _name(cls, properties: Properties, resource_name: str) -> str:
        return str(properties["StatementId"])

    @classmethod
    def _create(cls, account_id: str, region_name: str, name: str, properties: Properties,
                logical_id: str) -> EventBusPolicy:
        backend = events_backends[account_id][region_name]
        bus = properties.get("EventBusName") or "default"
        if "Statement" in properties:
            statement = dict(properties["Statement"], Sid=name)
            backend.put_permission(bus, None, None, None, None,
                                   json.dumps({"Version": "2012-10-17", "Statement": [statement]}))
        else:
            backend.put_permission(bus, properties["Action"], properties["Principal"], name,
                                   properties.get("Condition"), None)
        return cls(account_id, region_name, name, properties)

    def delete(self, account_id: str, region_name: str) -> None:
        backend = events_backends[account_id][region_name]
        bus = self.properties.get("EventBusName") or "default"
        if backend.event_buses.get(bus) is not None:
            backend.event_buses[bus].remove_statement(self._physical_id)


# ------------------------------------------------------------------------------------------------ CodeBuild


# CloudFormation property names whose API name is not simply the camelCase of it
_API_NAMES = {"BuildSpec": "buildspec"}


def _camel(key: str) -> str:
    """CloudFormation's property names to the API's: ``ConcurrentBuildLimit`` -> ``concurrentBuildLimit``."""
    return _API_NAMES.get(key, key[:1].lower() + key[1:])


def _api_shape(value: Any, keep_keys_under: frozenset[str] = frozenset()) -> Any:
    """A CloudFormation property value in the service API's JSON shape (camelCase keys, NoValue dropped).
    The keys of a mapping named in ``keep_keys_under`` (free-form maps such as an action's
    ``Configuration``) are kept as they are."""
    if isinstance(value, dict):
        shaped: dict[str, Any] = {}
        for key, item in value.items():
            if item is None:
                continue
            if key in keep_keys_under and isinstance(item, dict):
                shaped[_camel(key)] = {k: v for k, v in item.items() if v is not None}
            else:
                shaped[_camel(key)] = _api_shape(item, keep_keys_under)
        return shaped
    if isinstance(value, list):
        return [_api_shape(item, keep_keys_under) for item in _present(value)]
    return value


def _api_tags(properties: Properties) -> list[dict[str, str]]:
    return [{"key": t["Key"], "value": t["Value"]} for t in properties.get("Tags", [])]


class CodeBuildProject(_Created, CloudFormationModel):
    """``AWS::CodeBuild::Project`` through moto's CodeBuild backend; the properties moto's project has no
    argument for (``ConcurrentBuildLimit``, ``EncryptionKey``, ...) are kept in what ``BatchGetProjects``
    returns."""

    NAME_PROPERTY = "Name"
    ATTRIBUTES = ("Arn",)
    EXTRA = ("ConcurrentBuildLimit", "EncryptionKey", "TimeoutInMinutes", "QueuedTimeoutInMinutes",
             "BadgeEnabled", "Visibility", "AutoRetryLimit")

    @staticmethod
    def cloudformation_name_type() -> str:
        return "Name"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::CodeBuild::Project"

    @classmethod
    def _create(cls, account_id: str, region_name: str, name: str, properties: Properties,
                logical_id: str) -> CodeBuildProject:
        backend = codebuild_backends[account_id][region_name]
        environment = _api_shape(properties["Environment"])
        for variable in environment.get("environmentVariables", []):
            variable.setdefault("type", "PLAINTEXT")
        backend.create_project(
            project_name=name,
            description=properties.get("Description"),
            project_source=_api_shape(properties["Source"]),
            artifacts=_api_shape(properties["Artifacts"]),
            environment=environment,
            service_role=properties["ServiceRole"],
            tags=_api_tags(properties),
            cache=_api_shape(properties["Cache"]) if "Cache" in properties else None,
            timeout=int(properties.get("TimeoutInMinutes", 60)),
            queued_timeout=int(properties.get("QueuedTimeoutInMinutes", 480)),
            source_version=properties.get("SourceVersion"),
            logs_config=_api_shape(properties["LogsConfig"]) if "LogsConfig" in properties else None,
            vpc_config=_api_shape(properties["VpcConfig"]) if "VpcConfig" in properties else None,
        )
        project = backend.codebuild_projects[name]
        for key in cls.EXTRA:
            if key in properties:
                value = properties[key]
                project.project_metadata[_camel(key)] = int(value) if key.endswith(("Limit", "Minutes")) else value
        return cls(account_id, region_name, name, properties, {"Arn": project.arn})

    def delete(self, account_id: str, region_name: str) -> None:
        codebuild_backends[account_id][region_name].delete_project(self._physical_id)


class CodeBuildReportGroup(_Created, CloudFormationModel):
    """``AWS::CodeBuild::ReportGroup``: moto has no report-group API, so this is only the record
    CloudFormation references (``Ref`` and ``Fn::GetAtt Arn`` give the ARN, ``Name`` the name)."""

    NAME_PROPERTY = "Name"
    ATTRIBUTES = ("Arn", "Name")

    @staticmethod
    def cloudformation_name_type() -> str:
        return "Name"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::CodeBuild::ReportGroup"

    @classmethod
    def _create(cls, account_id: str, region_name: str, name: str, properties: Properties,
                logical_id: str) -> CodeBuildReportGroup:
        if properties.get("Type") not in ("TEST", "CODE_COVERAGE"):
            raise ValueError(f"report group {name}: Type must be TEST or CODE_COVERAGE")
        arn = f"arn:{get_partition(region_name)}:codebuild:{region_name}:{account_id}:report-group/{name}"
        return cls(account_id, region_name, arn, properties, {"Arn": arn, "Name": name})

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[override]
        cls, original_resource: Any, new_resource_name: str, cloudformation_json: dict[str, Any],
        account_id: str, region_name: str,
    ) -> Any:
        return cls._create(account_id, region_name, cls._name(_properties(cloudformation_json), new_resource_name),
                           _properties(cloudformation_json), "")

    def delete(self, account_id: str, region_name: str) -> None:
        pass


# ------------------------------------------------------------------------------------------------ CodePipeline

# free-form maps inside a pipeline declaration, whose keys belong to the action or the store
_PIPELINE_FREE_FORM = frozenset({"Configuration"})


class CodePipelinePipeline(_Created, CloudFormationModel):
    """``AWS::CodePipeline::Pipeline`` through moto's CodePipeline backend (which checks that the role
    trusts codepipeline.amazonaws.com and that there are two stages at least). ``AWS::NoValue`` in
    ``Stages`` or ``Actions`` removes the entry, as in CloudFormation."""

    NAME_PROPERTY = "Name"
    ATTRIBUTES = ("Version",)
    STRUCTURE = ("Name", "RoleArn", "ArtifactStore", "ArtifactStores", "Stages", "PipelineType",
                 "ExecutionMode", "Variables", "Triggers", "DisableInboundStageTransitions")

    @staticmethod
    def cloudformation_name_type() -> str:
        return "Name"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::CodePipeline::Pipeline"

    @classmethod
    def _declaration(cls, name: str, properties: Properties) -> dict[str, Any]:
        declared = {key: properties[key] for key in cls.STRUCTURE if key in properties and key != "Name"}
        declared.pop("DisableInboundStageTransitions", None)
        declaration: dict[str, Any] = _api_shape(declared, _PIPELINE_FREE_FORM)
        declaration["name"] = name
        for stage in declaration.get("stages", []):
            for action in stage.get("actions", []):
                # the API takes configuration values as strings
                action["configuration"] = {key: _configuration_value(value)
                                           for key, value in action.get("configuration", {}).items()}
        return declaration

    @classmethod
    def _create(cls, account_id: str, region_name: str, name: str, properties: Properties,
                logical_id: str) -> CodePipelinePipeline:
        backend = codepipeline_backends[account_id][region_name]
        pipeline, _ = backend.create_pipeline(cls._declaration(name, properties), _api_tags(properties) or None)
        return cls(account_id, region_name, name, properties, {"Version": str(pipeline["version"])})

    def _update(self, properties: Properties) -> CodePipelinePipeline:
        backend = codepipeline_backends[self.account_id][self.region_name]
        pipeline = backend.update_pipeline(type(self)._declaration(self._physical_id, properties))
        self.properties = properties
        self.attributes["Version"] = str(pipeline["version"])
        return self

    def delete(self, account_id: str, region_name: str) -> None:
        codepipeline_backends[account_id][region_name].delete_pipeline(self._physical_id)


def _configuration_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


MODELS: tuple[type[CloudFormationModel], ...] = (
    KmsKey, S3Bucket, S3BucketPolicy, LogGroup, SnsSubscription, SnsTopicPolicy, EventBus, EventBusPolicy,
    CodeBuildProject, CodeBuildReportGroup, CodePipelinePipeline,
)
clear_model_caches()


def install() -> None:
    """Put the types above in place (idempotent): they are registered when this module is imported, and
    moto's type -> model map is rebuilt from them."""
    clear_model_caches()
