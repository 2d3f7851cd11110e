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
  description: The plan or the result, step by step, as written to bootstrap.json.
  returned: always
  type: dict
plan:
  description: One line per step (and its details), as shown.
  returned: always
  type: list
  elements: str
summary:
  description: One line counting the steps by status.
  returned: always
  type: str
report_file:
  description: Path of bootstrap.json.
  returned: always
  type: str
problems:
  description: Each bad input found before anything was written.
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
