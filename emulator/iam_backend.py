"""moto's IAM backend with AWS managed policies loaded on first use.

moto either loads none of the ~1,600 AWS managed policies (the default: then
``arn:aws:iam::aws:policy/ReadOnlyAccess`` cannot be attached) or builds all of them in every account
it touches (``MOTO_IAM_LOAD_MANAGED_POLICIES``: about 5 MB and a noticeable pause per account, too much
for a 1,000-account organization). This backend builds an AWS managed policy in an account the first
time a call there names it, and all of them only when a call lists them.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable
from typing import Any

import moto.iam.urls
from moto.iam.aws_managed_policies import aws_managed_policies_data
from moto.iam.models import AWSManagedPolicy, IAMBackend, ManagedPolicy, PolicyVersion, iam_backends

_AWS_POLICY_ARN_INFIX = ":iam::aws:policy"


@functools.lru_cache(maxsize=1)
def _aws_policy_catalog() -> dict[str, tuple[str, dict[str, Any]]]:
    """path + name (e.g. "/ReadOnlyAccess", "/service-role/AWSConfigRole") -> (name, moto's data)."""
    data: dict[str, dict[str, Any]] = json.loads(aws_managed_policies_data)
    return {f"{entry.get('Path') or '/'}{name}": (name, entry) for name, entry in data.items()}


class LazyAwsPoliciesIAMBackend(IAMBackend):
    @property
    def _url_module(self) -> Any:  # moto finds a backend's routes next to its class: point it at IAM's
        return moto.iam.urls

    def _init_aws_policies(self) -> list[ManagedPolicy]:
        return []

    def materialize_aws_policy(self, policy_arn: str) -> None:
        """Build the AWS managed policy ``policy_arn`` in this account if AWS has it and it is not built yet."""
        if policy_arn in self.managed_policies or _AWS_POLICY_ARN_INFIX not in policy_arn:
            return
        entry = _aws_policy_catalog().get(policy_arn.split(_AWS_POLICY_ARN_INFIX, 1)[1])
        if entry is None:
            return
        name, data = entry
        policy = AWSManagedPolicy.from_data(name, self.account_id, self.region_name, data)
        self.aws_managed_policies.append(policy)
        self.managed_policies[policy.arn] = policy

    def materialize_all_aws_policies(self) -> None:
        for path_and_name in _aws_policy_catalog():
            self.materialize_aws_policy(f"arn:{self.partition}{_AWS_POLICY_ARN_INFIX}{path_and_name}")

    def attach_role_policy(self, policy_arn: str, role_name: str) -> None:
        self.materialize_aws_policy(policy_arn)
        super().attach_role_policy(policy_arn, role_name)

    def attach_group_policy(self, policy_arn: str, group_name: str) -> None:
        self.materialize_aws_policy(policy_arn)
        super().attach_group_policy(policy_arn, group_name)

    def attach_user_policy(self, policy_arn: str, user_name: str) -> None:
        self.materialize_aws_policy(policy_arn)
        super().attach_user_policy(policy_arn, user_name)

    def get_policy(self, policy_arn: str) -> ManagedPolicy:
        self.materialize_aws_policy(policy_arn)
        return super().get_policy(policy_arn)

    def get_policy_version(self, policy_arn: str, version_id: str) -> PolicyVersion:
        self.materialize_aws_policy(policy_arn)
        return super().get_policy_version(policy_arn, version_id)

    def list_policy_versions(self, policy_arn: str) -> list[PolicyVersion]:
        self.materialize_aws_policy(policy_arn)
        return super().list_policy_versions(policy_arn)

    def list_policies(
        self, marker: str | None, max_items: int, only_attached: bool, path_prefix: str, scope: str
    ) -> tuple[Iterable[ManagedPolicy], str | None]:
        if scope != "Local" and not only_attached:
            self.materialize_all_aws_policies()
        return super().list_policies(marker, max_items, only_attached, path_prefix, scope)

    def get_account_authorization_details(self, policy_filter: list[str]) -> dict[str, Any]:
        if "AWSManagedPolicy" in policy_filter:
            self.materialize_all_aws_policies()
        return super().get_account_authorization_details(policy_filter)


def install() -> None:
    """Make every IAM backend moto creates from now on (and after each reset) a lazy one."""
    iam_backends.backend = LazyAwsPoliciesIAMBackend
    for account_backends in iam_backends.values():
        account_backends.backend = LazyAwsPoliciesIAMBackend
