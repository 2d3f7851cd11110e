# -*- coding: utf-8 -*-
# Copyright: orgiam developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The central identity part of the catalog (``identity.yml``): who may assume which role.

Two modes:

* ``iam_users`` (default): IAM groups and users in the central account. By default
  there is one group per role and target scope (each entry of the role's
  ``targets``: an OU path, an account, the tag selector, the management account),
  named ``<prefix>-<Role>-<scope>``; explicit ``groups`` may combine grants. Users
  join groups, get a self-service policy to manage their own password and MFA
  device, never access keys, and a console password only when asked for
  (``console: reset_on_first_login``: CloudFormation generates it into Secrets
  Manager; nothing secret is in the repository or the logs).
* ``saml``: an identity provider (Active Directory federation, Okta, ...) instead of
  IAM users: a SAML provider and one federated role per group in the central
  account; member roles then trust those federated roles instead of requiring MFA
  (MFA is the identity provider's job, and a chained session carries no MFA flag).
* ``identity_center``: IAM Identity Center instead of the central account: each role for people becomes a
  permission set and each grant account assignments of an Identity Center group, found by its display name
  in the identity store (orgiam never creates groups or users there: they come from the identity source).
  One stack in the management account (or the delegated administrator) holds them; member accounts get no
  stack for people's roles (machine roles keep theirs). ``identity_center.keep_iam_users: true`` is the
  migration step from ``iam_users``: the IAM groups, users and member roles stay deployed beside the
  permission sets until people have moved (docs/operations.md, "Moving to Identity Center").
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from typing import Any

from .yamlsource import SourceDoc, SourceError, closest, decode_utf8, did_you_mean, listing

IDENTITY_MODES = ("iam_users", "saml", "identity_center")
IDENTITY_CENTER = "identity_center"
CONSOLE_CHOICES = ("none", "reset_on_first_login")
# IAM's names are [\w+=,.@-] with an ASCII \w; Python's \w (and so a JSON Schema pattern) takes any letter
IAM_NAME_CHARS = r"[A-Za-z0-9_+=,.@-]"
GROUP_NAME = rf"^{IAM_NAME_CHARS}{{1,128}}$"
USER_NAME = rf"^{IAM_NAME_CHARS}{{1,64}}$"
# a group's assume-role policies are named <group>-assume-<n>, n up to 10: the group name leaves room for it
MAX_GROUP_NAME = 128 - len("-assume-10")
MAX_GROUPS_PER_USER = 10  # IAM quota
PERMISSION_SET_NAME_MAX = 32  # Identity Center's limit; a permission set is named after its catalog role
SAML_METADATA_MIN, SAML_METADATA_MAX = 1000, 10_000_000  # IAM's bounds for SamlMetadataDocument
MAX_GROUP_MANAGED_POLICIES = 10  # IAM's default quota of managed policies attached to a group
GROUP_INLINE_MAX_CHARS = 5120  # all of a group's inline policies together (IAM's quota)
# the waivers a group's own policies may take: the same as a role's (loader.WAIVERS)
GROUP_WAIVERS = ("allow-not-action", "allow-not-resource", "unknown-action")

_scope_schema = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "ou_paths": {"type": "array", "items": {"type": "string", "minLength": 1}},
        "accounts": {"type": "array", "items": {"type": "string", "minLength": 1}},
    },
}

