"""The bad-input corpus: small changes to a good catalog, each of which orgiam must refuse before any AWS call.

A case writes (or, with None, deletes) a few files over BASE, says at which stage it must fail, and which
fragments the error must hold: the file, the field and what to do. ``stage``:

* ``load``: ``load_catalog`` refuses it (no organization needed);
* ``resolve``: the catalog loads, ``resolve`` against ORGANIZATION (or the case's own accounts) refuses it;
* ``limits``: the catalog loads and resolves, ``render.limits.template_problems`` reports it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Callable

from ansible_collections.orgiam.aws.plugins.module_utils.model import Account

BASE: dict[str, str] = {
    "settings.yml": "central_account: Security\nstack_prefix: orgiam\n",
    "roles/readonly.yml": (
        "name: ReadOnly\n"
        "description: Read-only access for engineers\n"
        "managed_policies: [ReadOnlyAccess]\n"
        "targets:\n"
        "  ou_paths: [Workloads]\n"
    ),
    "roles/sandbox-admin.yml": (
        "name: SandboxAdmin\n"
        "managed_policies: [AdministratorAccess]\n"
        "max_session_duration: 14400\n"
        "targets:\n"
        "  ou_paths: [Sandbox]\n"
    ),
    "identity.yml": (
        "mode: iam_users\n"
        "default_groups: true\n"
        "groups:\n"
        "  - name: platform-engineers\n"
        "    grants:\n"
        "      - role: ReadOnly\n"
        "      - role: SandboxAdmin\n"
        "  - name: payments-prod-readers\n"
        "    grants:\n"
        "      - role: ReadOnly\n"
        "        scope:\n"
        "          accounts: [Payments Prod]\n"
        "users:\n"
        "  - name: alice.platform\n"
        "    groups: [platform-engineers]\n"
        "    console: reset_on_first_login\n"
        "  - name: bob.payments\n"
        "    groups: [payments-prod-readers, orgiam-ReadOnly-Workloads]\n"
    ),
}

ORGANIZATION = [
    Account("000000000001", "Management", "", is_management=True),
    Account("000000000002", "Security", "Security"),
    Account("000000000003", "Log Archive", "Security"),
    Account("000000000004", "Payments Prod", "Workloads/Prod", tags=(("Environment", "prod"),)),
    Account("000000000005", "Payments Dev", "Workloads/SDLC", tags=(("Environment", "dev"),)),
    Account("000000000006", "Sandbox One", "Sandbox"),
    Account("000000000008", "Deployments", "Deployments"),
    Account("000000000007", "Legacy", "Suspended", status="SUSPENDED"),
]
ORGANIZATION_ID = "o-exampleorg1"
OU_PATHS = ["Security", "Workloads", "Workloads/Prod", "Workloads/SDLC", "Sandbox", "Deployments", "Suspended", "Transitional"]

BIG_ORGANIZATION = ORGANIZATION + [Account(f"2{i:011d}", f"Team {i:04d} Prod", "Workloads/Prod") for i in range(1000)]

METADATA = ('<?xml version="1.0"?><EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://idp.example/x">'
            "<X509Certificate>" + "A" * 1100 + "</X509Certificate></EntityDescriptor>")


@dataclass(frozen=True)
class Case:
    id: str
    files: dict[str, str | bytes | None]
    expect: tuple[str, ...]  # fragments the error must hold (what and how to fix it)
    file: str  # the file the error must name
    stage: str = "load"
    accounts: list[Account] | None = None  # instead of ORGANIZATION
    note: str = ""
    organization_id: str = ORGANIZATION_ID  # as the inventory gives it


def role_file(body: str, name: str = "roles/extra.yml") -> dict[str, str]:
    return {name: body}


def extra_role(lines: str = "", name: str = "Extra", targets: str = "targets: {ou_paths: [Workloads]}") -> dict[str, str]:
    return role_file(f"name: {name}\n{lines}{targets}\n")


def inline(statement: dict | list, waivers: str = "", policy: dict | None = None) -> dict[str, str]:
    """A role with one inline policy holding ``statement`` (or the whole ``policy``)."""
    document = policy if policy is not None else {
        "Version": "2012-10-17", "Statement": statement if isinstance(statement, list) else [statement]}
    return role_file(f"name: Extra\n{waivers}inline_policies:\n  main: {json.dumps(document)}\ntargets: {{ou_paths: [Workloads]}}\n")


def allow(**extra: object) -> dict:
    statement: dict = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::bucket/*"}
    statement.update(extra)
    return {k: v for k, v in statement.items() if v is not None}


def settings(text: str) -> dict[str, str]:
    return {"settings.yml": "central_account: Security\n" + text}


def identity(text: str) -> dict[str, str]:
    return {"identity.yml": text}


def bomb(levels: int = 9) -> str:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, levels):
        lines.append(f"a{level}: &a{level} [" + ", ".join([f"*a{level - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def tags(count: int) -> str:
    return "tags:\n" + "".join(f"  Key{i:02d}: v\n" for i in range(count))


def many_roles(count: int, extra: Callable[[int], str] = lambda i: "") -> dict[str, str]:
    body = "roles:\n" + "".join(f"  - name: Many{i:03d}\n{extra(i)}    targets: {{accounts: [Log Archive]}}\n" for i in range(count))
    return role_file(body, "roles/many.yml")


def machine(entries: str, trusted: str = "trusted_by:\n", extra: str = "") -> dict[str, str]:
    """A machine role, Deployer, trusted by ``entries`` (YAML list items under trusted_by, from line 5)."""
    return role_file(f"name: Deployer\n{extra}targets: {{ou_paths: [Workloads]}}\nmanaged_policies: [PowerUserAccess]\n"
                     f"{trusted}{entries}", "roles/deployer.yml")


LONG_OU = "A" * 60
CASES: list[Case] = [
    # -- settings.yml --------------------------------------------------------------------------------
    Case("settings-missing", {"settings.yml": None}, ("missing", "central_account"), "settings.yml"),
    Case("settings-empty", {"settings.yml": ""}, ("'central_account' is a required property", "add it"), "settings.yml"),
    Case("settings-a-list", {"settings.yml": "- central_account: Security\n"}, ("must be a mapping",), "settings.yml"),
    Case("settings-unknown-key", settings("prune_policy: apply\n"), ("unknown key 'prune_policy'", "prune"), "settings.yml:2"),
    Case("settings-prune-enum", settings("prune: sometimes\n"), ("'sometimes' is not one of: never, plan, apply",), "settings.yml:2"),
    Case("settings-concurrency-zero", settings("concurrency: 0\n"), ("field 'concurrency'", "less than the minimum"), "settings.yml:2"),
    Case("settings-concurrency-text", settings("concurrency: '16'\n"), ("field 'concurrency'", "must be a whole number, not text"), "settings.yml:2"),
    Case("settings-timeout-small", settings("stack_timeout_seconds: 10\n"), ("field 'stack_timeout_seconds'",), "settings.yml:2"),
    Case("settings-stack-prefix", settings("stack_prefix: 1orgiam\n"), ("field 'stack_prefix'", "'1orgiam'", "a letter first"), "settings.yml:2"),
    Case("settings-role-path", settings("role_path: orgiam\n"), ("field 'role_path'", "starts and ends with '/'"), "settings.yml:2"),
    Case("settings-member-role-space", settings("member_role_name: Org Access\n"), ("field 'member_role_name'", "' ' (a space) not allowed"), "settings.yml:2"),
    Case("settings-member-role-non-ascii", settings("member_role_name: Déployeur\n"),
         ("field 'member_role_name'", "'é' (U+00E9"), "settings.yml:2"),
    Case("settings-template-bucket", settings("template_bucket: My_Bucket\n"), ("field 'template_bucket'", "'_' (U+005F LOW LINE)"), "settings.yml:2"),
    Case("settings-topic-arn", settings("notify_topic_arn: my-topic\n"), ("field 'notify_topic_arn'", "an SNS topic ARN"), "settings.yml:2"),
    Case("settings-pipeline-no-source", settings("pipeline: {account: Deployments}\n"), ("'source' is a required property",), "settings.yml:2"),
    Case("settings-pipeline-provider", settings("pipeline: {account: D, source: {provider: GitHub, repository: r}}\n"),
         ("'GitHub' is not one of: CodeCommit, CodeConnections",), "settings.yml:2"),
    Case("settings-central-empty", {"settings.yml": "central_account:\n"}, ("field 'central_account'", "must be text, not empty"), "settings.yml:1"),
    Case("settings-central-number", {"settings.yml": "central_account: 123456789012\n"},
         ("field 'central_account'", 'quote it to make it text: "123456789012"'), "settings.yml:1"),
    Case("settings-invalid-yaml", {"settings.yml": "central_account: [Security\n"}, ("not valid YAML", "fix the syntax"), "settings.yml"),
    Case("settings-duplicate-key", {"settings.yml": "central_account: Security\ncentral_account: Log Archive\n"},
         ("key 'central_account' appears twice",), "settings.yml:2"),
    Case("settings-not-utf8", {"settings.yml": "central_account: Sécurité\n".encode("latin-1")},
         ("not UTF-8", "0xe9", "save it as UTF-8"), "settings.yml:1"),
    Case("settings-utf16", {"settings.yml": "central_account: Security\n".encode("utf-16")}, ("UTF-16", "save it as UTF-8"), "settings.yml"),
    Case("settings-alias-bomb", {"settings.yml": "central_account: Security\n" + bomb()}, ("alias bomb", "100,000"), "settings.yml"),
    Case("settings-yaml-tag", settings("stack_prefix: !Sub orgiam\n"), ("YAML tag !Sub", "Remove the tag"), "settings.yml:2"),
    Case("settings-two-documents", {"settings.yml": "central_account: Security\n---\nprune: apply\n"}, ("another document",), "settings.yml"),
    Case("settings-control-character", {"settings.yml": "central_account: Secu\x07rity\n"}, ("U+0007", "remove it"), "settings.yml:1"),
    # -- role files: structure -----------------------------------------------------------------------
    Case("role-empty-file", role_file(""), ("the file is empty",), "roles/extra.yml"),
    Case("role-top-level-list", role_file("- name: Extra\n"), ("must be a mapping",), "roles/extra.yml"),
    Case("role-missing-name", role_file("targets: {ou_paths: [Workloads]}\n"), ("'name' is a required property",), "roles/extra.yml"),
    Case("role-missing-targets", role_file("name: Extra\n"), ("'targets' is a required property",), "roles/extra.yml"),
    Case("role-empty-targets", role_file("name: Extra\ntargets: {}\n"), ("targets selects no account", "add ou_paths"), "roles/extra.yml:2"),
    Case("role-unknown-key", role_file("name: Extra\nmanaged_policy: [ReadOnlyAccess]\ntargets: {ou_paths: [W]}\n"),
         ("unknown key 'managed_policy'", "managed_policies"), "roles/extra.yml:2"),
    Case("role-unknown-targets-key", role_file("name: Extra\ntargets:\n  ou_path: [Workloads]\n"),
         ("targets.ou_path", "ou_paths"), "roles/extra.yml:3"),
    Case("role-recursive-not-bool", role_file("name: Extra\ntargets:\n  ou_paths: [{path: Workloads, recursive: 'no'}]\n"),
         ("targets.ou_paths.0.recursive", "true or false"), "roles/extra.yml:3"),
    Case("role-tag-selector-empty-list", role_file("name: Extra\ntargets:\n  tags: {Environment: []}\n"),
         ("targets.tags.Environment",), "roles/extra.yml:3"),
    Case("role-empty-list-of-roles", role_file("roles: []\n"), ("field 'roles'", "the list is empty"), "roles/extra.yml"),
    Case("role-invalid-yaml", role_file("name: Extra\ntargets: [oops\n"), ("not valid YAML",), "roles/extra.yml"),
    Case("role-tab-indent", role_file("name: Extra\ntargets:\n\tou_paths: [Workloads]\n"), ("not valid YAML",), "roles/extra.yml:3"),
    Case("role-duplicate-key", role_file("name: A\nname: B\ntargets: {ou_paths: [Workloads]}\n"), ("appears twice", "keep one"), "roles/extra.yml:2"),
    Case("role-mapping-as-key", role_file("? {a: 1}\n: x\nname: Extra\n"), ("mapping key must be a plain value",), "roles/extra.yml:1"),
    Case("role-number-key", role_file("name: Extra\ntags: {2024: budget}\ntargets: {ou_paths: [Workloads]}\n"),
         ("key '2024' is read as int", 'quote it: "2024"'), "roles/extra.yml:2"),
    Case("role-not-utf8", role_file("name: Extra\ndescription: caf\xe9\ntargets: {ou_paths: [Workloads]}\n".encode("latin-1")),
         ("not UTF-8", "0xe9"), "roles/extra.yml:2"),
    Case("role-alias-bomb", role_file(bomb() + "name: Extra\n"), ("alias bomb", "alias *a"), "roles/extra.yml"),
    Case("role-recursive-alias", role_file("name: Extra\ntargets: &t {ou_paths: [Workloads], exclude: *t}\n"),
         ("refers to a value that contains it",), "roles/extra.yml:2"),
    Case("role-undefined-alias", role_file("name: Extra\ntargets: *nothing\n"), ("undefined alias 'nothing'",), "roles/extra.yml:2"),
    Case("role-deep-nesting", role_file("name: Extra\ntags: " + "[" * 200 + "]" * 200 + "\n"), ("nest more than 64 levels",), "roles/extra.yml"),
    Case("role-cloudformation-tag", role_file("name: !Sub '${Prefix}-Extra'\ntargets: {ou_paths: [Workloads]}\n"),
         ("YAML tag !Sub", "not evaluated"), "roles/extra.yml:1"),
    Case("role-merge-key", role_file("base: &b {ou_paths: [Workloads]}\nname: Extra\ntargets:\n  <<: *b\n"),
         ("merge keys (<<) are not read", "write the keys out"), "roles/extra.yml:4"),
    Case("no-role-files", {"roles/readonly.yml": None, "roles/sandbox-admin.yml": None, "identity.yml": None},
         ("no role files", "add one"), "roles"),
    # -- role names and fields -------------------------------------------------------------------------
    Case("role-name-too-long", extra_role(name="R" * 65), ("field 'name'", "has 65 characters; at most 64"), "roles/extra.yml:1"),
    Case("role-name-space", extra_role(name="'Read Only'"), ("field 'name'", "' ' (a space) not allowed"), "roles/extra.yml:1"),
    Case("role-name-non-ascii", extra_role(name="LectureSeulé"), ("field 'name'", "'é' (U+00E9 LATIN SMALL LETTER E WITH ACUTE) not allowed"),
         "roles/extra.yml:1"),
    Case("role-name-cyrillic", extra_role(name="Аdmin"), ("field 'name'", "U+0410"), "roles/extra.yml:1", note="a Cyrillic A"),
    Case("role-name-duplicate-across-files", extra_role(name="readonly"), ("already defined at", "roles/readonly.yml", "rename one"),
         "roles/extra.yml:1"),
    Case("role-name-duplicate-in-list", role_file("roles:\n  - {name: A, targets: {ou_paths: [Workloads]}}\n"
                                                  "  - {name: a, targets: {ou_paths: [Sandbox]}}\n"), ("already defined at",), "roles/extra.yml:3"),
    Case("role-name-orgiam-prefix", extra_role(name="orgiam-deployer"), ("starting 'orgiam-'", "its deployer is denied them"),
         "roles/extra.yml:1"),
    Case("role-name-orgiam-prefix-case", extra_role(name="ORGIAM-Audit"), ("starting 'orgiam-'",), "roles/extra.yml:1"),
    Case("role-name-custom-prefix", {**settings("stack_prefix: iam\n"), **extra_role(name="iam-Audit")}, ("starting 'iam-'",), "roles/extra.yml:1"),
    Case("role-name-organization-access", extra_role(name="OrganizationAccountAccessRole"),
         ("role orgiam deploys through", "choose another name"), "roles/extra.yml:1"),
    Case("role-name-organization-access-case", extra_role(name="organizationaccountaccessrole"),
         ("role orgiam deploys through",), "roles/extra.yml:1"),
    Case("role-name-member-role", {**settings("member_role_name: platform/PlatformDeploy\n"), **extra_role(name="PlatformDeploy")},
         ("member_role_name",), "roles/extra.yml:1"),
    Case("role-name-service-linked", extra_role(name="AWSServiceRoleForSupport"), ("starting 'AWSServiceRoleFor'", "AWS's"),
         "roles/extra.yml:1"),
    Case("role-name-identity-center", extra_role(name="AWSReservedSSO_Admin"), ("starting 'AWSReservedSSO_'",), "roles/extra.yml:1"),
    Case("role-path-no-slash", extra_role("path: orgiam\n"), ("field 'path'", "e.g. /orgiam/"), "roles/extra.yml:2"),
    Case("role-path-too-long", extra_role("path: /" + "p/" * 300 + "\n"), ("field 'path'", "has 601 characters; at most 512"), "roles/extra.yml:2"),
    Case("role-description-emoji", extra_role("description: Read only 🔒\n"), ("field 'description'", "U+1F512", "role description"),
         "roles/extra.yml:2"),
    Case("role-description-en-dash", extra_role("description: Ops – read only\n"), ("U+2013 EN DASH", "replace it"), "roles/extra.yml:2"),
    Case("role-description-cjk", extra_role("description: 読み取り専用\n"), ("not allowed in a role description",), "roles/extra.yml:2"),
    Case("role-description-too-long", extra_role("description: " + "d" * 1001 + "\n"), ("1001 characters", "at most 1000"),
         "roles/extra.yml:2"),
    Case("role-description-number", extra_role("description: 42\n"), ("field 'description'", 'quote it to make it text: "42"'),
         "roles/extra.yml:2"),
    Case("role-max-session-short", extra_role("max_session_duration: 1800\n"), ("field 'max_session_duration'", "less than the minimum of 3600"),
         "roles/extra.yml:2"),
    Case("role-max-session-long", extra_role("max_session_duration: 50000\n"), ("greater than the maximum of 43200",), "roles/extra.yml:2"),
    Case("role-max-session-text", extra_role("max_session_duration: 1h\n"), ("must be a whole number, not text",), "roles/extra.yml:2"),
    Case("role-mfa-text", extra_role("mfa_required: 'yes'\n"), ("field 'mfa_required'", "true or false"), "roles/extra.yml:2"),
    Case("role-external-id-short", extra_role("external_id: x\n"), ("field 'external_id'", "it has 1 character; 2 to 1224"), "roles/extra.yml:2"),
    Case("role-external-id-space", extra_role("external_id: vendor 1234\n"), ("field 'external_id'", "(a space)"), "roles/extra.yml:2"),
    Case("role-external-id-non-ascii", extra_role("external_id: fournisseur-é\n"), ("field 'external_id'", "U+00E9"), "roles/extra.yml:2"),
    Case("role-assumable-by-unknown", extra_role("assumable_by: [ops]\n"), ("assumable_by group 'ops'", "add it under groups"), "roles/extra.yml"),
    # -- managed policies ------------------------------------------------------------------------------
    Case("policy-name-typo", extra_role("managed_policies: [ReadOnlyAcess]\n"), ("did you mean 'ReadOnlyAccess'",), "roles/extra.yml:2"),
    Case("policy-wrong-path", extra_role("managed_policies: [service-role/ReadOnlyAccess]\n"), ("lives at path /",), "roles/extra.yml:2"),
    Case("policy-bad-arn", extra_role("managed_policies: ['arn:aws:iam:policy/X']\n"), ("is not a policy ARN",), "roles/extra.yml:2"),
    Case("policy-too-many", extra_role("managed_policies: [" + ", ".join(["ReadOnlyAccess", "ViewOnlyAccess", "SecurityAudit",
                                                                         "AdministratorAccess", "PowerUserAccess", "IAMReadOnlyAccess",
                                                                         "AmazonS3ReadOnlyAccess", "AmazonEC2ReadOnlyAccess",
                                                                         "AWSSupportAccess", "AmazonRDSReadOnlyAccess",
                                                                         "AmazonVPCReadOnlyAccess"]) + "]\n"),
         ("at most 10 managed policies",), "roles/extra.yml:2"),
    Case("policy-boundary-typo", extra_role("permissions_boundary: PowerUserAcces\n"), ("did you mean 'PowerUserAccess'",), "roles/extra.yml:2"),
    Case("policy-list-not-list", extra_role("managed_policies: ReadOnlyAccess\n"), ("field 'managed_policies'", "must be a list"),
         "roles/extra.yml:2"),
    # -- tags ------------------------------------------------------------------------------------------
    Case("tags-aws-prefix", extra_role("tags: {'aws:team': ops}\n"), ("tag key 'aws:team'", "AWS's"), "roles/extra.yml:2"),
    Case("tags-aws-prefix-case", extra_role("tags: {'AWS:Team': ops}\n"), ("starting 'aws:'",), "roles/extra.yml:2"),
    Case("tags-orgiam-prefix", extra_role("tags: {'orgiam:managed-by': me}\n"), ("orgiam's",), "roles/extra.yml:2"),
    Case("tags-too-many", extra_role(tags(50)), ("50 tags", "orgiam adds 1", "keep at most 49"), "roles/extra.yml:3"),
    Case("tags-key-too-long", extra_role("tags: {" + "k" * 129 + ": v}\n"), ("129 characters", "1 to 128"), "roles/extra.yml:2"),
    Case("tags-value-too-long", extra_role("tags: {Team: " + "v" * 257 + "}\n"), ("257 characters", "at most 256"), "roles/extra.yml:2"),
    Case("tags-key-bad-character", extra_role("tags: {'team#1': ops}\n"), ("tag key 'team#1'", "'#'"), "roles/extra.yml:2"),
    Case("tags-value-bad-character", extra_role("tags: {Team: 'ops; dev'}\n"), ("tag value", "';'"), "roles/extra.yml:2"),
    Case("tags-value-number", extra_role("tags: {CostCenter: 1234}\n"), ("field 'tags.CostCenter'", 'quote it to make it text: "1234"'),
         "roles/extra.yml:2"),
    Case("tags-case-duplicates", extra_role("tags: {Team: a, team: b}\n"), ("differ only in case",), "roles/extra.yml:2"),
    # -- policy documents ------------------------------------------------------------------------------
    Case("statement-not-action-allow", inline(allow(Action=None, NotAction="iam:*", Resource="*")),
         ("NotAction", "waivers: [allow-not-action]", "inline_policies.main.Statement.0.NotAction"), "roles/extra.yml:3"),
    Case("statement-not-resource-allow", inline(allow(Resource=None, NotResource="arn:aws:s3:::secret/*")),
         ("NotResource", "waivers: [allow-not-resource]"), "roles/extra.yml:3"),
    Case("statement-action-number", inline(allow(Action=42)), ("Action must be text or a non-empty list", "42"), "roles/extra.yml:3"),
    Case("statement-action-list-number", inline(allow(Action=["s3:GetObject", 7])), ("Action holds a number 7",), "roles/extra.yml:3"),
    Case("statement-action-empty-list", inline(allow(Action=[])), ("Action must be text or a non-empty list",), "roles/extra.yml:3"),
    Case("statement-unknown-action", inline(allow(Action=["s3:GetObjekt"])),
         ("unknown action 's3:GetObjekt'", "did you mean 's3:GetObject'", "waivers: [unknown-action]"), "roles/extra.yml:3"),
    Case("statement-unknown-action-case", inline(allow(Action="ec2:DescribeInstancez")), ("did you mean 'ec2:DescribeInstances'",),
         "roles/extra.yml:3"),
    Case("statement-unknown-prefix", inline(allow(Action="s4:GetObject")), ("unknown service prefix", "'s4:GetObject'", "did you mean 's3:GetObject'"),
         "roles/extra.yml:3"),
    Case("statement-wildcard-matches-nothing", inline(allow(Action="s3:Fetch*")), ("unknown action 's3:Fetch*'",), "roles/extra.yml:3"),
    Case("statement-action-no-colon", inline(allow(Action="GetObject")), ("'GetObject' is not an action", "service:Action"),
         "roles/extra.yml:3"),
    Case("statement-unknown-operator", inline(allow(Condition={"StringEqual": {"aws:PrincipalTag/team": "ops"}})),
         ("unknown condition operator 'StringEqual'", "did you mean 'StringEquals'", "Condition.StringEqual"), "roles/extra.yml:3"),
    Case("statement-unknown-operator-and-action", inline(allow(Action="s3:GetObjekt", Condition={"ArnLke": {"aws:SourceArn": "arn:aws:s3:::b"}})),
         ("unknown action 's3:GetObjekt'", "unknown condition operator 'ArnLke'"), "roles/extra.yml:3"),
    Case("statement-unknown-operator-qualifier", inline(allow(Condition={"ForAnyValues:StringLike": {"aws:TagKeys": ["a*"]}})),
         ("unknown condition operator 'ForAnyValues:StringLike'", "ForAnyValue:StringLike"), "roles/extra.yml:3"),
    Case("statement-bool-not-boolean", inline(allow(Condition={"Bool": {"aws:SecureTransport": "yes"}})),
         ("Bool and Null compare with true or false",), "roles/extra.yml:3"),
    Case("statement-condition-not-mapping", inline(allow(Condition="aws:SecureTransport")), ("Condition must be a mapping",),
         "roles/extra.yml:3"),
    Case("statement-condition-block-list", inline(allow(Condition={"StringEquals": ["a"]})), ("must hold a mapping",), "roles/extra.yml:3"),
    Case("statement-condition-value-mapping", inline(allow(Condition={"StringEquals": {"aws:username": {"a": 1}}})),
         ("takes text, numbers or true/false",), "roles/extra.yml:3"),
    Case("statement-effect-lowercase", inline(allow(Effect="allow")), ("Effect must be Allow or Deny",), "roles/extra.yml:3"),
    Case("statement-no-action", inline(allow(Action=None)), ("needs Action or NotAction",), "roles/extra.yml:3"),
    Case("statement-no-resource", inline(allow(Resource=None)), ("needs Resource or NotResource",), "roles/extra.yml:3"),
    Case("statement-action-and-not-action", inline(allow(NotAction="s3:PutObject")), ("Action or NotAction, not both",), "roles/extra.yml:3"),
    Case("statement-principal", inline(allow(Principal="*")), ("cannot name a Principal",), "roles/extra.yml:3"),
    Case("statement-unknown-element", inline(allow(Actions=["s3:GetObject"])), ("unknown statement element 'Actions'", "did you mean 'Action'"),
         "roles/extra.yml:3"),
    Case("statement-sid-space", inline(allow(Sid="read objects")), ("Sid", "ASCII letters and digits"), "roles/extra.yml:3"),
    Case("statement-duplicate-sid", inline([allow(Sid="Read"), allow(Sid="Read", Action="s3:ListBucket", Resource="arn:aws:s3:::b")]),
         ("Sid 'Read' is also statement 0's", "rename one", "Statement.1.Sid"), "roles/extra.yml:3"),
    Case("statement-resource-not-arn", inline(allow(Resource="my-bucket")), ("'my-bucket' is not an ARN",), "roles/extra.yml:3"),
    Case("statement-resource-number", inline(allow(Resource=42)), ("Resource must be text or a non-empty list",), "roles/extra.yml:3"),
    Case("statement-not-mapping", inline(["s3:GetObject"]), ("a statement must be a mapping",), "roles/extra.yml:3"),
    Case("statement-empty-list", inline([]), ("'Statement' must be a non-empty list",), "roles/extra.yml:3"),
    Case("policy-no-statement", inline([], policy={"Version": "2012-10-17"}), ("needs a 'Statement' list",), "roles/extra.yml:3"),
    Case("policy-bad-version", inline([], policy={"Version": "2013-01-01", "Statement": [allow()]}), ("Version must be",), "roles/extra.yml:3"),
    Case("policy-unknown-element", inline([], policy={"Version": "2012-10-17", "Statment": [allow()], "Statement": [allow()]}),
         ("unknown policy element 'Statment'", "did you mean 'Statement'"), "roles/extra.yml:3"),
    Case("policy-not-mapping", role_file("name: Extra\ninline_policies:\n  main: allow everything\ntargets: {ou_paths: [Workloads]}\n"),
         ("field 'inline_policies.main'", "must be a mapping"), "roles/extra.yml:3"),
    Case("policy-name-space", role_file(f"name: Extra\ninline_policies:\n  'read all': {json.dumps({'Statement': [allow()]})}\n"
                                        "targets: {ou_paths: [Workloads]}\n"), ("policy name 'read all'", "(a space)"), "roles/extra.yml:3"),
    Case("policy-inline-too-large", role_file("name: Extra\ninline_policies:\n" + "".join(
        f"  p{i}: {json.dumps({'Statement': [allow(Resource=[f'arn:aws:s3:::bucket-{i}-{j:04d}/*' for j in range(60)])]})}\n" for i in range(6))
        + "targets: {ou_paths: [Workloads]}\n"), ("inline policies together exceed IAM's 10240", "customer_managed_policies"),
         "roles/extra.yml"),
    Case("policy-managed-too-large", role_file("name: Extra\ncustomer_managed_policies:\n  big: " + json.dumps(
        {"Statement": [allow(Resource=[f"arn:aws:s3:::bucket-{j:04d}/*" for j in range(300)])]}) + "\ntargets: {ou_paths: [Workloads]}\n"),
         ("more than IAM's 6144", "split it"), "roles/extra.yml:3"),
    Case("policy-managed-name-too-long", role_file(f"name: {'R' * 60}\ncustomer_managed_policies:\n  {'p' * 70}: "
                                                   + json.dumps({"Statement": [allow()]}) + "\ntargets: {ou_paths: [Workloads]}\n"),
         ("131 characters", "over IAM's 128", "at most 67 characters"), "roles/extra.yml:3"),
    Case("policy-managed-name-collision", {
        **role_file("name: A-b\ncustomer_managed_policies:\n  c: " + json.dumps({"Statement": [allow()]}) + "\ntargets: {ou_paths: [Workloads]}\n",
                    "roles/a.yml"),
        **role_file("name: A\ncustomer_managed_policies:\n  b-c: " + json.dumps({"Statement": [allow()]}) + "\ntargets: {ou_paths: [Workloads]}\n",
                    "roles/b.yml")}, ("customer managed policy 'A-b-c'", "rename one"), "roles/"),
    Case("waiver-unused", inline(allow(), waivers="waivers: [allow-not-action]\n"), ("waiver 'allow-not-action' waives nothing", "remove it"),
         "roles/extra.yml:2"),
    Case("waiver-unknown", inline(allow(), waivers="waivers: [allow-everything]\n"), ("field 'waivers.0'", "'allow-everything' is not one of"),
         "roles/extra.yml:2"),
    Case("waiver-does-not-cover-other-check", inline(allow(Action=None, NotAction="iam:*"), waivers="waivers: [unknown-action]\n"),
         ("waivers: [allow-not-action]", "waiver 'unknown-action' waives nothing"), "roles/extra.yml"),
    # -- machine roles (trusted_by) --------------------------------------------------------------------
    Case("machine-unknown-service", machine("  - {service: cloudfromation.amazonaws.com}\n"),
         ("field 'trusted_by.0.service'", "service 'cloudfromation.amazonaws.com' is not one orgiam knows",
          "known services: cloudformation.amazonaws.com, codebuild.amazonaws.com"), "roles/deployer.yml:5"),
    Case("machine-wildcard-account", machine("  - {account: '*', role: 'pipeline/*'}\n"),
         ("field 'trusted_by.0.account'", "never trusts a wildcard principal", "name one account of the organization"),
         "roles/deployer.yml:5"),
    Case("machine-account-pattern", machine("  - {account: '1111*'}\n"), ("never trusts a wildcard principal",), "roles/deployer.yml:5"),
    Case("machine-account-and-service", machine("  - {account: Deployments, service: codebuild.amazonaws.com}\n"),
         ("field 'trusted_by.0'", "either an account", "or a service"), "roles/deployer.yml:5"),
    Case("machine-role-without-account", machine("  - {role: 'pipeline/*'}\n"), ("field 'trusted_by.0'", "either an account"),
         "roles/deployer.yml:5"),
    Case("machine-service-with-role", machine("  - {service: codebuild.amazonaws.com, role: build}\n"),
         ("field 'trusted_by.0.role'", "applies to an account, not to service"), "roles/deployer.yml:5"),
    Case("machine-role-pattern-characters", machine("  - {account: Deployments, role: 'pipeline builds/*'}\n"),
         ("field 'trusted_by.0.role'", "role pattern 'pipeline builds/*'", "e.g. pipeline/*"), "roles/deployer.yml:5"),
    Case("machine-unknown-key", machine("  - {acount: Deployments}\n"), ("unknown key 'acount'", "account, role, service"),
         "roles/deployer.yml:5"),
    Case("machine-empty-list", machine("", trusted="trusted_by: []\n"), ("field 'trusted_by'", "the list is empty"), "roles/deployer.yml:4"),
    Case("machine-account-id-number", machine("  - {account: 111122223333}\n"), ("field 'trusted_by.0.account'", 'quote it'),
         "roles/deployer.yml:5"),
    Case("machine-account-short-id", machine("  - {account: '11112222333'}\n"), ("neither a 12-digit account id nor a name",),
         "roles/deployer.yml:5"),
    Case("machine-duplicate", machine("  - {account: Deployments, role: 'pipeline/*'}\n  - {account: deployments, role: '/pipeline/*'}\n"),
         ("already trusted by entry 0", "keep one"), "roles/deployer.yml:6"),
    Case("machine-mfa-required", machine("  - {account: Deployments, role: 'pipeline/*'}\n", extra="mfa_required: true\n"),
         ("field 'mfa_required'", "cannot present MFA", "remove mfa_required"), "roles/deployer.yml:2"),
    Case("machine-assumable-by", {**machine("  - {account: Deployments, role: 'pipeline/*'}\n", extra="assumable_by: [platform-engineers]\n")},
         ("field 'assumable_by'", "no group of the central account can assume it"), "roles/deployer.yml:2"),
    Case("machine-granted-to-a-group", {**machine("  - {service: cloudformation.amazonaws.com}\n"),
                                        **identity("groups:\n  - name: ops\n    grants: [{role: Deployer}]\n")},
         ("group 'ops' grants role 'Deployer', which is trusted by machines", "roles/deployer.yml", "Remove the grant"), "identity.yml:3"),
    Case("machine-default-group-joined", {**machine("  - {service: cloudformation.amazonaws.com}\n"),
                                          **identity("users:\n  - {name: carol, groups: [orgiam-Deployer-Workloads]}\n")},
         ("user 'carol' joins group 'orgiam-Deployer-Workloads'", "trusted by machines", "roles/deployer.yml:1", "has no group",
          "field 'users.0.groups.0'"), "identity.yml:2"),
    Case("machine-unknown-account", machine("  - {account: Deploiments, role: 'pipeline/*'}\n"),
         ("role 'Deployer' is trusted by account 'Deploiments'", "did you mean 'Deployments'", "only accounts of this organization"),
         "roles/deployer.yml:5", stage="resolve"),
    Case("machine-unknown-account-id", machine("  - {account: '999999999999'}\n"),
         ("trusted by account '999999999999'", "not in the inventory"), "roles/deployer.yml:5", stage="resolve"),
    Case("machine-without-organization-id", machine("  - {account: Deployments}\n"),
         ("the organization's id is unknown", "orgiam.aws.organization inventory plugin"), "roles/deployer.yml", stage="resolve",
         organization_id=""),
    # -- identity.yml groups' own permissions in the central account -----------------------------------
    Case("group-policy-typo", identity("groups:\n  - name: ops\n    managed_policies: [SecurityAudt]\n"),
         ("field 'groups.0.managed_policies.0'", "did you mean 'SecurityAudit'"), "identity.yml:3"),
    Case("group-policy-bad-arn", identity("groups:\n  - name: ops\n    managed_policies: ['arn:aws:iam:policy/X']\n"),
         ("is not a policy ARN",), "identity.yml:3"),
    Case("group-too-many-managed", identity("groups:\n  - name: ops\n    grants: [{role: ReadOnly}]\n    managed_policies: ["
                                            + ", ".join(["ReadOnlyAccess", "ViewOnlyAccess", "SecurityAudit", "AdministratorAccess",
                                                         "PowerUserAccess", "IAMReadOnlyAccess", "AmazonS3ReadOnlyAccess",
                                                         "AmazonEC2ReadOnlyAccess", "AWSSupportAccess", "AmazonRDSReadOnlyAccess"]) + "]\n"),
         ("10 managed policies", "at most 10 to a group", "kept for the policy that lets it assume its roles", "keep at most 9"),
         "identity.yml:4"),
    Case("group-inline-unknown-action", identity("groups:\n  - name: ops\n    inline_policies:\n      logs: "
                                                 + json.dumps({"Statement": [allow(Action="logs:GetLogEventz", Resource="*")]}) + "\n"),
         ("field 'groups.0.inline_policies.logs.Statement.0.Action'", "did you mean 'logs:GetLogEvents'", "to the group"), "identity.yml:4"),
    Case("group-inline-not-action", identity("groups:\n  - name: ops\n    inline_policies:\n      most: "
                                             + json.dumps({"Statement": [allow(Action=None, NotAction="iam:*", Resource="*")]}) + "\n"),
         ("NotAction", "add 'waivers: [allow-not-action]' to the group"), "identity.yml:4"),
    Case("group-inline-too-large", identity("groups:\n  - name: ops\n    inline_policies:\n" + "".join(
        f"      p{i}: {json.dumps({'Statement': [allow(Resource=[f'arn:aws:s3:::bucket-{i}-{j:04d}/*' for j in range(60)])]})}\n"
        for i in range(3))), ("exceed IAM's 5120 characters for a group",), "identity.yml:4"),
    Case("group-waiver-unused", identity("groups:\n  - name: ops\n    waivers: [unknown-action]\n    managed_policies: [SecurityAudit]\n"),
         ("waiver 'unknown-action' waives nothing in this group's policies",), "identity.yml:3"),
    Case("group-inline-principal", identity("groups:\n  - name: ops\n    inline_policies:\n      p: "
                                            + json.dumps({"Statement": [allow(Principal="*")]}) + "\n"),
         ("cannot name a Principal",), "identity.yml:4"),
    Case("limits-group-assume-and-own-policies", {
        **identity("groups:\n  - name: wide\n    managed_policies: [ReadOnlyAccess, ViewOnlyAccess, SecurityAudit, AWSSupportAccess, "
                   "IAMReadOnlyAccess, AmazonS3ReadOnlyAccess, AmazonEC2ReadOnlyAccess, AmazonRDSReadOnlyAccess]\n"
                   "    grants: [{role: ReadOnly}]\n")},
         ("group 'wide' would need 3 assume-role policies", "and its own 8 (managed_policies)", "11 managed policies",
          "Split its grants"), "identity.yml:2", stage="limits", accounts=ORGANIZATION + [
             Account(f"3{i:011d}", f"Wide {i:03d}", "Workloads/Prod") for i in range(250)]),
    # -- identity.yml ----------------------------------------------------------------------------------
    Case("identity-unknown-key", identity("mode: iam_users\nshoe_size: 42\n"), ("unknown key 'shoe_size'",), "identity.yml:2"),
    Case("identity-mode", identity("mode: ldap\n"), ("'ldap' is not one of: iam_users, saml",), "identity.yml:1"),
    Case("identity-grant-unknown-role", identity("groups:\n  - name: ops\n    grants: [{role: ReadOnyl}]\n"),
         ("grants role 'ReadOnyl'", "did you mean 'ReadOnly'"), "identity.yml:3"),
    Case("identity-group-without-grants", identity("groups:\n  - name: ops\n"), ("group 'ops' gives nothing", "add grants",
                                                                                  "managed_policies / inline_policies"), "identity.yml:2"),
    Case("identity-group-empty-grants", identity("groups:\n  - name: ops\n    grants: []\n"), ("field 'groups.0.grants'", "the list is empty"), "identity.yml:3"),
    Case("identity-group-non-ascii", identity("groups:\n  - name: opérations\n    grants: [{role: ReadOnly}]\n"),
         ("field 'groups.0.name'", "U+00E9"), "identity.yml:2"),
    Case("identity-group-too-long", identity(f"groups:\n  - name: {'g' * 120}\n    grants: [{{role: ReadOnly}}]\n"),
         ("120 characters", "at most 118"), "identity.yml"),
    Case("identity-group-reserved", identity("groups:\n  - name: orgiam-users\n    grants: [{role: ReadOnly}]\n"),
         ("orgiam's own group of every user",), "identity.yml"),
    Case("identity-group-twice", identity("groups:\n  - {name: ops, grants: [{role: ReadOnly}]}\n  - {name: OPS, grants: [{role: ReadOnly}]}\n"),
         ("is used twice", "rename one"), "identity.yml:3"),
    Case("identity-group-collides-with-default", identity("groups:\n  - {name: orgiam-ReadOnly-Workloads, grants: [{role: ReadOnly}]}\n"),
         ("is used twice",), "identity.yml"),
    Case("identity-grant-scope-unknown-key", identity("groups:\n  - name: ops\n    grants: [{role: ReadOnly, scope: {tags: {a: b}}}]\n"),
         ("unknown key 'tags'",), "identity.yml:3"),
    Case("identity-user-unknown-group", identity("users:\n  - {name: carol, groups: [platform-engineer]}\n"),
         ("joins group 'platform-engineer'", "which does not exist"), "identity.yml:2"),
    Case("identity-user-twice", identity("users:\n  - {name: carol}\n  - {name: Carol}\n"), ("listed twice",), "identity.yml:3"),
    Case("identity-user-name-too-long", identity(f"users:\n  - {{name: {'u' * 65}}}\n"), ("field 'users.0.name'", "it has 65 characters; 1 to 64 allowed"), "identity.yml:2"),
    Case("identity-user-name-non-ascii", identity("users:\n  - {name: zoë}\n"), ("U+00EB",), "identity.yml:2"),
    Case("identity-user-eleven-groups", identity("users:\n  - {name: carol, groups: [" + ", ".join(f"g{i}" for i in range(11)) + "]}\n"),
         ("field 'users.0.groups'", "11 entries; at most 10"), "identity.yml:2"),
    Case("identity-user-console", identity("users:\n  - {name: carol, console: always}\n"), ("'always' is not one of",), "identity.yml:2"),
    Case("identity-user-tag-aws", identity("users:\n  - {name: carol, tags: {'aws:team': ops}}\n"), ("tag key 'aws:team'",), "identity.yml:2"),
    Case("identity-user-tags-too-many", identity("users:\n  - name: carol\n    " + tags(50).replace("\n  ", "\n      ")),
         ("50 tags", "keep at most 49"), "identity.yml:4"),
    Case("identity-saml-users", {**identity("mode: saml\nsaml: {provider_name: idp, metadata_file: idp.xml}\nusers: [{name: carol}]\n"),
                                 "idp.xml": METADATA}, ("users are not created in saml mode",), "identity.yml:3"),
    Case("identity-saml-no-section", identity("mode: saml\n"), ("needs a 'saml' section",), "identity.yml:1"),
    Case("identity-saml-missing-file", identity("mode: saml\nsaml: {provider_name: idp, metadata_file: idp.xml}\n"),
         ("cannot be read", "download it"), "identity.yml:2"),
    Case("identity-saml-not-metadata", {**identity("mode: saml\nsaml: {provider_name: idp, metadata_file: idp.xml}\n"),
                                        "idp.xml": "<html>login</html>"}, ("is not SAML metadata",), "identity.yml:2"),
    Case("identity-saml-short-metadata", {**identity("mode: saml\nsaml: {provider_name: idp, metadata_file: idp.xml}\n"),
                                          "idp.xml": "<EntityDescriptor/>"}, ("IAM takes 1000",), "identity.yml:2"),
    Case("identity-saml-metadata-not-utf8", {**identity("mode: saml\nsaml: {provider_name: idp, metadata_file: idp.xml}\n"),
                                             "idp.xml": (METADATA + "é").encode("latin-1")}, ("idp.xml", "not UTF-8"), "identity.yml:2"),
    Case("identity-saml-without-mode", {**identity("saml: {provider_name: idp, metadata_file: idp.xml}\n"), "idp.xml": METADATA},
         ("needs mode: saml",), "identity.yml:1"),
    Case("identity-saml-provider-name", {**identity("mode: saml\nsaml: {provider_name: 'my idp', metadata_file: idp.xml}\n"),
                                         "idp.xml": METADATA}, ("field 'saml.provider_name'",), "identity.yml:2"),
    Case("identity-not-utf8", {"identity.yml": "users:\n  - {name: jos\xe9}\n".encode("latin-1")}, ("not UTF-8",), "identity.yml:2"),
    Case("identity-alias-bomb", identity(bomb(7) + "mode: iam_users\n"), ("alias bomb",), "identity.yml"),
    Case("identity-ou-typo-shows-as-group", {"roles/readonly.yml": BASE["roles/readonly.yml"].replace("[Workloads]", "[Workload]")},
         ("targets OU path 'Workload'; did you mean 'Workloads'?", "orgiam-ReadOnly-Workloads", "Fix the OU path"), "roles/readonly.yml",
         note="the OU typo is named first, in the role file, not as a missing group"),
    Case("identity-default-group-too-long", {"roles/readonly.yml": BASE["roles/readonly.yml"].replace(
        "[Workloads]", f"[Workloads/{LONG_OU}/{LONG_OU}]")}, ("default group", "set default_groups: false"), "roles/readonly.yml"),
    # -- against the organization ----------------------------------------------------------------------
    Case("org-unknown-ou", {"roles/readonly.yml": BASE["roles/readonly.yml"].replace("[Workloads]", "[Workloads, Workloads/Prd]"),
                            "identity.yml": None},
         ("OU path 'Workloads/Prd'", "did you mean 'Workloads/Prod'?", "existing OU paths"), "roles/readonly.yml", stage="resolve"),
    Case("org-unknown-exclude-ou", extra_role(targets="targets: {ou_paths: [Workloads], exclude: {ou_paths: [Sandbx]}}"),
         ("OU path 'Sandbx'", "did you mean 'Sandbox'"), "roles/extra.yml", stage="resolve"),
    Case("org-unknown-account", extra_role(targets="targets: {accounts: [Payments Prd]}"),
         ("account 'Payments Prd'", "did you mean 'Payments Prod'?", "targets.accounts"), "roles/extra.yml", stage="resolve"),
    Case("org-unknown-excluded-account", extra_role(targets="targets: {ou_paths: [Workloads], exclude: {accounts: [Paymnts Dev]}}"),
         ("account 'Paymnts Dev'", "did you mean 'Payments Dev'", "targets.exclude.accounts"), "roles/extra.yml", stage="resolve"),
    Case("org-unknown-account-id", extra_role(targets="targets: {accounts: ['999999999999']}"),
         ("account '999999999999'", "not in the inventory"), "roles/extra.yml", stage="resolve"),
    Case("org-grant-scope-unknown-account", {"identity.yml": BASE["identity.yml"].replace("[Payments Prod]", "[Payments Prd]")},
         ("group 'payments-prod-readers' grants role 'ReadOnly' in account 'Payments Prd'", "did you mean 'Payments Prod'"),
         "identity.yml:12", stage="resolve"),
    Case("org-grant-scope-unknown-ou", identity("groups:\n  - name: ops\n    grants:\n      - role: ReadOnly\n"
                                                "        scope: {ou_paths: [Workloads/Prd]}\n"),
         ("in OU path 'Workloads/Prd'", "did you mean 'Workloads/Prod'"), "identity.yml:5", stage="resolve"),
    Case("org-central-misspelt", {"settings.yml": "central_account: Securty\n"}, ("central account 'Securty'", "did you mean 'Security'?"),
         "settings.yml", stage="resolve"),
    Case("org-central-suspended", {"settings.yml": "central_account: Legacy\n"}, ("central account 'Legacy' is SUSPENDED",), "settings.yml",
         stage="resolve"),
    Case("org-central-unknown-id", {"settings.yml": "central_account: '999999999999'\n"}, ("central account '999999999999'", "widen the filter"),
         "settings.yml", stage="resolve"),
    Case("org-big-unknown-account", extra_role(targets="targets: {accounts: [Team 0042 Prd]}"),
         ("did you mean 'Team 0042 Prod'?", "more)"), "roles/extra.yml", stage="resolve", accounts=BIG_ORGANIZATION,
         note="a listing of ten names and how many more, not a thousand"),
    Case("org-big-unknown-ou", extra_role(targets="targets: {ou_paths: [Team/Prod]}"),
         ("OU path 'Team/Prod'", "existing OU paths"), "roles/extra.yml", stage="resolve", accounts=BIG_ORGANIZATION),
    Case("org-host-unknown-role", {}, ("orgiam_roles_add/orgiam_roles_remove names role 'ReadOnyl'", "did you mean 'ReadOnly'"),
         "inventory host payments_dev", stage="resolve",
         accounts=[a if a.name != "Payments Dev" else Account(a.id, a.name, a.ou_path, hostname="payments_dev", roles_add=("ReadOnyl",))
                   for a in ORGANIZATION]),
    # -- CloudFormation's limits on the member template ------------------------------------------------
    Case("limits-body-without-bucket", many_roles(150), ("51,200", "set template_bucket", "account 'Log Archive' (000000000003)"),
         "settings.yml", stage="limits"),
    Case("limits-600-roles-resources", {**settings("template_bucket: orgiam-templates\n"), **many_roles(600)},
         ("600 roles", "over CloudFormation's 500", "Target fewer roles"), "roles/many.yml", stage="limits"),
    Case("limits-megabyte-with-bucket", {**settings("template_bucket: orgiam-templates\n"), **many_roles(
        300, lambda i: "    inline_policies:\n      p: " + json.dumps({"Statement": [allow(
            Resource=[f"arn:aws:s3:::bucket-{i}-{j}/{'k' * 330}/*" for j in range(10)])]}) + "\n")},
         ("over CloudFormation's 1,000,000 even through template_bucket",), "roles/many.yml", stage="limits"),
    Case("limits-policies-count-as-resources", {**settings("template_bucket: orgiam-templates\n"), **many_roles(
        260, lambda i: "    customer_managed_policies:\n      p: " + json.dumps({"Statement": [allow()]}) + "\n")},
         ("260 roles and 260 customer managed policies", "520 resources"), "roles/many.yml", stage="limits"),
]
