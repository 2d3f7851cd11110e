#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: orgiam developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation for the orgiam.aws.sync action; the work happens in plugins/action/sync.py."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: sync
short_description: Deploy orgiam's trust roles to every targeted account and the central groups
description:
  - Reads the accounts of the organization from the inventory (hosts made by the
    orgiam.aws.organization inventory plugin), resolves the catalog in O(catalog),
    and deploys one CloudFormation stack per member account holding the trust roles,
    then one stack in the central account holding one IAM group per role whose
    managed policies allow C(sts:AssumeRole) on exactly the role ARNs that exist.
  - The play's hosts are the accounts this run touches, so C(--limit) and inventory
    groups choose them. Run it once per play (C(run_once=true)); it fans out itself.
  - Each account is its own failure domain. The task fails after all accounts are done
    when any account failed.
  - In check mode nothing is written; every account is planned. With C(--diff) the
    deployed and desired templates of each changing stack are shown.
  - Writes C(report.json), C(summary.txt), C(summary.md), C(junit.xml) (one test case per
    account, for CodeBuild report groups), C(retry-hosts.txt) (the failed accounts, for
    C(--limit @out/retry-hosts.txt)) and, in check mode, C(plan.json) (the saved plan, see O(plan)) into O(report_dir).
version_added: 0.1.0
author: orgiam developers
options:
  catalog:
    description: Path of the catalog directory (C(settings.yml), C(roles/*.yml)).
    type: path
    default: roles_catalog
  report_dir:
    description: Directory for the report files.
    type: path
    default: out
  concurrency:
    description: Accounts worked on at once. Defaults to the catalog's C(concurrency) (16).
    type: int
  timeout:
    description: Seconds to wait for one stack operation. Defaults to the catalog's C(stack_timeout_seconds).
    type: int
  member_role_name:
    description: Role assumed in each member account to deploy. Defaults to the catalog's C(member_role_name).
    type: str
  assume_role_arn:
    description: A role to assume first, from which member roles are assumed.
    type: str
  progress_interval:
    description: Seconds between progress lines for large runs.
    type: float
    default: 2.0
  notify_topic_arn:
    description:
      - SNS topic told of every run, success or failure. Defaults to the catalog's C(notify_topic_arn).
      - The environment variable C(ORGIAM_RUN_URL), when set (for example to the CodeBuild build URL), is added to the message.
    type: str
  plan:
    description:
      - A saved plan (the C(plan.json) a check run wrote) to apply exactly, instead of planning afresh.
      - A task whose stack changed since the plan is refused as stale (the task fails, the others go on);
        a plan made from another catalog, organization, region or partition is refused as a whole.
    type: path
  plan_part:
    description:
      - With O(plan), apply only part K of N of the plan's changing tasks (C(2/4)), for several builds of one batch.
      - The central stack is updated by every part, keeping the grants of accounts in the other parts as they are.
    type: str
  profile:
    description: Named profile for the caller's credentials; the standard chain otherwise.
    type: str
    aliases: [aws_profile]
  region:
    description: Region for CloudFormation and STS. Defaults to C(AWS_REGION), C(AWS_DEFAULT_REGION), then us-east-1.
    type: str
    aliases: [aws_region]
  endpoint_url:
    description: AWS endpoint (for the emulator). C(AWS_ENDPOINT_URL) is honoured without it.
    type: str
    aliases: [aws_endpoint_url]
  access_key:
    description: AWS access key id; the standard chain otherwise.
    type: str
    aliases: [aws_access_key_id, aws_access_key]
  secret_key:
    description: AWS secret access key; the standard chain otherwise.
    type: str
    aliases: [aws_secret_access_key, aws_secret_key]
  session_token:
    description: AWS session token, with temporary credentials.
    type: str
    aliases: [aws_session_token]
  aws_ca_bundle:
    description: A CA bundle to verify AWS's certificates with.
    type: path
  validate_certs:
    description: Whether to verify TLS certificates. Leave it on against AWS.
    type: bool
    default: true
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
notes:
  - This is an action plugin; it runs on the controller and needs boto3, botocore, PyYAML and jsonschema there.
"""

EXAMPLES = r"""
- name: Sync the organization
  hosts: all
  gather_facts: false
  tasks:
    - name: Plan and apply every account, then the central account
      orgiam.aws.sync:
        catalog: "{{ playbook_dir }}/../roles_catalog"
        report_dir: "{{ playbook_dir }}/../out"
      run_once: true
"""

RETURN = r"""
report:
  description: The whole report, as written to report.json.
  returned: always
  type: dict
report_files:
  description: Paths of the report files written.
  returned: always
  type: dict
  sample: {"json": "out/report.json", "summary": "out/summary.txt", "markdown": "out/summary.md"}
summary:
  description: The one-screen summary, line by line.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.orgiam.aws.plugins.module_utils.argspecs import SYNC_SPEC


def main() -> None:
    module = AnsibleModule(argument_spec=SYNC_SPEC, supports_check_mode=True)
    module.fail_json(msg="orgiam.aws.sync runs as an action plugin on the controller; check the collection is installed whole")


if __name__ == "__main__":
    main()