IDENTITY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "mode": {"enum": list(IDENTITY_MODES)},
        "default_groups": {"type": "boolean"},
        "groups": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name"],
                "properties": {
                    "name": {"type": "string", "pattern": GROUP_NAME},
                    "description": {"type": "string"},
                    # the group's own permissions in the central account (checked like a role's, in loader.py)
                    "managed_policies": {"type": "array", "items": {"type": "string", "minLength": 1}},
                    "inline_policies": {"type": "object", "additionalProperties": {"type": "object"}},
                    "waivers": {"type": "array", "uniqueItems": True, "items": {"enum": sorted(GROUP_WAIVERS)}},
                    "grants": {
                        "type": "array",
                        "minItems": 1,
                        "items": {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["role"],
                            "properties": {"role": {"type": "string", "minLength": 1}, "scope": _scope_schema},
                        },
                    },
                },
            },
        },
        "users": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name"],
                "properties": {
                    "name": {"type": "string", "pattern": USER_NAME},
                    "groups": {"type": "array", "items": {"type": "string"}, "maxItems": MAX_GROUPS_PER_USER},
                    "console": {"enum": list(CONSOLE_CHOICES)},
                    "tags": {"type": "object", "additionalProperties": {"type": "string", "maxLength": 256}},
                },
            },
        },
        "saml": {
            "type": "object",
            "additionalProperties": False,
            "required": ["provider_name", "metadata_file"],
            "properties": {
                "provider_name": {"type": "string", "pattern": r"^[A-Za-z0-9_.-]{1,128}$"},
                "metadata_file": {"type": "string", "minLength": 1},
                "max_session_duration": {"type": "integer", "minimum": 3600, "maximum": 43200},
            },
        },
        "identity_center": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                # found with sso-admin ListInstances when left out (an organization has one instance)
                "instance_arn": {"type": "string", "pattern": r"^arn:aws[a-z-]*:sso:::instance/(sso)?ins-[a-zA-Z0-9-.]{16}$"},
                # the AWS access portal URL people sign in at; left out: https://<identity store id>.awsapps.com/start
                "start_url": {"type": "string", "pattern": r"^https://\S+$"},
                # the region Identity Center lives in; left out: settings.yml home_region
                "region": {"type": "string", "pattern": r"^[a-z]{2}(-[a-z]+)+-\d$"},
                # the migration step from iam_users: keep the IAM groups, users and member roles deployed too
                "keep_iam_users": {"type": "boolean"},
            },
        },
    },
}


@dataclass(frozen=True)
class Scope:
    """Where a grant applies: accounts under these OU paths or named here; empty means everywhere.

    ``ou_paths`` holds (path, recursive) pairs.
    """

    ou_paths: tuple[tuple[str, bool], ...] = ()
    accounts: tuple[str, ...] = ()
    management: bool = False

    @property
    def everywhere(self) -> bool:
        return not (self.ou_paths or self.accounts or self.management)


@dataclass(frozen=True)
class Grant:
    role: str
    scope: Scope = Scope()
    source: str = field(default="", compare=False)  # file:line of the grant, for errors about its scope


@dataclass(frozen=True)
class GroupDef:
    name: str
    grants: tuple[Grant, ...]
    source: str = ""
    description: str = ""
    default: bool = False
    # the group's own permissions in the central account: AWS managed names or policy ARNs, and name -> canonical JSON
    managed_policies: tuple[str, ...] = ()
    inline_policies: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class UserDef:
    name: str
    groups: tuple[str, ...] = ()
    console: str = "none"
    tags: tuple[tuple[str, str], ...] = ()
    source: str = ""


@dataclass(frozen=True)
class SamlDef:
    provider_name: str
    metadata_file: str
    metadata: str
    max_session_duration: int = 3600


@dataclass(frozen=True)
class IdentityCenterDef:
    instance_arn: str = ""
    start_url: str = ""
    region: str = ""
    keep_iam_users: bool = False


@dataclass(frozen=True)
class Identity:
    mode: str = "iam_users"
    default_groups: bool = True
    groups: tuple[GroupDef, ...] = ()
    users: tuple[UserDef, ...] = ()
    saml: SamlDef | None = None
    source: str = ""
    machine_roles: tuple[str, ...] = ()  # roles trusted by machines (trusted_by): no group, nothing in the central stack
    identity_center: IdentityCenterDef | None = None

    @property
    def iam_mode(self) -> str:
        """How people reach member roles through IAM: iam_users or saml; "" when only Identity Center gives access
        (then member stacks hold machine roles alone and there is no central stack)."""
        if self.mode != IDENTITY_CENTER:
            return self.mode
        return "iam_users" if self.identity_center is not None and self.identity_center.keep_iam_users else ""

    @property
    def uses_identity_center(self) -> bool:
        return self.mode == IDENTITY_CENTER


@dataclass
class IdentityInput:
    """identity.yml as loaded, before roles are known (group defaults need the roles)."""

    doc: SourceDoc | None
    data: dict[str, Any] = field(default_factory=dict)
    # index of a group in ``groups`` -> its inline policies, checked and in canonical JSON (loader.py)
    group_inline: dict[int, tuple[tuple[str, str], ...]] = field(default_factory=dict)


def scope_label(text: str) -> str:
    """'Workloads/Prod' -> 'Workloads-Prod'; keeps what IAM allows in a group name."""
    return re.sub(r"[^A-Za-z0-9_+=,.@-]+", "-", text).strip("-") or "all"


