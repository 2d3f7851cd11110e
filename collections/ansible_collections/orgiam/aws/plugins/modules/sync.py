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
  lock_wait:
    description:
      - Seconds to wait for the run lock when another run holds it; V(0) fails at once.
      - One run at a time writes to the organization. The lock is an item in the DynamoDB table
        C(<stack_prefix>-lock) of the central account, taken at the run's first write, so a run that
        changes nothing, and check mode, take no lock.
    type: int
    default: 120
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
  description:
    - The whole report of the run, as written to C(report.json) in O(report_dir).
  returned: when the run started (not when the catalog, the saved plan or the credentials were refused)
  type: dict
  contains:
    generated_at:
      description: When the report was made (UTC, ISO 8601).
      type: str
      sample: "2026-12-01T14:16:01+00:00"
    mode:
      description: V(check) (nothing was written) or V(apply).
      type: str
      sample: check
    seconds:
      description: How long the run took.
      type: float
      sample: 12.4
    accounts_seen:
      description: Accounts in the inventory (the organization's accounts the inventory plugin kept).
      type: int
      sample: 11
    accounts_in_run:
      description: Accounts this run worked on (the play's hosts, after C(--limit)).
      type: int
      sample: 11
    member_stacks:
      description:
        - How many member stacks ended in each status - C(created), C(updated), C(deleted), C(planned),
          C(unchanged), C(retained), C(skipped), C(stale), C(failed).
      type: dict
      sample: {"created": 0, "updated": 0, "deleted": 0, "planned": 3, "unchanged": 8, "retained": 0, "skipped": 0, "stale": 0, "failed": 0}
    changes_planned:
      description: In check mode, how many stacks (members and the central one) would change.
      type: int
      sample: 4
    central:
      description: The central account's stack (its groups, users or federated roles); the same keys as the elements of RV(report.accounts).
      type: dict
      contains:
        account_id:
          description: The central account's id.
          type: str
        account_name:
          description: The central account's name.
          type: str
        stack_name:
          description: The central stack, C(<stack_prefix>-identity).
          type: str
        status:
          description: How the central stack ended (see RV(report.accounts[].status)).
          type: str
        action:
          description: What the plan decided for it.
          type: str
        changed:
          description: Whether it changed (or, in check mode, would change).
          type: bool
        groups:
          description: The groups (or federated roles) the central stack holds.
          type: list
          elements: str
        error:
          description: Why it failed, when it failed.
          type: str
    failed_accounts:
      description: Every stack that failed, members and the central one.
      type: list
      elements: dict
      contains:
        account_id:
          description: The account's id.
          type: str
        account_name:
          description: The account's name.
          type: str
        stack:
          description: The stack's name.
          type: str
        error_code:
          description: AWS's error code, when AWS answered with one.
          type: str
          sample: AccessDenied
        error:
          description: What went wrong.
          type: str
    stale_accounts:
      description: Stacks of a saved plan (O(plan)) that changed since the plan and were not applied.
      type: list
      elements: dict
      contains:
        account_id:
          description: The account's id.
          type: str
        account_name:
          description: The account's name.
          type: str
        stack:
          description: The stack's name.
          type: str
        reason:
          description: What changed since the plan.
          type: str
    plan_id:
      description: The id of the saved plan this run applied; empty when it planned afresh.
      type: str
    api_calls:
      description: AWS API calls the run made.
      type: dict
      contains:
        total:
          description: Every call, all accounts together.
          type: int
        max_per_account:
          description: The most calls one account needed.
          type: int
        mean_per_account:
          description: Calls per account on average.
          type: float
        write_operations:
          description: The write operations made (service:operation), none in check mode.
          type: list
          elements: str
    accounts:
      description: One entry per member account of the run.
      type: list
      elements: dict
      contains:
        key:
          description: The task's key, C(<account id>/<region>/<stack>).
          type: str
        kind:
          description: The kind of task, C(member) here (C(central) for RV(report.central)).
          type: str
        account_id:
          description: The account's id.
          type: str
        account_name:
          description: The account's name.
          type: str
        hostname:
          description: The account's inventory host name.
          type: str
        ou_path:
          description: The account's OU path, empty for the root.
          type: str
          sample: Workloads/Prod
        region:
          description: The stack's region.
          type: str
        stack_name:
          description: The stack, C(<stack_prefix>-roles).
          type: str
        title:
          description: A readable name of the task, when it has one.
          type: str
        roles:
          description: The catalog roles the account gets.
          type: list
          elements: str
        status:
          description: >-
            How the stack ended - C(unchanged), C(created), C(updated), C(deleted), C(retained),
            C(planned) (check mode), C(failed), C(skipped) or C(stale).
          type: str
        action:
          description: >-
            What the plan decided - C(none), C(create), C(update), C(delete), C(recreate),
            C(continue-rollback-then-update), C(retain), C(wait), C(refuse), C(activate) or C(deploy).
          type: str
        reason:
          description: Why the plan decided so.
          type: str
        changed:
          description: Whether the stack changed (or, in check mode, would change).
          type: bool
        observed:
          description: The stack as the plan saw it (C(status), C(hash), C(stack_id)); empty when there was none.
          type: dict
        plan:
          description: The resource and policy statement changes, as readable lines.
          type: list
          elements: str
        changes:
          description: The template's logical ids to C(add), C(modify) and C(remove).
          type: dict
        change_set:
          description: CloudFormation's own preview of an update (C(action), C(logical_id), C(type), C(replacement) per resource).
          type: list
          elements: dict
        details:
          description: Further notes on the task.
          type: list
          elements: str
        deploy_to:
          description: For a stack set, the targets it has not reached yet.
          type: list
          elements: str
        granted:
          description: Role name to role ARN, for the roles people may assume in this account after the run.
          type: dict
        retained:
          description: Roles kept although no role targets the account any more (the prune policy).
          type: list
          elements: str
        groups:
          description: For the central stack, the groups (or federated roles) it holds; empty for members.
          type: list
          elements: str
        error:
          description: Why the task failed, when it failed.
          type: str
        error_code:
          description: AWS's error code, when AWS answered with one.
          type: str
        api_calls:
          description: AWS API calls made for this account.
          type: int
        seconds:
          description: How long this account took.
          type: float
    ok:
      description: Whether no stack failed.
      type: bool
report_files:
  description: The report files written into O(report_dir).
  returned: when the run started
  type: dict
  contains:
    json:
      description: The report, RV(report), as JSON.
      type: str
      sample: out/report.json
    summary:
      description: The one-screen summary, RV(summary), as text.
      type: str
      sample: out/summary.txt
    markdown:
      description: The summary as Markdown, for pull requests and build pages.
      type: str
      sample: out/summary.md
    junit:
      description: One test case per account, for CodeBuild report groups.
      type: str
      sample: out/junit.xml
    retry:
      description: The failed accounts' host names, for C(--limit @out/retry-hosts.txt).
      type: str
      sample: out/retry-hosts.txt
    plan:
      description: The saved plan, to apply exactly with O(plan).
      type: str
      returned: in check mode, unless O(plan) was given
      sample: out/plan.json
summary:
  description: The one-screen summary, line by line.
  returned: when the run started
  type: list
  elements: str
  sample: ["orgiam sync (check) in 3.1 s", "  accounts seen: 11, in this run: 11", "  changes: 4"]
plan_id:
  description: The id of the plan saved in check mode; apply exactly it with O(plan).
  returned: in check mode, unless O(plan) was given
  type: str
  sample: 3f2a9c0d41b84e7f9a6c2b1d0e5f7a88
diff:
  description: For each changing stack, the deployed and the desired template (what C(--diff) shows).
  returned: with C(--diff), when a stack changes
  type: list
  elements: dict
  contains:
    before_header:
      description: The account and stack, deployed.
      type: str
    after_header:
      description: The account and stack, desired.
      type: str
    before:
      description: The deployed template.
      type: str
    after:
      description: The desired template.
      type: str
problems:
  description: Each problem found in the catalog, with its file, line and field.
  returned: when the catalog has errors
  type: list
  elements: str
  sample: ["roles_catalog/roles/readonly.yml:3: field 'managed_policies.0': ..."]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.orgiam.aws.plugins.module_utils.argspecs import SYNC_SPEC


def main() -> None:
    module = AnsibleModule(argument_spec=SYNC_SPEC, supports_check_mode=True)
    module.fail_json(msg="orgiam.aws.sync runs as an action plugin on the controller; check the collection is installed whole")


if __name__ == "__main__":
    main()
