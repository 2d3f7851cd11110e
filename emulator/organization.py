"""Seeding an organization into the emulator, idempotently, through the AWS APIs.

``seed_organization`` finds what exists (the organization, OUs by name under their parent, accounts by
name) and creates or corrects only what differs from the spec, so a second run changes nothing. It
uses only public AWS calls, as the management account (moto's default account, which creates the
organization): Organizations for the tree, ``account:PutAccountName`` to name the management account,
and, in each member account, ``OrganizationAccountAccessRole`` with ``AdministratorAccess`` made
through an assumed session of that very role, as AWS Organizations leaves it.
"""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from botocore.client import BaseClient
from botocore.config import Config
from botocore.exceptions import ClientError

from emulator.aws import boto3_session, botocore_session
from emulator.org_spec import (
    ROOT_PATH,
    AccountSpec,
    IdentityCenterSpec,
    IdentityCenterUser,
    OrganizationLayout,
    OuSpec,
    SpecError,
    build_spec,
    flatten,
    identity_center,
    load_demo_spec,
)
from emulator.settings import DUMMY_CREDENTIALS, REGION

__all__ = ["seed_organization", "load_demo_spec", "build_spec", "SpecError", "ACCESS_ROLE_NAME"]

ACCESS_ROLE_NAME = "OrganizationAccountAccessRole"
ADMINISTRATOR_ACCESS_ARN = "arn:aws:iam::aws:policy/AdministratorAccess"
_CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, max_pool_connections=16,
                        parameter_validation=False)
# accounts are seeded this many at a time; each worker keeps one IAM client for all the accounts it visits
SEED_WORKERS = 4


@dataclass
class _ExistingAccount:
    account_id: str
    status: str


def seed_organization(endpoint_url: str, spec: dict[str, Any], region: str = REGION) -> dict[str, Any]:
    """Make the organization at ``endpoint_url`` match ``spec``.

    Returns ``{"management_account_id", "root_id", "accounts": {name: id}, "ous": {path: id}}``; the
    management account is in ``accounts`` under its spec name. With an ``identity_center`` section, also
    ``"identity_center": {"instance_arn", "identity_store_id", "groups": {name: id}, "users": {name: id}}``.
    """
    layout = flatten(spec)
    seeder = _Seeder(endpoint_url, region)
    management_id = seeder.ensure_organization()
    root_id = seeder.root_id()
    seeder.ensure_management_account(management_id, layout)
    ou_ids = seeder.ensure_ous(root_id, layout.ous)
    account_ids = seeder.ensure_accounts(management_id, root_id, ou_ids, layout.accounts)
    seeder.ensure_policy_types(root_id, spec.get("policy_types") or [])
    seeded: dict[str, Any] = {
        "management_account_id": management_id,
        "root_id": root_id,
        "accounts": {layout.management_name: management_id, **account_ids},
        "ous": {path: ou_id for path, ou_id in ou_ids.items() if path != ROOT_PATH},
    }
    identity_center_spec = identity_center(spec)
    if identity_center_spec is not None:
        seeded["identity_center"] = seeder.ensure_identity_center(identity_center_spec)
    return seeded