def default_groups_for(role: Any, prefix: str) -> list[GroupDef]:
    """One group per target entry of the role: an OU path, an account, the tags, the management account.

    None for a role trusted by machines (``trusted_by``): no person assumes it."""
    if getattr(role, "trusted_by", ()):
        return []
    groups = []
    for target in role.include.ou_paths:
        groups.append((scope_label(target.path), Scope(ou_paths=((target.path, target.recursive),))))
    for ref in role.include.accounts:
        groups.append((scope_label(ref), Scope(accounts=(ref,))))
    if role.include.tags:
        groups.append(("tagged", Scope()))  # everywhere the role is: the tag selector decided where that is
    if role.management_account:
        groups.append(("management", Scope(management=True)))
    seen: set[str] = set()
    result = []
    for label, scope in groups:
        name = f"{prefix}-{role.name}-{label}"  # never cut: build_identity refuses one over MAX_GROUP_NAME
        if name in seen:
            continue
        seen.add(name)
        result.append(GroupDef(name, (Grant(role.name, scope),), source=role.source, default=True,
                               description=f"may assume {role.name} in {label}"))
    return result


def _missing_default_group(group_name: str, roles: list[Any], prefix: str, who: str) -> SourceError | None:
    """A group named like a role's default group that the role does not make: most often a typo in the role's targets.

    The OU path (or account) in the role file is named first, with a suggestion, since that is where the fix usually is.
    """
    for role in roles:
        head = f"{prefix}-{role.name}-"
        if not group_name.lower().startswith(head.lower()):
            continue
        wanted = group_name[len(head):]
        made = default_groups_for(role, prefix)
        entries = [(scope_label(t.path), "OU path", t.path, "targets.ou_paths") for t in role.include.ou_paths]
        entries += [(scope_label(a), "account", a, "targets.accounts") for a in role.include.accounts]
        near = closest(wanted, [label for label, *_ in entries], n=1, cutoff=0.5)
        made_names = ", ".join(g.name for g in made[:10]) or "(none)"
        if near:
            _, kind, written, field_path = next(e for e in entries if e[0] == near[0])
            return SourceError(
                role.source, f"role '{role.name}' targets {kind} '{written}'; did you mean '{wanted}'? {who} joins group "
                f"'{group_name}', the default group {kind} '{wanted}' would give, but as written the role's default groups are: "
                f"{made_names}. Fix the {kind} in the role file, or the group name in identity.yml", field_path=field_path)
        return SourceError(
            role.source, f"{who} joins group '{group_name}', which role '{role.name}' does not make: it targets no "
            f"'{wanted}'; its default groups are: {made_names}. Add '{wanted}' to the role's targets, or fix the group name",
            field_path="targets")
    return None


