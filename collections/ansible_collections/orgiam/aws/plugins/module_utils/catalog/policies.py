# -*- coding: utf-8 -*-
# Copyright: orgiam developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Organization policies of the catalog: ``roles_catalog/policies/*.yml``, checked without AWS.

One file holds one policy::

    name: deny-all-suspended                  # the policy's name in Organizations
    kind: service_control                     # or resource_control
    description: Nothing runs in a suspended account.
    document: {Version: "2012-10-17", Statement: [...]}   # or document_file: deny-all.json (next to it)
    targets:
      ou_paths: [Suspended]                   # attached to the OU itself (its accounts and child OUs inherit)
      accounts: [Legacy App]                  # names or ids
      root: false                             # the organization's root
    exclude:
      accounts: [...]                         # never attached to these accounts (or OUs: ou_paths)
    waive: [denies_orgiam]                    # checks this policy is known to fail, on purpose

What is checked here (file, line, field and fix for each): the fields; the document (JSON, a
``Statement``, at most 5,120 characters once whitespace is removed, as Organizations counts); the name
(unique per kind); a Deny that would stop orgiam from managing the organization (``sts:AssumeRole`` of its
roles, CloudFormation, IAM under its path), unless waived with ``denies_orgiam``; an allow-list SCP (an
Allow of less than everything), which works only where ``FullAWSAccess`` has been detached and then
leaves the target with what it allows alone, unless waived with ``allow_list``. Where the targets are
(OU paths and accounts of the organization) and how many policies each gets (at most 5 per target with
AWS's own ``FullAWSAccess``/``RCPFullAWSAccess``) is checked by :func:`policy_targets`, with the
inventory, still before any AWS call.
"""

from __future__ import annotations

import fnmatch
import json
import os
from dataclasses import dataclass
from typing import Any

from .loader import _schema_problems, catalog_files  # the catalog's schema messages and files
from .yamlsource import SourceError, load_yaml_file

KINDS = {"service_control": "SERVICE_CONTROL_POLICY", "resource_control": "RESOURCE_CONTROL_POLICY"}
FULL_ACCESS = {"service_control": "FullAWSAccess", "resource_control": "RCPFullAWSAccess"}
MAX_CONTENT = 5120  # characters, whitespace removed (Organizations' limit for SCPs and RCPs)
MAX_PER_TARGET = 5  # policies of one kind attached to one root, OU or account, AWS's own included
WAIVERS = ("denies_orgiam", "allow_list")
NAME_PATTERN = r"^[\w+=,.@-]{1,128}$"

POLICY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "kind", "targets"],
    "properties": {
        "name": {"type": "string", "pattern": NAME_PATTERN},
        "kind": {"enum": sorted(KINDS)},
        "description": {"type": "string", "maxLength": 512},
        "document": {"type": "object"},
        "document_file": {"type": "string", "pattern": r"^[A-Za-z0-9_.-]+\.json$"},
        "targets": {"$ref": "#/$defs/targets"},
        "exclude": {"$ref": "#/$defs/targets"},
        "waive": {"type": "array", "items": {"enum": list(WAIVERS)}, "uniqueItems": True},
    },
    "$defs": {
        "targets": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "ou_paths": {"type": "array", "items": {"type": "string", "minLength": 1}},
                "accounts": {"type": "array", "items": {"type": "string", "minLength": 1}},
                "root": {"type": "boolean"},
            },
        },
    },
}

# what orgiam's own runs do in an account: a Deny that reaches one of these (on orgiam's roles, stacks or
# path) stops orgiam from managing the organization
ORGIAM_ACTIONS = ("sts:AssumeRole", "cloudformation:CreateStack", "cloudformation:UpdateStack",
                  "cloudformation:DescribeStacks", "iam:CreateRole", "iam:PutRolePolicy", "iam:UpdateAssumeRolePolicy",
                  "organizations:ListAccounts")
ORGIAM_RESOURCES = ("arn:aws:iam::111122223333:role/orgiam/orgiam-deployer",
                    "arn:aws:cloudformation:us-east-1:111122223333:stack/orgiam-roles/x",
                    "arn:aws:iam::111122223333:role/orgiam/ReadOnly")
ORGIAM_PRINCIPAL = "arn:aws:iam::111122223333:role/orgiam/orgiam-deployer"


@dataclass(frozen=True)
class PolicyTargets:
    ou_paths: tuple[str, ...] = ()
    accounts: tuple[str, ...] = ()
    root: bool = False


@dataclass(frozen=True)
class OrgPolicy:
    name: str
    kind: str  # service_control | resource_control
    document: dict[str, Any]
    targets: PolicyTargets
    exclude: PolicyTargets = PolicyTargets()
    description: str = ""
    waive: tuple[str, ...] = ()
    source: str = ""  # file:line, for messages

    @property
    def policy_type(self) -> str:
        return KINDS[self.kind]

    @property
    def content(self) -> str:
        """The document as Organizations counts it: no whitespace."""
        return json.dumps(self.document, separators=(",", ":"), sort_keys=True)


def _targets(data: dict[str, Any] | None) -> PolicyTargets:
    data = data or {}
    return PolicyTargets(tuple(data.get("ou_paths") or ()), tuple(str(a) for a in data.get("accounts") or ()),
                         bool(data.get("root", False)))


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value] if value is not None else []


def _matches_any(patterns: list[Any], value: str) -> bool:
    return any(fnmatch.fnmatchcase(value.lower(), str(p).lower()) for p in patterns)


def _exempts_orgiam(condition: Any) -> bool:
    """Whether a Deny's condition leaves orgiam's roles out (aws:PrincipalArn not like .../orgiam/...)."""
    if not isinstance(condition, dict):
        return False
    for operator, block in condition.items():
        if not isinstance(block, dict) or not str(operator).lower().replace("ifexists", "") in (
                "arnnotlike", "arnnotequals", "stringnotlike", "stringnotequals"):
            continue
        for key, values in block.items():
            if str(key).lower() == "aws:principalarn" and _matches_any(_listed(values), ORGIAM_PRINCIPAL):
                return True
    return False


def denies_orgiam(document: dict[str, Any]) -> str:
    """The first of orgiam's own actions a Deny of ``document`` reaches, or ''."""
    for statement in _listed(document.get("Statement")):
        if not isinstance(statement, dict) or statement.get("Effect") != "Deny":
            continue
        if _exempts_orgiam(statement.get("Condition")):
            continue
        for action in ORGIAM_ACTIONS:
            if "NotAction" in statement:
                reached = not _matches_any(_listed(statement["NotAction"]), action)
            else:
                reached = _matches_any(_listed(statement.get("Action")), action)
            if not reached:
                continue
            if "NotResource" in statement:
                on_orgiam = any(not _matches_any(_listed(statement["NotResource"]), r) for r in ORGIAM_RESOURCES)
            else:
                on_orgiam = any(_matches_any(_listed(statement.get("Resource", "*")), r) for r in ORGIAM_RESOURCES)
            if on_orgiam:
                return action
    return ""


def allow_list(document: dict[str, Any]) -> bool:
    """Whether an SCP allows less than everything (an allow list, not a deny list)."""
    for statement in _listed(document.get("Statement")):
        if isinstance(statement, dict) and statement.get("Effect") == "Allow":
            if _listed(statement.get("Action")) != ["*"] or "NotAction" in statement:
                return True
    return False


def _policy_from(doc: Any, path: str, display: str, data: dict[str, Any]) -> tuple[OrgPolicy | None, list[SourceError]]:
    problems: list[SourceError] = []

    def problem(message: str, field: str) -> None:
        problems.append(SourceError(display, message, doc.line_of((field.split(".")[0],)), field))

    document = data.get("document")
    if ("document" in data) == ("document_file" in data):
        problem("give the policy document either inline (document) or as a JSON file next to this one "
                "(document_file), not both and not neither", "document")
        return None, problems
    if "document_file" in data:
        file = os.path.join(os.path.dirname(path), data["document_file"])
        try:
            with open(file, encoding="utf-8") as handle:
                document = json.load(handle)
        except OSError:
            problem(f"{data['document_file']} does not exist next to {os.path.basename(path)}; add it or fix the name",
                    "document_file")
            return None, problems
        except ValueError as exc:
            problem(f"{data['document_file']} is not valid JSON ({exc}); fix the file", "document_file")
            return None, problems
    if not isinstance(document, dict) or not _listed(document.get("Statement")):
        problem("the policy document needs a Statement (a list of statements with Effect, Action, Resource)",
                "document")
        return None, problems
    policy = OrgPolicy(
        name=data["name"], kind=data["kind"], document=document, targets=_targets(data.get("targets")),
        exclude=_targets(data.get("exclude")), description=data.get("description", ""),
        waive=tuple(data.get("waive") or ()), source=f"{display}:{doc.line_of(('name',)) or 1}",
    )
    size = len(policy.content)
    if size > MAX_CONTENT:
        problem(f"the policy is {size} characters without whitespace; Organizations takes at most {MAX_CONTENT}: "
                "split it into two policies, or shorten it (wildcards in actions, fewer statements)",
                "document_file" if "document_file" in data else "document")
    t = policy.targets
    if not (t.ou_paths or t.accounts or t.root):
        problem("the policy has no target: give ou_paths, accounts or root: true", "targets")
    denied = denies_orgiam(document)
    if denied and "denies_orgiam" not in policy.waive:
        problem(f"a Deny of this policy reaches {denied} on orgiam's own roles or stacks, which would stop orgiam "
                "from managing the accounts it targets: exempt orgiam's roles with the condition "
                "ArnNotLike aws:PrincipalArn arn:aws:iam::*:role/orgiam/*, or, if that is meant, add "
                "'waive: [denies_orgiam]'", "document")
    if policy.kind == "service_control" and allow_list(document) and "allow_list" not in policy.waive:
        problem("this SCP allows less than everything (an allow list): it takes effect only where FullAWSAccess is "
                "detached, and a target without FullAWSAccess keeps only what it allows; orgiam never detaches "
                "FullAWSAccess. Write it as a Deny list, or, if that is meant, add 'waive: [allow_list]'", "document")
    return policy, problems


def load_policies(directory: str, display_of: Any) -> tuple[tuple[OrgPolicy, ...], list[SourceError]]:
    """Every policy of ``directory``/policies/*.yml (none: an empty tuple), and the problems found."""
    problems: list[SourceError] = []
    policies: list[OrgPolicy] = []
    seen: dict[tuple[str, str], str] = {}
    for path in catalog_files(directory, "policies"):
        display = display_of(path)
        try:
            doc = load_yaml_file(path, display)
        except SourceError as exc:
            problems.append(exc)
            continue
        if not isinstance(doc.data, dict):
            problems.append(SourceError(display, "the file must hold one policy (name, kind, document, targets)"))
            continue
        found = _schema_problems(doc, POLICY_SCHEMA)
        if found:
            problems.extend(found)
            continue
        policy, found = _policy_from(doc, path, display, doc.data)
        problems.extend(found)
        if policy is None:
            continue
        key = (policy.kind, policy.name.lower())
        if key in seen:
            problems.append(SourceError(display, f"policy '{policy.name}' is already defined at {seen[key]}; rename one",
                                        doc.line_of(("name",)), "name"))
            continue
        seen[key] = policy.source
        policies.append(policy)
    return tuple(policies), problems


@dataclass(frozen=True)
class Placement:
    """Where each policy goes: its target ids, and the names people know them by."""

    targets: dict[str, tuple[str, ...]]  # policy name -> sorted target ids
    names: dict[str, str]  # target id -> "root", an OU path or an account name


def policy_targets(policies: tuple[OrgPolicy, ...], root_id: str, ou_ids: dict[str, str],
                   accounts: list[Any]) -> tuple[Placement, list[SourceError]]:
    """Target ids of every policy, from the inventory's OU ids and accounts; each unknown target and each
    target over AWS's limit is a problem (no AWS call)."""
    problems: list[SourceError] = []
    by_path = {path.strip("/").lower(): (path.strip("/"), ou_id) for path, ou_id in ou_ids.items()}
    by_account = {}
    for account in accounts:
        by_account[account.id] = account
        by_account[account.name.lower()] = account
    names: dict[str, str] = {root_id: "root"} if root_id else {}
    placed: dict[str, tuple[str, ...]] = {}
    counts: dict[tuple[str, str], list[str]] = {}

    def ids_of(policy: OrgPolicy, targets: PolicyTargets, field: str) -> set[str]:
        found: set[str] = set()
        if targets.root:
            found.add(root_id)
        for path in targets.ou_paths:
            hit = by_path.get(path.strip("/").lower())
            if hit is None:
                problems.append(SourceError(policy.source, f"OU path '{path}' is not an OU of the organization; "
                                            f"known: {', '.join(sorted(p for p, _ in by_path.values())[:12])}",
                                            field_path=f"{field}.ou_paths"))
                continue
            names[hit[1]] = hit[0]
            found.add(hit[1])
        for reference in targets.accounts:
            account = by_account.get(reference) or by_account.get(reference.lower())
            if account is None:
                problems.append(SourceError(policy.source, f"account '{reference}' is not an account of the "
                                            "organization (name or 12-digit id)", field_path=f"{field}.accounts"))
                continue
            names[account.id] = account.name
            found.add(account.id)
        return found

    for policy in policies:
        ids = sorted(ids_of(policy, policy.targets, "targets") - ids_of(policy, policy.exclude, "exclude"))
        placed[policy.name] = tuple(ids)
        for target in ids:
            counts.setdefault((policy.kind, target), []).append(policy.name)
    for (kind, target), names_there in sorted(counts.items()):
        if len(names_there) + 1 > MAX_PER_TARGET:
            problems.append(SourceError(
                next(p.source for p in policies if p.name == names_there[0]),
                f"{names.get(target, target)} would have {len(names_there)} {kind} policies of the catalog "
                f"({', '.join(names_there)}) and AWS's {FULL_ACCESS[kind]}: Organizations attaches at most "
                f"{MAX_PER_TARGET} to one target; merge some, or attach them to a parent OU", field_path="targets"))
    return Placement(placed, names), problems