class _Seeder:
    def __init__(self, endpoint_url: str, region: str) -> None:
        self._endpoint_url = endpoint_url
        self._region = region
        self._session = boto3_session(region_name=region, **DUMMY_CREDENTIALS)
        self.org = self._client("organizations")
        self._sts = self._client("sts")
        self._local = threading.local()

    def _client(self, service: str, **credentials: str) -> BaseClient:
        return self._session.client(service, endpoint_url=self._endpoint_url, config=_CLIENT_CONFIG, **credentials)

    # --- organization and management account --------------------------------------------------

    def ensure_policy_types(self, root_id: str, policy_types: list[str]) -> None:
        """The organization policy types the spec enables on the root (as someone did before orgiam)."""
        (root,) = self.org.list_roots()["Roots"]
        enabled = {t["Type"] for t in root.get("PolicyTypes", []) if t.get("Status") == "ENABLED"}
        for policy_type in policy_types:
            if policy_type not in enabled:
                self.org.enable_policy_type(RootId=root_id, PolicyType=policy_type)

    def ensure_identity_center(self, spec: IdentityCenterSpec) -> dict[str, Any]:
        """The organization instance of Identity Center (enabled once) and its identity store's groups, users and
        memberships, each looked up first as orgiam looks them up (by display name, by user name)."""
        sso_admin = self._client("sso-admin")
        instances = sso_admin.list_instances()["Instances"]
        if instances:
            instance_arn = str(instances[0]["InstanceArn"])
        else:
            instance_arn = str(sso_admin.create_instance()["InstanceArn"])
        store_id = str(sso_admin.describe_instance(InstanceArn=instance_arn)["IdentityStoreId"])
        store = self._client("identitystore")
        groups = {group.name: self._ensure_group(store, store_id, group.name, group.description) for group in spec.groups}
        users: dict[str, str] = {}
        for user in spec.users:
            users[user.user_name] = user_id = self._ensure_user(store, store_id, user)
            for group_name in user.groups:
                self._ensure_membership(store, store_id, groups[group_name], user_id)
        return {"instance_arn": instance_arn, "identity_store_id": store_id, "groups": groups, "users": users}

    @staticmethod
    def _ensure_group(store: BaseClient, store_id: str, name: str, description: str) -> str:
        try:
            return str(store.get_group_id(IdentityStoreId=store_id, AlternateIdentifier={
                "UniqueAttribute": {"AttributePath": "displayName", "AttributeValue": name}})["GroupId"])
        except ClientError as error:
            if _code(error) != "ResourceNotFoundException":
                raise
        request = {"IdentityStoreId": store_id, "DisplayName": name}
        if description:
            request["Description"] = description
        return str(store.create_group(**request)["GroupId"])

    @staticmethod
    def _ensure_user(store: BaseClient, store_id: str, user: IdentityCenterUser) -> str:
        try:
            return str(store.get_user_id(IdentityStoreId=store_id, AlternateIdentifier={
                "UniqueAttribute": {"AttributePath": "userName", "AttributeValue": user.user_name}})["UserId"])
        except ClientError as error:
            if _code(error) != "ResourceNotFoundException":
                raise
        return str(store.create_user(
            IdentityStoreId=store_id, UserName=user.user_name, DisplayName=f"{user.given_name} {user.family_name}",
            Name={"GivenName": user.given_name, "FamilyName": user.family_name},
            Emails=[{"Value": user.email, "Type": "work", "Primary": True}])["UserId"])

    @staticmethod
    def _ensure_membership(store: BaseClient, store_id: str, group_id: str, user_id: str) -> None:
        try:
            store.get_group_membership_id(IdentityStoreId=store_id, GroupId=group_id, MemberId={"UserId": user_id})
        except ClientError as error:
            if _code(error) != "ResourceNotFoundException":
                raise
            store.create_group_membership(IdentityStoreId=store_id, GroupId=group_id, MemberId={"UserId": user_id})

    def ensure_organization(self) -> str:
        try:
            organization = self.org.describe_organization()["Organization"]
        except ClientError as error:
            if _code(error) != "AWSOrganizationsNotInUseException":
                raise
            organization = self.org.create_organization(FeatureSet="ALL")["Organization"]
        return str(organization["MasterAccountId"])

    def root_id(self) -> str:
        return str(self.org.list_roots()["Roots"][0]["Id"])

    def ensure_management_account(self, management_id: str, layout: OrganizationLayout) -> None:
        current_name = self.org.describe_account(AccountId=management_id)["Account"]["Name"]
        if current_name != layout.management_name:
            self._client("account").put_account_name(AccountName=layout.management_name)
        self._ensure_tags(management_id, layout.management_tags)

    # --- OUs ----------------------------------------------------------------------------------

    def ensure_ous(self, root_id: str, ous: list[OuSpec]) -> dict[str, str]:
        """path -> OU id (the root under ""), creating what is missing."""
        ids = {ROOT_PATH: root_id}
        children: dict[str, dict[str, str]] = {}  # parent id -> {name: id}; a new OU has no children
        for ou in ous:
            parent_id = ids[ou.parent_path]
            if parent_id not in children:
                children[parent_id] = self._child_ous(parent_id)
            existing_id = children[parent_id].get(ou.name)
            if existing_id is not None:
                ids[ou.path] = existing_id
                self._ensure_tags(existing_id, ou.tags)
                continue
            request: dict[str, Any] = {"ParentId": parent_id, "Name": ou.name}
            if ou.tags:
                request["Tags"] = _tag_list(ou.tags)
            new_id = str(self.org.create_organizational_unit(**request)["OrganizationalUnit"]["Id"])
            ids[ou.path] = children[parent_id][ou.name] = new_id
            children[new_id] = {}
        return ids

    def _child_ous(self, parent_id: str) -> dict[str, str]:
        paginator = self.org.get_paginator("list_organizational_units_for_parent")
        return {
            ou["Name"]: ou["Id"]
            for page in paginator.paginate(ParentId=parent_id)
            for ou in page["OrganizationalUnits"]
        }

    # --- accounts -----------------------------------------------------------------------------

    def ensure_accounts(
        self, management_id: str, root_id: str, ou_ids: dict[str, str], accounts: list[AccountSpec]
    ) -> dict[str, str]:
        existing = self._existing_accounts(management_id)
        parents = self._parents_of_accounts(ou_ids) if any(a.name in existing for a in accounts) else {}

        def ensure(account: AccountSpec) -> str:
            return self._ensure_account(account, existing.get(account.name), parents, management_id, root_id,
                                        ou_ids[account.ou_path])

        with ThreadPoolExecutor(max_workers=SEED_WORKERS, thread_name_prefix="orgiam-seed") as pool:
            account_ids = list(pool.map(ensure, accounts))
        return {account.name: account_id for account, account_id in zip(accounts, account_ids)}

    def _ensure_account(
        self, account: AccountSpec, found: _ExistingAccount | None, parents: dict[str, str],
        management_id: str, root_id: str, target_parent: str,
    ) -> str:
        if found is None:
            account_id = self._create_account(account)
            if target_parent != root_id:
                self.org.move_account(AccountId=account_id, SourceParentId=root_id, DestinationParentId=target_parent)
            self._ensure_access_role(account_id, management_id, verify_first=False)
            status = "ACTIVE"
        else:
            account_id, status = found.account_id, found.status
            current_parent = parents.get(account_id) or self._parent_of(account_id)
            if current_parent != target_parent:
                self.org.move_account(AccountId=account_id, SourceParentId=current_parent,
                                      DestinationParentId=target_parent)
            self._ensure_tags(account_id, account.tags)
            if status == "ACTIVE":
                self._ensure_access_role(account_id, management_id, verify_first=True)
        if account.suspended and status == "ACTIVE":
            self.org.close_account(AccountId=account_id)
        return account_id

    def _existing_accounts(self, management_id: str) -> dict[str, _ExistingAccount]:
        found: dict[str, _ExistingAccount] = {}
        for page in self.org.get_paginator("list_accounts").paginate():
            for account in page["Accounts"]:
                if account["Id"] != management_id:
                    found.setdefault(account["Name"], _ExistingAccount(account["Id"], account["Status"]))
        return found

    def _parents_of_accounts(self, ou_ids: dict[str, str]) -> dict[str, str]:
        """account id -> parent id, for the accounts in the root and the spec's OUs."""
        parents: dict[str, str] = {}
        paginator = self.org.get_paginator("list_accounts_for_parent")
        for parent_id in ou_ids.values():
            for page in paginator.paginate(ParentId=parent_id):
                for account in page["Accounts"]:
                    parents[account["Id"]] = parent_id
        return parents

    def _parent_of(self, account_id: str) -> str:
        """The parent of an account outside the spec's OUs."""
        return str(self.org.list_parents(ChildId=account_id)["Parents"][0]["Id"])

    def _create_account(self, account: AccountSpec) -> str:
        request: dict[str, Any] = {"AccountName": account.name, "Email": account.email}
        if account.tags:
            request["Tags"] = _tag_list(account.tags)
        status = self.org.create_account(**request)["CreateAccountStatus"]
        if status.get("State") != "SUCCEEDED" or not status.get("AccountId"):
            status = self.org.describe_create_account_status(CreateAccountRequestId=status["Id"])["CreateAccountStatus"]
        if status.get("State") != "SUCCEEDED":
            raise RuntimeError(f"creating account {account.name} did not succeed: {status}")
        return str(status["AccountId"])

    def _ensure_tags(self, resource_id: str, wanted: dict[str, str]) -> None:
        if not wanted:
            return
        current = {
            tag["Key"]: tag["Value"]
            for page in self.org.get_paginator("list_tags_for_resource").paginate(ResourceId=resource_id)
            for tag in page["Tags"]
        }
        missing = {key: value for key, value in wanted.items() if current.get(key) != value}
        if missing:
            self.org.tag_resource(ResourceId=resource_id, Tags=_tag_list(missing))

    # --- OrganizationAccountAccessRole --------------------------------------------------------

    def _ensure_access_role(self, account_id: str, management_id: str, verify_first: bool) -> None:
        """The access role with AdministratorAccess, made from inside the account through that role."""
        iam = self._member_iam(account_id)
        if verify_first:
            try:
                attached = iam.list_attached_role_policies(RoleName=ACCESS_ROLE_NAME)["AttachedPolicies"]
            except ClientError as error:
                if _code(error) != "NoSuchEntity":
                    raise
            else:
                if any(policy["PolicyArn"] == ADMINISTRATOR_ACCESS_ARN for policy in attached):
                    return
        try:
            iam.attach_role_policy(RoleName=ACCESS_ROLE_NAME, PolicyArn=ADMINISTRATOR_ACCESS_ARN)
        except ClientError as error:
            if _code(error) != "NoSuchEntity":
                raise
            iam.create_role(RoleName=ACCESS_ROLE_NAME, AssumeRolePolicyDocument=_trust_policy(management_id))
            iam.attach_role_policy(RoleName=ACCESS_ROLE_NAME, PolicyArn=ADMINISTRATOR_ACCESS_ARN)

    def _member_iam(self, account_id: str) -> BaseClient:
        credentials = self._sts.assume_role(
            RoleArn=f"arn:aws:iam::{account_id}:role/{ACCESS_ROLE_NAME}", RoleSessionName="orgiam-emulator-seed"
        )["Credentials"]
        if not hasattr(self._local, "iam"):
            self._local.iam = _SwitchableIamClient(self._endpoint_url, self._region)
        return self._local.iam.signed_as(credentials)


class _SwitchableIamClient:
    """An IAM client whose credentials can be switched to another account's session.

    Making a boto3 client costs about as much as three API calls against the emulator; a seed visits
    every member account once, so each worker thread keeps one client and switches its credentials.
    """

    def __init__(self, endpoint_url: str, region: str) -> None:
        core_session = botocore_session()
        core_session.set_credentials("unset", "unset")
        self._credentials = core_session.get_credentials()
        self._client = core_session.create_client(
            "iam", region_name=region, endpoint_url=endpoint_url, config=_CLIENT_CONFIG
        )

    def signed_as(self, credentials: dict[str, Any]) -> BaseClient:
        self._credentials.access_key = credentials["AccessKeyId"]
        self._credentials.secret_key = credentials["SecretAccessKey"]
        self._credentials.token = credentials["SessionToken"]
        return self._client


def _trust_policy(management_id: str) -> str:
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{management_id}:root"},
            "Action": "sts:AssumeRole",
        }],
    })


def _tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in tags.items()]


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))