def build_identity(inp: IdentityInput, roles: list[Any], prefix: str, catalog_dir: str,
                   declared: set[str] | None = None) -> tuple[Identity, list[SourceError]]:
    """Groups (default and explicit), users and SAML, with every reference checked.

    ``declared``: every role name the role files give, also of roles refused for another problem; naming one
    of those is not reported again here (the role's own problem is the one to fix).
    """
    refused = {name for name in (declared or set()) if name not in {r.name for r in roles}}
    doc, data = inp.doc, inp.data
    file = doc.file if doc else "identity.yml"

    def line(*path: Any) -> int | None:
        return doc.line_of(tuple(path)) if doc else None

    problems: list[SourceError] = []
    role_names = {r.name for r in roles}
    machines = {r.name: r for r in roles if getattr(r, "trusted_by", ())}
    mode = data.get("mode", "iam_users")
    center = data.get("identity_center") or {}
    keep_iam = mode == IDENTITY_CENTER and bool(center.get("keep_iam_users"))
    # Identity Center groups come from the identity source, so default groups are asked for, not assumed
    # (during the migration from iam_users they stay as they were)
    default_groups = bool(data.get("default_groups", mode != IDENTITY_CENTER or keep_iam))
    groups: list[GroupDef] = []
    if default_groups:
        for role in roles:
            groups.extend(default_groups_for(role, prefix))
    for index, entry in enumerate(data.get("groups", [])):
        grants = []
        for g_index, grant in enumerate(entry.get("grants", [])):
            if grant["role"] not in role_names and grant["role"] not in refused:
                problems.append(SourceError(
                    file, f"group '{entry['name']}' grants role '{grant['role']}', which the catalog does not define; "
                    f"known roles: {listing(grant['role'], role_names)}{did_you_mean(grant['role'], role_names)}",
                    line("groups", index, "grants", g_index, "role"), f"groups.{index}.grants.{g_index}.role"))
            elif grant["role"] in machines:
                problems.append(SourceError(
                    file, f"group '{entry['name']}' grants role '{grant['role']}', which is trusted by machines "
                    f"(trusted_by in {machines[grant['role']].source}), not people: no group of the central account can "
                    "assume it. Remove the grant, or define a separate role for people",
                    line("groups", index, "grants", g_index, "role"), f"groups.{index}.grants.{g_index}.role"))
            scope = grant.get("scope") or {}
            ou_scope = tuple((p.strip("/"), True) for p in scope.get("ou_paths", []))
            where = f"{file}:{line('groups', index, 'grants', g_index, 'scope') or line('groups', index, 'grants', g_index) or 1}"
            grants.append(Grant(grant["role"], Scope(ou_scope, tuple(scope.get("accounts", []))), where))
        managed = tuple(entry.get("managed_policies", []))
        inline = inp.group_inline.get(index, ())
        if not grants and not managed and not entry.get("inline_policies"):
            problems.append(SourceError(
                file, f"group '{entry['name']}' gives nothing: add grants (roles its members may assume in the member "
                "accounts), or managed_policies / inline_policies (what they may do in the central account)",
                line("groups", index, "name"), f"groups.{index}"))
        groups.append(GroupDef(entry["name"], tuple(grants), f"{file}:{line('groups', index, 'name') or 1}", entry.get("description", ""),
                               managed_policies=managed, inline_policies=inline))
    by_name = {g.name.lower(): i for i, g in enumerate(groups) if not g.default}
    for role in roles:
        for group_name in role.assumable_by:
            index = by_name.get(group_name.lower())
            if index is None:
                problems.append(SourceError(
                    role.source, f"role '{role.name}' is assumable_by group '{group_name}', which identity.yml does not define; "
                    "add it under groups (or use the default groups)", field_path="assumable_by"))
                continue
            groups[index] = replace(groups[index], grants=groups[index].grants + (Grant(role.name),))
    names: dict[str, GroupDef] = {}
    for group in groups:
        if group.name.lower() in names:
            problems.append(SourceError(group.source or file, f"group name '{group.name}' is used twice (also "
                                        f"{names[group.name.lower()].source}); rename one", field_path="groups"))
        names[group.name.lower()] = group
        if group.name.lower() == f"{prefix}-users".lower():
            problems.append(SourceError(group.source or file, f"group name '{group.name}' is orgiam's own group of every user "
                                        "(self-service: password and MFA); choose another name", field_path="groups"))
        if len(group.name) > MAX_GROUP_NAME:
            if group.default:
                problems.append(SourceError(
                    group.source or file, f"the default group '{group.name[:50]}...' of role '{group.grants[0].role}' would have "
                    f"{len(group.name)} characters; IAM's 128 leave {MAX_GROUP_NAME} for a group name (its policies are named "
                    "<group>-assume-<n>): shorten the role name or the target, or set default_groups: false in identity.yml "
                    "and define the group under groups", field_path="targets"))
            else:
                problems.append(SourceError(
                    group.source or file, f"group name '{group.name[:50]}...' has {len(group.name)} characters; at most "
                    f"{MAX_GROUP_NAME} (IAM's 128 less '-assume-10' for its policies)", field_path="groups"))
    users = []
    seen_users: set[str] = set()
    for index, entry in enumerate(data.get("users", [])):
        if mode == "saml":
            problems.append(SourceError(file, "users are not created in saml mode; people come from the identity provider. Remove 'users' or set mode: iam_users",
                                        line("users"), "users"))
            break
        if mode == IDENTITY_CENTER and not keep_iam:
            problems.append(SourceError(
                file, "users are not created in identity_center mode; people and their groups come from Identity Center's "
                "identity source. Remove 'users' (or, while moving from iam_users, set identity_center.keep_iam_users: true)",
                line("users"), "users"))
            break
        for g_index, group_name in enumerate(entry.get("groups", [])):
            if group_name.lower() not in names and not any(group_name.lower().startswith(f"{prefix}-{r}-".lower()) for r in refused):
                where = line("users", index, "groups", g_index)
                machine = next((m for m in machines.values() if group_name.lower().startswith(f"{prefix}-{m.name}-".lower())), None)
                if machine is not None:
                    problems.append(SourceError(
                        file, f"user '{entry['name']}' joins group '{group_name}', but role '{machine.name}' is trusted by "
                        f"machines (trusted_by in {machine.source}), not people: it has no group in the central account. "
                        "Remove the group from the user, or define a separate role for people", where,
                        f"users.{index}.groups.{g_index}"))
                    continue
                explained = _missing_default_group(group_name, roles, prefix, f"user '{entry['name']}' ({file}:{where or 1})")
                problems.append(explained or SourceError(
                    file, f"user '{entry['name']}' joins group '{group_name}', which does not exist; "
                    f"groups: {listing(group_name, (g.name for g in groups))}{did_you_mean(group_name, (g.name for g in groups))}",
                    where, f"users.{index}.groups.{g_index}"))
        if entry["name"].lower() in seen_users:
            problems.append(SourceError(file, f"user '{entry['name']}' is listed twice; keep one", line("users", index, "name"), f"users.{index}.name"))
        seen_users.add(entry["name"].lower())
        users.append(UserDef(entry["name"], tuple(entry.get("groups", [])), entry.get("console", "none"),
                             tuple(sorted((entry.get("tags") or {}).items())), f"{file}:{line('users', index, 'name') or 1}"))
    saml = None
    if mode == "saml":
        spec = data.get("saml")
        if not spec:
            problems.append(SourceError(file, "mode saml needs a 'saml' section with provider_name and metadata_file", line("mode"), "saml"))
        else:
            path = os.path.join(catalog_dir, spec["metadata_file"])
            try:
                with open(path, "rb") as handle:
                    metadata = decode_utf8(handle.read(), spec["metadata_file"])
            except OSError:
                problems.append(SourceError(file, f"SAML metadata file {spec['metadata_file']} (relative to the catalog) cannot be read; "
                                            "download it from your identity provider", line("saml", "metadata_file"), "saml.metadata_file"))
                metadata = ""
            except SourceError as exc:
                problems.append(SourceError(file, f"SAML metadata file {spec['metadata_file']}: {exc.message}",
                                            line("saml", "metadata_file"), "saml.metadata_file"))
                metadata = ""
            if metadata and "EntityDescriptor" not in metadata:
                problems.append(SourceError(file, f"{spec['metadata_file']} is not SAML metadata (no EntityDescriptor)",
                                            line("saml", "metadata_file"), "saml.metadata_file"))
            elif metadata and not SAML_METADATA_MIN <= len(metadata) <= SAML_METADATA_MAX:
                problems.append(SourceError(
                    file, f"{spec['metadata_file']} has {len(metadata)} characters; IAM takes {SAML_METADATA_MIN} to "
                    f"{SAML_METADATA_MAX}: download your IdP's full metadata, signing certificate included",
                    line("saml", "metadata_file"), "saml.metadata_file"))
            saml = SamlDef(spec["provider_name"], spec["metadata_file"], metadata, int(spec.get("max_session_duration", 3600)))
    elif data.get("saml"):
        problems.append(SourceError(file, "a 'saml' section needs mode: saml", line("saml"), "saml"))
    center_def = None
    if mode == IDENTITY_CENTER:
        center_def = IdentityCenterDef(str(center.get("instance_arn", "")), str(center.get("start_url", "")),
                                       str(center.get("region", "")), keep_iam)
        problems += _identity_center_problems(groups, roles, file, keep_iam)
    elif center:
        problems.append(SourceError(file, "an 'identity_center' section needs mode: identity_center", line("identity_center"),
                                    "identity_center"))
    return Identity(mode, default_groups, tuple(groups), tuple(users), saml, file,
                    tuple(sorted(machines)), center_def), problems


