#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: orgiam developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: org_accounts_info
short_description: List the accounts of an AWS Organization with their OU paths and tags
description:
  - Discovers the AWS Organization the credentials belong to (OUs, accounts, account tags) in one pass
    and returns the accounts that the filters select, with the same records and the same filter options
    as the P(orgiam.aws.organization#inventory) inventory plugin.
  - Only reads; supports check mode.
  - The caller needs C(organizations:ListRoots), C(organizations:ListOrganizationalUnitsForParent),
    C(organizations:ListAccountsForParent) and C(organizations:ListTagsForResource) in the management
    account or a delegated administrator account.
version_added: 0.1.0
author:
  - orgiam developers
options:
  hostnames:
    description:
      - How RV(accounts[].host_name) is built; the same names as the inventory plugin's O(hostnames) option
        gives to hosts. V(name) is the sanitized account name (with C(_<account id>) appended to every
        account whose name clashes with another's), V(id) the account id, V(name_id) name and id.
    type: str
    choices: ['name', 'id', 'name_id']
    default: name
  assume_role_arn:
    description:
      - The ARN of an IAM role to assume before reading the organization, for example a read-only role
        in the management account.
    type: str
    aliases: ['iam_role_arn']
extends_documentation_fragment:
  - orgiam.aws.account_filters
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
notes:
  - O(aws_config) is not supported and gives a warning.
  - The endpoint also comes from the C(AWS_ENDPOINT_URL) environment variable, which botocore reads itself.
"""

EXAMPLES = r"""
- name: Every active account of the organization
  orgiam.aws.org_accounts_info:
  register: org

- name: Production accounts owned by the payments team, without the legacy one
  orgiam.aws.org_accounts_info:
    include_ou_paths:
      - Workloads/Prod
    exclude_accounts:
      - legacy-payments
    tag_filters:
      Owner: payments
  register: payments

- name: Print their ids
  ansible.builtin.debug:
    msg: "{{ payments.accounts | map(attribute='id') | list }}"

- name: Suspended accounts too, read through a role in the management account
  orgiam.aws.org_accounts_info:
    include_suspended: true
    assume_role_arn: arn:aws:iam::111111111111:role/OrgReadOnly
  register: everything
"""

RETURN = r"""
accounts:
  description: The selected accounts, sorted by OU path, then name.
  returned: success
  type: list
  elements: dict
  contains:
    id:
      description: The 12-digit account id.
      type: str
      sample: "210987654321"
    name:
      description: The account name.
      type: str
      sample: Prod - Payments
    email:
      description: The email address of the account's root user.
      type: str
      sample: payments-prod@example.com
    arn:
      description: The account's ARN in AWS Organizations.
      type: str
      sample: arn:aws:organizations::111111111111:account/o-abcdefghij/210987654321
    status:
      description: The account state (the newer C(State) field, else C(Status)).
      type: str
      sample: ACTIVE
    ou_path:
      description: OU names from the top OU down joined with C(/); empty for accounts under the root.
      type: str
      sample: Workloads/Prod
    ou_id:
      description: The id of the account's parent OU, or the root id for accounts under the root.
      type: str
      sample: ou-abcd-12345678
    parent_id:
      description: Same as RV(accounts[].ou_id).
      type: str
      sample: ou-abcd-12345678
    tags:
      description: The account's tags.
      type: dict
      sample: {"Environment": "prod", "Owner": "payments"}
    is_management:
      description: Whether this is the organization's management account.
      type: bool
      sample: false
    joined_method:
      description: How the account joined the organization, C(CREATED) or C(INVITED).
      type: str
      sample: CREATED
    host_name:
      description: The account's host name in the inventory plugin with the same O(hostnames) setting.
      type: str
      sample: prod_payments
organization:
  description: A summary of the whole organization, before filtering.
  returned: success
  type: dict
  contains:
    management_account_id:
      description: The id of the management account.
      type: str
      sample: "111111111111"
    organization_id:
      description: The organization id.
      type: str
      sample: o-abcdefghij
    root_id:
      description: The id of the organization's root.
      type: str
      sample: r-abcd
    ou_paths:
      description: Every OU path in the organization, sorted.
      type: list
      elements: str
      sample: ["Sandbox", "Security", "Workloads", "Workloads/Prod"]
    account_count:
      description: The number of accounts in the organization, in any status.
      type: int
      sample: 15
api_calls:
  description: The number of AWS API calls the discovery made.
  returned: success
  type: int
  sample: 34
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.orgiam.aws.plugins.module_utils.aws.errors import AwsAccessError, explain_aws_error
from ansible_collections.orgiam.aws.plugins.module_utils.aws.session import DEFAULT_REGION, AwsClients, AwsSettings
from ansible_collections.orgiam.aws.plugins.module_utils.organization import (
    HOSTNAME_MODES,
    OrganizationFilterError,
    assign_host_names,
    discover_organization,
    filter_accounts,
    ou_paths,
    unmatched_account_exclusions,
)

try:
    import botocore.exceptions

    AWS_ERRORS: tuple = (AwsAccessError, botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError)
except ImportError:  # pragma: no cover - AnsibleAWSModule reports the missing SDK
    AWS_ERRORS = (AwsAccessError,)


def settings_from(params: dict) -> AwsSettings:
    verify = None
    if params.get("validate_certs") is False:
        verify = False
    elif params.get("aws_ca_bundle"):
        verify = params["aws_ca_bundle"]
    return AwsSettings(
        region=params.get("region") or DEFAULT_REGION,
        profile=params.get("profile") or None,
        access_key=params.get("access_key") or None,
        secret_key=params.get("secret_key") or None,
        session_token=params.get("session_token") or None,
        endpoint_url=params.get("endpoint_url") or None,
        assume_role_arn=params.get("assume_role_arn") or None,
        session_name="orgiam-accounts-info",
        verify=verify,
    )


def main() -> None:
    argument_spec = dict(
        include_ou_paths=dict(type="list", elements="str", default=[]),
        exclude_ou_paths=dict(type="list", elements="str", default=[]),
        exclude_accounts=dict(type="list", elements="raw", default=[]),
        tag_filters=dict(type="dict", default={}),
        include_suspended=dict(type="bool", default=False),
        hostnames=dict(type="str", choices=list(HOSTNAME_MODES), default="name"),
        assume_role_arn=dict(type="str", aliases=["iam_role_arn"]),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    params = module.params
    if params.get("profile") and (params.get("access_key") or params.get("secret_key") or params.get("session_token")):
        module.fail_json(msg="Passing both a profile and access tokens is not supported.")
    if params.get("aws_config"):
        module.warn("aws_config is not supported by orgiam.aws.org_accounts_info and was ignored")

    settings = settings_from(params)
    clients = None
    try:
        clients = AwsClients(settings)
        org = discover_organization(clients.client("organizations"))
    except AWS_ERRORS as exc:
        error = explain_aws_error(exc, clients.endpoint_url if clients else settings.endpoint_url,
                                  "cannot discover the AWS Organization")
        module.fail_json(msg=str(error), error_code=error.code)

    try:
        selected = filter_accounts(
            org,
            include_ou_paths=params["include_ou_paths"],
            exclude_ou_paths=params["exclude_ou_paths"],
            exclude_accounts=params["exclude_accounts"],
            tag_filters=params["tag_filters"],
            include_suspended=params["include_suspended"],
        )
        host_names = assign_host_names(org["accounts"], params["hostnames"])
    except OrganizationFilterError as exc:
        module.fail_json(msg=str(exc))
    for entry in unmatched_account_exclusions(org, params["exclude_accounts"]):
        module.warn(f"exclude_accounts entry '{entry}' matches no account of the organization")

    module.exit_json(
        changed=False,
        accounts=[dict(account, host_name=host_names[account["id"]]) for account in selected],
        organization={
            "management_account_id": org["management_account_id"],
            "organization_id": org["organization_id"],
            "root_id": org["root_id"],
            "ou_paths": ou_paths(org),
            "account_count": len(org["accounts"]),
        },
        api_calls=clients.call_log.total(),
    )


if __name__ == "__main__":
    main()
