#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: orgiam developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation for the orgiam.aws.bootstrap action; the work happens in plugins/action/bootstrap.py."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: bootstrap
short_description: Install orgiam into an AWS Organization, once, from the management account
description:
  - Deploys, in this order, what lets orgiam run by itself; every step is idempotent and a second
    run changes nothing.
  - StackSets' trusted access with Organizations (C(ActivateOrganizationsAccess)), if it is off.
  - The service-managed StackSet C(<stack_prefix>-deployer) (template C(bootstrap/deployer-role.yml) of the collection's C(files/cicd))
    with auto-deployment on, targeting the organization's root, so every member account, in nested OUs
    too, and every account created or moved later, gets the role C(/orgiam/orgiam-deployer), which trusts
    only the pipeline's CodeBuild role C(/orgiam/orgiam-sync-build).
  - In the management account, which StackSets never targets, the stack C(<stack_prefix>-organization-reader)
    (C(bootstrap/organization-reader.yml)) and, when the catalog targets the management account or
    makes it the central account, the stack C(<stack_prefix>-deployer) from the deployer template.
  - The pipeline stack C(<stack_prefix>-pipeline) (C(pipeline.yml)) in the account named by
    C(pipeline.account) in C(settings.yml), reached through O(access_role_name); then
    C(<stack_prefix>-management-events) (C(management-events.yml)) in the management account, in
    the region where Organizations' events arrive (us-east-1).
  - Every input is checked before the first write. The caller must be the organization's management
    account, the central and pipeline accounts must be ACTIVE accounts of the organization, the
    repository must be a valid CodeCommit name or, with CodeConnections, owner/name with a connection
    ARN in the pipeline account, and C(settings.yml) must have a C(pipeline) section.
  - In check mode nothing is written; every step is planned with reads only. With C(--diff) each
    changing template is shown with its parameters, deployed and desired.
  - Writes C(bootstrap.json) (the plan or the result, step by step) into O(report_dir).
version_added: 0.2.0
author: orgiam developers
options:
  catalog:
    description: Path of the catalog directory (C(settings.yml) with its C(pipeline) section, C(roles/)).
    type: path
    default: roles_catalog
  templates:
    description:
      - A directory holding C(bootstrap/), C(pipeline.yml) and C(management-events.yml) to deploy instead
        of the templates the collection ships (its C(files/cicd)).
    type: path
  parts:
    description:
      - What to deploy. V(deployer) (trusted access and the StackSet) is always included.
      - V(management) adds the management account's stacks; V(pipeline) the pipeline and the events forwarding.
    type: list
    elements: str
    choices: [deployer, management, pipeline]
    default: [deployer, management, pipeline]
  report_dir:
    description: Directory for C(bootstrap.json).
    type: path
    default: out
  access_role_name:
    description: Role assumed from the management account to reach the pipeline account.
    type: str
    default: OrganizationAccountAccessRole
  timeout:
    description: Seconds to wait for one stack operation. Defaults to the catalog's C(stack_timeout_seconds).
    type: int
  stackset_timeout:
    description: Seconds to wait for one StackSet operation (it reaches every account of the organization).
    type: int
    default: 3600
  profile:
    description: Named profile for the caller's credentials; the standard chain otherwise.
    type: str
    aliases: [aws_profile]
  region:
    description:
      - Region of the StackSet, the management account's stacks and the pipeline. C(pipeline.region) in
        C(settings.yml) wins; then this; then C(AWS_REGION), C(AWS_DEFAULT_REGION), us-east-1.
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
  - Run it with credentials of the management account. It uses no inventory.
"""

EXAMPLES = r"""
- name: Bootstrap orgiam
  hosts: localhost
  gather_facts: false
  tasks:
    - name: StackSet, management account stacks, pipeline
      orgiam.aws.bootstrap:
        catalog: "{{ playbook_dir }}/../roles_catalog"

- name: Only the deployer role (the StackSet), e.g. after changing its template
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Deployer StackSet
      orgiam.aws.bootstrap:
        parts: [deployer]
"""

RETURN = r"""
bootstrap:
  description: The plan (check mode) or the result, step by step, as written to C(bootstrap.json).
  returned: when the bootstrap started (not when an input was refused)
  type: dict
  contains:
    mode:
      description: V(check) (nothing was written) or V(apply).
      type: str
      sample: check
    ok:
      description: Whether no step failed.
      type: bool
    changed:
      description: Whether any step changed something (or, in check mode, would).
      type: bool
    management_account_id:
      description: The organization's management account, the caller.
      type: str
      sample: "123456789012"
    organization_id:
      description: The organization's id.
      type: str
      sample: o-a1b2c3d4e5
    steps:
      description: One entry per step, in the order they run.
      type: list
      elements: dict
      contains:
        key:
          description: The step's key, for example C(trusted-access), C(deployer-stackset) or C(pipeline).
          type: str
        kind:
          description: C(trusted-access), C(stackset) (the deployer StackSet) or C(stack).
          type: str
        account_id:
          description: The account the step deploys into.
          type: str
        account_name:
          description: That account's name.
          type: str
        hostname:
          description: Not used by the bootstrap; empty.
          type: str
        ou_path:
          description: Not used by the bootstrap; empty.
          type: str
        region:
          description: The step's region.
          type: str
        stack_name:
          description: The stack or StackSet, for example C(orgiam-deployer) or C(orgiam-pipeline); empty for trusted access.
          type: str
        title:
          description: A readable name of the step.
          type: str
        roles:
          description: Not used by the bootstrap; empty.
          type: list
          elements: str
        status:
          description: >-
            How the step ended - C(unchanged), C(created), C(updated), C(deleted), C(retained),
            C(planned) (check mode), C(failed) or C(skipped) (a step after a failed one).
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
          description: Whether the step changed something (or, in check mode, would).
          type: bool
        observed:
          description: The stack or StackSet as the plan saw it; empty when there was none.
          type: dict
        plan:
          description: The resource changes, as readable lines.
          type: list
          elements: str
        changes:
          description: The template's logical ids to C(add), C(modify) and C(remove).
          type: dict
        change_set:
          description: CloudFormation's own preview of a stack update (C(action), C(logical_id), C(type), C(replacement) per resource).
          type: list
          elements: dict
        details:
          description: Further notes on the step.
          type: list
          elements: str
        deploy_to:
          description: For the StackSet, the targets it has not reached yet.
          type: list
          elements: str
        granted:
          description: Not used by the bootstrap; empty.
          type: dict
        retained:
          description: Not used by the bootstrap; empty.
          type: list
          elements: str
        groups:
          description: Not used by the bootstrap; empty.
          type: list
          elements: str
        error:
          description: Why the step failed, when it failed.
          type: str
        error_code:
          description: AWS's error code, when AWS answered with one.
          type: str
        api_calls:
          description: AWS API calls made for the step.
          type: int
        seconds:
          description: How long the step took.
          type: float
        template:
          description: The template file deployed, for stacks and the StackSet (inside the collection's C(files/cicd) unless O(templates) is given).
          type: str
        parameters:
          description: The template's parameters, as deployed.
          type: dict
plan:
  description: One line per step (and its details), as shown at the end of the run.
  returned: when the bootstrap started
  type: list
  elements: str
summary:
  description: One line counting the steps by status.
  returned: when the bootstrap started
  type: str
report_file:
  description: Path of C(bootstrap.json).
  returned: when the bootstrap started
  type: str
  sample: out/bootstrap.json
diff:
  description: For each changing stack or StackSet, its template and parameters, deployed and desired (what C(--diff) shows).
  returned: with C(--diff), when a step changes
  type: list
  elements: dict
  contains:
    before_header:
      description: Where, deployed.
      type: str
    after_header:
      description: Where, desired.
      type: str
    before:
      description: The deployed parameters and template.
      type: str
    after:
      description: The desired parameters and template.
      type: str
problems:
  description: Each bad input found before anything was written (catalog, C(pipeline) settings, templates, accounts).
  returned: on bad input
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.orgiam.aws.plugins.module_utils.argspecs import BOOTSTRAP_SPEC


def main() -> None:
    module = AnsibleModule(argument_spec=BOOTSTRAP_SPEC, supports_check_mode=True)
    module.fail_json(msg="orgiam.aws.bootstrap runs as an action plugin on the controller; check the collection is installed whole")


if __name__ == "__main__":
    main()