def _identity_center_problems(groups: list[GroupDef], roles: list[Any], file: str, keep_iam: bool) -> list[SourceError]:
    """What Identity Center cannot take: a permission set name over 32 characters, a group's own central
    permissions (there is no central account for them, unless the IAM users are kept)."""
    problems = []
    for role in roles:
        if not getattr(role, "trusted_by", ()) and len(role.name) > PERMISSION_SET_NAME_MAX:
            problems.append(SourceError(
                role.source, f"role '{role.name}' has {len(role.name)} characters; in identity_center mode it becomes a "
                f"permission set of the same name, and Identity Center takes at most {PERMISSION_SET_NAME_MAX}: shorten it",
                field_path="name"))
    if keep_iam:
        return problems
    if any(g.default for g in groups):
        problems.append(SourceError(
            file, "default_groups: true makes IAM groups named orgiam-<Role>-<scope>; in identity_center mode people's "
            "groups are Identity Center's: name them under groups (with their grants) and remove default_groups "
            "(or, while moving from iam_users, set identity_center.keep_iam_users: true)", field_path="default_groups"))
    for group in (g for g in groups if not g.default):
        if group.managed_policies or group.inline_policies:
            problems.append(SourceError(
                group.source or file, f"group '{group.name}' has managed_policies or inline_policies (permissions in the "
                "central account); in identity_center mode there is no central IAM group to hold them: give them as a "
                "role's policies instead", field_path="groups"))
    return problems
