"""AWS::SecretsManager::Secret, dynamic references, and AWS::IAM::SAMLProvider through CloudFormation."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.emulator.conftest import AccountSession, Stack, described, template, trust

MANAGEMENT_ROOT = "arn:aws:iam::123456789012:root"
# IAM's API takes metadata of 1,000 characters or more
METADATA = ('<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://idp.example/{}">'
            + "<!-- padding -->" * 60 + "</EntityDescriptor>")


@pytest.fixture
def member(new_member: AccountSession) -> AccountSession:
    """A new account of this module's organization (conftest's ``new_member``): no reset, no seed."""
    return new_member


def secret(**properties: Any) -> dict[str, Any]:
    return {"Type": "AWS::SecretsManager::Secret", "Properties": properties}


def secret_string(member: AccountSession, secret_id: str) -> str:
    return str(member.client("secretsmanager").get_secret_value(SecretId=secret_id)["SecretString"])


def test_a_generated_secret_honours_its_rules(member: AccountSession) -> None:
    stack = Stack(member, "orgiam-identity")
    stack.create({"Password": secret(
        Name="orgiam/console-password/alice", Description="first password of alice", KmsKeyId="alias/orgiam",
        GenerateSecretString={"PasswordLength": 40, "ExcludeCharacters": "\"'\\`abcdef"},
        Tags=[{"Key": "ManagedBy", "Value": "orgiam"}],
    )}, outputs={"Ref": {"Value": {"Ref": "Password"}}, "Id": {"Value": {"Fn::GetAtt": ["Password", "Id"]}}})

    secrets = member.client("secretsmanager")
    found = secrets.describe_secret(SecretId="orgiam/console-password/alice")
    assert stack.outputs() == {"Ref": found["ARN"], "Id": found["ARN"]}
    assert stack.physical_ids()["Password"] == found["ARN"]
    assert found["Description"] == "first password of alice" and found["KmsKeyId"] == "alias/orgiam"
    assert found["Tags"] == [{"Key": "ManagedBy", "Value": "orgiam"}]
    value = secret_string(member, found["ARN"])
    assert len(value) == 40 and not set(value) & set("\"'\\`abcdef")

    stack.delete()  # deleted at once, so that the name can be used again
    assert secrets.list_secrets()["SecretList"] == []
    stack.create({"Password": secret(Name="orgiam/console-password/alice", SecretString="again")})


def test_secret_strings_json_templates_and_updates(member: AccountSession) -> None:
    stack = Stack(member, "s")
    resources = {
        "Plain": secret(Name="plain", SecretString="hunter2"),
        "Json": secret(Name="json", GenerateSecretString={
            "SecretStringTemplate": json.dumps({"username": "alice"}), "GenerateStringKey": "password",
            "PasswordLength": 12, "ExcludePunctuation": True}),
    }
    stack.create(resources)
    assert secret_string(member, "plain") == "hunter2"
    document = json.loads(secret_string(member, "json"))
    assert document["username"] == "alice" and len(document["password"]) == 12 and document["password"].isalnum()

    resources["Plain"] = secret(Name="plain", SecretString="correct horse", Description="changed")
    resources["Json"] = secret(Name="json-renamed", SecretString="x")
    stack.update(resources)
    assert secret_string(member, "plain") == "correct horse"
    assert member.client("secretsmanager").describe_secret(SecretId="plain")["Description"] == "changed"
    names = sorted(s["Name"] for s in member.client("secretsmanager").list_secrets()["SecretList"])
    assert names == ["json-renamed", "plain"]  # a new name replaces the secret


def test_dynamic_references_resolve_in_string_properties(member: AccountSession) -> None:
    member.client("ssm").put_parameter(Name="/orgiam/team", Value="platform", Type="String")
    resources = {
        "Password": secret(Name="orgiam/console-password/alice", GenerateSecretString={"PasswordLength": 32}),
        "Settings": secret(Name="settings", SecretString=json.dumps({"team": "security"})),
        "Alice": {"Type": "AWS::IAM::User", "Properties": {
            "UserName": "alice",
            "LoginProfile": {"Password": {"Fn::Sub": "{{resolve:secretsmanager:${Password}}}"},
                             "PasswordResetRequired": True}}},
        "Auditor": {"Type": "AWS::IAM::Role", "Properties": {
            "RoleName": "Auditor", "AssumeRolePolicyDocument": trust(MANAGEMENT_ROOT),
            "Description": {"Fn::Sub": "{{resolve:secretsmanager:${Settings}:SecretString:team}} and "
                                       "{{resolve:ssm:/orgiam/team}} and {{resolve:secretsmanager:settings}}"}}},
    }
    Stack(member, "orgiam-identity").create(resources)
    assert member.iam.get_login_profile(UserName="alice")["LoginProfile"]["PasswordResetRequired"] is True
    description = member.iam.get_role(RoleName="Auditor")["Role"]["Description"]
    assert description == 'security and platform and {"team": "security"}'


def test_a_reference_to_a_missing_secret_fails_the_resource(member: AccountSession) -> None:
    resources = {"Alice": {"Type": "AWS::IAM::User", "Properties": {
        "UserName": "alice", "LoginProfile": {"Password": "{{resolve:secretsmanager:nowhere}}"}}}}
    member.cloudformation.create_stack(StackName="s", TemplateBody=template(resources))
    stack = described(member.cloudformation, "s")
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE" and "nowhere" in stack["StackStatusReason"]
    assert member.iam.list_users()["Users"] == []


def provider(name: str, metadata: str, **extra: Any) -> dict[str, Any]:
    return {"Type": "AWS::IAM::SAMLProvider", "Properties": {"Name": name, "SamlMetadataDocument": metadata, **extra}}


def test_a_saml_provider_is_created_updated_and_deleted_in_iam(member: AccountSession) -> None:
    iam = member.iam
    stack = Stack(member, "orgiam-identity")
    stack.create({"Idp": provider("corp-adfs", METADATA.format(1), Tags=[{"Key": "ManagedBy", "Value": "orgiam"}])},
                 outputs={"Arn": {"Value": {"Ref": "Idp"}}, "GetAtt": {"Value": {"Fn::GetAtt": ["Idp", "Arn"]}}})
    arn = f"arn:aws:iam::{member.account_id}:saml-provider/corp-adfs"
    assert [p["Arn"] for p in iam.list_saml_providers()["SAMLProviderList"]] == [arn]
    assert stack.outputs() == {"Arn": arn, "GetAtt": arn}
    found = iam.get_saml_provider(SAMLProviderArn=arn)
    assert found["SAMLMetadataDocument"] == METADATA.format(1)
    assert found["Tags"] == [{"Key": "ManagedBy", "Value": "orgiam"}]

    stack.update({"Idp": provider("corp-adfs", METADATA.format(2))})
    found = iam.get_saml_provider(SAMLProviderArn=arn)
    assert found["SAMLMetadataDocument"] == METADATA.format(2) and found.get("Tags", []) == []

    stack.update({"Idp": provider("corp-okta", METADATA.format(2))})  # a new name replaces it
    assert [p["Arn"] for p in iam.list_saml_providers()["SAMLProviderList"]] == [arn.replace("adfs", "okta")]
    stack.delete()
    assert iam.list_saml_providers()["SAMLProviderList"] == []


def test_a_saml_provider_name_in_use_fails_the_stack(member: AccountSession) -> None:
    member.iam.create_saml_provider(Name="corp-adfs", SAMLMetadataDocument=METADATA.format(0))
    member.cloudformation.create_stack(StackName="s", TemplateBody=template({"Idp": provider("corp-adfs", METADATA.format(1))}))
    assert described(member.cloudformation, "s")["StackStatus"] == "ROLLBACK_COMPLETE"
    arn = f"arn:aws:iam::{member.account_id}:saml-provider/corp-adfs"
    assert member.iam.get_saml_provider(SAMLProviderArn=arn)["SAMLMetadataDocument"] == METADATA.format(0)
    with pytest.raises(ClientError):
        member.cloudformation.update_stack(StackName="s", TemplateBody=template({"Idp": provider("x", METADATA.format(1))}))
