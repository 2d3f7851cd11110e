# -*- coding: utf-8 -*-
# Copyright: orgiam developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The catalog: what roles exist, where they go, and who in the central account may use them.

Layout of a catalog directory::

    settings.yml        central account, deploy role, stack names, prune policy, concurrency
    roles/*.yml         one role per file (a file may also hold a list under ``roles:``)
    identity.yml        optional: central groups, users, or a SAML provider (see identity.py)

Every file is checked against a JSON Schema (jsonschema) and then by semantic
checks that need no AWS call. Every error names the file, the line, the field
and what to do. Loading never touches AWS.
"""

from __future__ import annotations

import difflib
import fnmatch
import functools
import glob
import hashlib
import json
import os
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from .managed_policies import AWS_MANAGED_POLICY_PATHS, POLICY_LIST
from .identity import (
    GROUP_INLINE_MAX_CHARS,
    GROUP_WAIVERS,
    IAM_NAME_CHARS,
    IDENTITY_SCHEMA,
    MAX_GROUP_MANAGED_POLICIES,
    Identity,
    IdentityInput,
    build_identity,
)
from .trusted import ACCOUNT_ID, TrustedPrincipal, role_pattern_problem, service_problem
from .yamlsource import SourceDoc, SourceError, closest, did_you_mean, load_yaml_file

try:
    import jsonschema

    HAS_JSONSCHEMA = True
except ImportError:  # pragma: no cover
    HAS_JSONSCHEMA = False

IAM_NAME = rf"^{IAM_NAME_CHARS}+$"  # IAM's [\w+=,.@-] where \w is ASCII only (Python's \w is not)
POLICY_ARN = rf"^arn:aws[a-z-]*:iam::(aws|\d{{12}}):policy/([\x21-\x7E]*/)?{IAM_NAME_CHARS}{{1,128}}$"
MAX_POLICY_NAME = 128  # a customer managed policy's name, as created: <Role>-<name>
# IAM's pattern for a role description: tab, line feed, carriage return, printable ASCII and Latin-1
ROLE_DESCRIPTION = re.compile(r"[\t\n\r\x20-\x7E\xA1-\xFF]*")
MAX_DESCRIPTION = 1000
MAX_ROLE_TAGS = 50  # IAM's limit of tags on a role (and a user); orgiam adds one, orgiam:managed-by
MAX_TAG_KEY, MAX_TAG_VALUE = 128, 256
RESERVED_TAG_PREFIXES = ("aws:", "orgiam:")  # AWS's own, and orgiam's (orgiam:managed-by on every role)
# names orgiam or AWS gives roles: the catalog may not define them (see _reserved_name_problem)
RESERVED_ROLE_NAMES = ("OrganizationAccountAccessRole",)
RESERVED_ROLE_PREFIXES = ("orgiam-", "AWSServiceRoleFor", "AWSReservedSSO_")
MANAGED_POLICY_MAX_CHARS = 6144  # one managed policy document, whitespace not counted
ROLE_INLINE_MAX_CHARS = 10240  # all of a role's inline policies together
IAM_PATH = r"^/(?:[\x21-\x7E]+/)?$"
PRUNE_POLICIES = ("never", "plan", "apply")
ENGINES = ("stacks", "stacksets")  # settings.yml engine: see docs/catalog.md
# What a role's ``waivers`` may waive in its policies: each is refused unless the role waives it.
WAIVERS = {
    "allow-not-action": "an Allow statement with NotAction (it allows every action not listed, also those AWS adds later)",
    "allow-not-resource": "an Allow statement with NotResource (it allows every resource not listed)",
    "unknown-action": "actions or services that the IAM data of orgiam's policy checker (parliament) does not know yet",
}
assert set(GROUP_WAIVERS) == set(WAIVERS), "identity.yml groups take the waivers roles take"
MAX_ROLE_NAME = 64
MAX_PATH = 512
DEFAULT_ROLE_PATH = "/orgiam/"

_string_list = {"type": "array", "items": {"type": "string", "minLength": 1}}
_tag_selector = {
    "type": "object",
    "additionalProperties": {
        "oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}, "minItems": 1}]
    },
}
_ou_path_entry = {
    "oneOf": [
        {"type": "string", "minLength": 1},
        {
            "type": "object",
            "additionalProperties": False,
            "required": ["path"],
            "properties": {"path": {"type": "string", "minLength": 1}, "recursive": {"type": "boolean"}},
        },
    ]
}
_selector_props = {
    "ou_paths": {"type": "array", "items": _ou_path_entry},
    "accounts": _string_list,
    "tags": _tag_selector,
}

_trusted_entry = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "account": {"type": "string", "minLength": 1, "description": "an account of the organization, by name or id"},
        "role": {"type": "string", "minLength": 1, "description": "role name or path pattern in that account: pipeline/*"},
        "service": {"type": "string", "minLength": 1, "description": "an AWS service principal orgiam knows"},
    },
}

SETTINGS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["central_account"],
    "properties": {
        "central_account": {"type": "string", "minLength": 1, "description": "id or name of the identity account"},
        "member_role_name": {"type": "string", "pattern": rf"^({IAM_NAME_CHARS}+/)*{IAM_NAME_CHARS}{{1,64}}$", "maxLength": 512,
                             "description": "role name, with its path if it has one: orgiam/orgiam-deployer"},
        "stack_prefix": {"type": "string", "pattern": r"^[A-Za-z][A-Za-z0-9-]{0,40}$"},
        "role_path": {"type": "string", "pattern": IAM_PATH, "maxLength": MAX_PATH},
        "prune": {"enum": list(PRUNE_POLICIES)},
        "concurrency": {"type": "integer", "minimum": 1, "maximum": 200},
        # IAM is global, stacks are regional: every run works in this one region, whatever the environment says
        "home_region": {"type": "string", "pattern": r"^[a-z]{2}(-[a-z]+)+-\d$"},
        "verify": {"enum": ["tags", "live"]},
        "stack_timeout_seconds": {"type": "integer", "minimum": 30, "maximum": 7200},
        "template_bucket": {"type": "string", "pattern": r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"},
        "pipeline": {
            "type": "object",
            "additionalProperties": False,
            "required": ["account", "source"],
            "description": "where and how orgiam runs by itself (playbooks/bootstrap.yml, cicd/)",
            "properties": {
                "account": {"type": "string", "minLength": 1, "description": "id or name of the account for the pipeline"},
                "source": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["provider", "repository"],
                    "properties": {
                        "provider": {"enum": ["CodeCommit", "CodeConnections"]},
                        "repository": {"type": "string", "minLength": 1},
                        "branch": {"type": "string", "minLength": 1},
                        "connection_arn": {"type": "string", "pattern": r"^arn:aws[a-z-]*:(codeconnections|codestar-connections):[a-z0-9-]+:\d{12}:connection/[A-Za-z0-9-]+$"},
                    },
                },
                # true: every plan waits for a person; when-changes: only a plan that changes something; false: none
                "approval": {"anyOf": [{"type": "boolean"}, {"enum": ["when-changes"]}]},
                "schedule": {"type": "string", "pattern": r"^(rate|cron)\(.+\)$"},
                "notify_email": {"type": "string", "pattern": r"^[^@\s]+@[^@\s]+\.[^@\s]+$"},
                "region": {"type": "string", "pattern": r"^[a-z]{2}(-[a-z]+)+-\d$"},
                "delegated_admin": {"type": "string", "minLength": 1,
                                    "description": "id or name of the delegated administrator for StackSets (docs/delegated-admin.md)"},
            },
        },
        "notify_topic_arn": {"type": "string", "pattern": r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$"},
        # how member roles reach the accounts: a stack per account, or a service-managed stack set per role
        "engine": {"enum": list(ENGINES)},
        "stacksets": {
            "type": "object",
            "additionalProperties": False,
            "description": "operation preferences of the role stack sets (engine: stacksets); not used by auto-deployment",
            "properties": {
                "max_concurrent_percentage": {"type": "integer", "minimum": 1, "maximum": 100},
                "failure_tolerance_percentage": {"type": "integer", "minimum": 0, "maximum": 100},
                "region_concurrency": {"enum": ["SEQUENTIAL", "PARALLEL"]},
            },
        },
    },
}

ROLE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "targets"],
    "properties": {
        "name": {"type": "string", "pattern": IAM_NAME, "minLength": 1, "maxLength": MAX_ROLE_NAME},
        "description": {"type": "string"},
        "path": {"type": "string", "pattern": IAM_PATH, "maxLength": MAX_PATH},
        "managed_policies": _string_list,
        "inline_policies": {"type": "object", "additionalProperties": {"type": "object"}},
        "customer_managed_policies": {"type": "object", "additionalProperties": {"type": "object"}},
        "external_id": {"type": "string", "pattern": r"^[A-Za-z0-9_+=,.@:/-]{2,1224}$"},
        "assumable_by": {"type": "array", "items": {"type": "string", "minLength": 1}},
        "permissions_boundary": {"type": "string", "minLength": 1},
        "max_session_duration": {"type": "integer", "minimum": 3600, "maximum": 43200},
        "mfa_required": {"type": "boolean"},
        # machines instead of people: roles of the organization's accounts, whole accounts, AWS services (catalog/trusted.py)
        "trusted_by": {"type": "array", "minItems": 1, "items": _trusted_entry},
        "tags": {"type": "object", "additionalProperties": {"type": "string"}},
        "waivers": {"type": "array", "uniqueItems": True, "items": {"enum": sorted(WAIVERS)},
                    "description": "checks this role's policies may skip, each on purpose (docs/catalog.md)"},
        "targets": {
            "type": "object",
            "additionalProperties": False,
            "properties": dict(
                _selector_props,
                management_account={"type": "boolean"},
                exclude={"type": "object", "additionalProperties": False, "properties": _selector_props},
            ),
        },
    },
}

ROLE_LIST_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["roles"],
    "properties": {"roles": {"type": "array", "items": ROLE_SCHEMA, "minItems": 1}},
}


def _display(path: str) -> str:
    """A path as people read it: relative when under the working directory."""
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative


class CatalogError(Exception):
    """One or more catalog problems; ``problems`` holds each as a SourceError."""

    def __init__(self, problems: list[SourceError]) -> None:
        self.problems = problems
        lines = [str(p) for p in problems]
        head = "the catalog has a problem" if len(problems) == 1 else f"the catalog has {len(problems)} problems"
        super().__init__(head + ":\n  " + "\n  ".join(lines))


@dataclass(frozen=True)
class OUTarget:
    path: str
    recursive: bool = True


@dataclass(frozen=True)
class Selector:
    ou_paths: tuple[OUTarget, ...] = ()
    accounts: tuple[str, ...] = ()
    tags: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def is_empty(self) -> bool:
        return not (self.ou_paths or self.accounts or self.tags)


@dataclass(frozen=True)
class RoleDef:
    name: str
    source: str
    description: str = ""
    path: str = DEFAULT_ROLE_PATH
    managed_policies: tuple[str, ...] = ()
    inline_policies: tuple[tuple[str, str], ...] = ()  # (name, canonical JSON)
    customer_managed_policies: tuple[tuple[str, str], ...] = ()  # (name, canonical JSON), created in the member stack
    external_id: str = ""
    assumable_by: tuple[str, ...] = ()  # explicit groups of identity.yml that may assume it everywhere
    permissions_boundary: str = ""
    max_session_duration: int = 3600
    mfa_required: bool = True
    tags: tuple[tuple[str, str], ...] = ()
    include: Selector = Selector()
    exclude: Selector = Selector()
    management_account: bool = False
    waivers: tuple[str, ...] = ()  # checks its policies skip on purpose (WAIVERS)
    # machines that assume it instead of people (catalog/trusted.py); resolve() sets each entry's account id
    trusted_by: tuple[TrustedPrincipal, ...] = ()
    organization_id: str = ""  # set by resolve() on a machine role: the organization its trusted accounts are in

    @property
    def is_machine(self) -> bool:
        """Trusted by machines (``trusted_by``), not by the central account's people: no group, no MFA."""
        return bool(self.trusted_by)


@dataclass(frozen=True)
class Settings:
    central_account: str
    member_role_name: str = "OrganizationAccountAccessRole"
    stack_prefix: str = "orgiam"
    role_path: str = DEFAULT_ROLE_PATH
    prune: str = "plan"
    concurrency: int = 16
    home_region: str = ""  # the region of every orgiam stack; empty: the environment's (AWS_REGION, ...), us-east-1
    verify: str = "tags"  # or "live": compare what each stack owns with IAM, and put back hand changes
    stack_timeout_seconds: int = 900
    notify_topic_arn: str = ""
    template_bucket: str = ""  # in the central account; for templates over CloudFormation's 51,200-byte body limit
    pipeline: dict[str, Any] = field(default_factory=dict)  # see SETTINGS_SCHEMA["properties"]["pipeline"]
    engine: str = "stacks"  # "stacksets": a service-managed stack set per role (docs/catalog.md, docs/operations.md)
    stacksets: dict[str, Any] = field(default_factory=dict)  # operation preferences of those stack sets
    source: str = ""


@dataclass(frozen=True)
class Catalog:
    directory: str
    settings: Settings
    roles: tuple[RoleDef, ...] = field(default_factory=tuple)
    identity: Identity = field(default_factory=Identity)
    digest: str = ""  # of every file of the catalog directory: a saved plan names the catalog it was made from
    policies: tuple[Any, ...] = field(default_factory=tuple)  # catalog/policies.py OrgPolicy: SCPs and RCPs

    def role(self, name: str) -> RoleDef:
        for role in self.roles:
            if role.name == name:
                return role
        raise KeyError(name)


def _schema_problems(doc: SourceDoc, schema: dict[str, Any]) -> list[SourceError]:
    validator = jsonschema.Draft202012Validator(schema)
    problems = []
    for error in sorted(validator.iter_errors(doc.data), key=lambda e: list(map(str, e.absolute_path))):
        problems.append(_explain_schema_error(doc, error))
    return problems


def _best_error(error: "jsonschema.ValidationError") -> "jsonschema.ValidationError":
    """For oneOf/anyOf failures, pick the branch error that went deepest."""
    if error.context:
        return max(error.context, key=lambda e: (len(e.absolute_path), -len(e.context or [])))
    return error


def _explain_schema_error(doc: SourceDoc, error: "jsonschema.ValidationError") -> SourceError:
    error = _best_error(error)
    path = tuple(error.absolute_path)
    field_name = ".".join(str(p) for p in path)
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - set(allowed)) if isinstance(error.instance, dict) else []
        key = extra[0] if extra else "?"
        where = f"{field_name}.{key}" if field_name else key
        hint = f"allowed keys here: {', '.join(allowed)}" if allowed else "no extra keys are allowed here"
        return SourceError(doc.file, f"unknown key '{key}'; {hint}", doc.line_of(path + (key,)), where)
    if error.validator == "required":
        return SourceError(doc.file, f"{error.message}; add it", doc.line_of(path), field_name)
    if error.validator == "pattern":
        return SourceError(doc.file, _pattern_message(error.instance, str(error.validator_value)), doc.line_of(path), field_name)
    if error.validator in ("maxLength", "minLength") and isinstance(error.instance, str):
        bound = "at most" if error.validator == "maxLength" else "at least"
        shown = error.instance if len(error.instance) <= 40 else error.instance[:40] + "..."
        return SourceError(doc.file, f"'{shown}' has {len(error.instance)} characters; {bound} {error.validator_value} allowed here",
                           doc.line_of(path), field_name)
    if error.validator in ("maxItems", "minItems") and isinstance(error.instance, list):
        if error.validator == "minItems" and not error.instance:
            return SourceError(doc.file, "the list is empty; give at least one entry or remove the key", doc.line_of(path), field_name)
        bound = "at most" if error.validator == "maxItems" else "at least"
        return SourceError(doc.file, f"{len(error.instance)} entries; {bound} {error.validator_value} allowed here",
                           doc.line_of(path), field_name)
    if error.validator == "type":
        return SourceError(doc.file, _type_message(error.instance, error.validator_value), doc.line_of(path), field_name)
    if error.validator == "enum":
        choices = ", ".join(map(str, error.validator_value))
        return SourceError(doc.file, f"value {error.instance!r} is not one of: {choices}", doc.line_of(path), field_name)
    return SourceError(doc.file, error.message, doc.line_of(path), field_name)


_TYPE_NAMES = {"string": "text", "integer": "a whole number", "number": "a number", "boolean": "true or false",
               "object": "a mapping (key: value)", "array": "a list", "null": "empty"}


def _kind(value: Any) -> str:
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def _type_message(value: Any, expected: Any) -> str:
    wanted = [expected] if isinstance(expected, str) else list(expected)
    readable = " or ".join(_TYPE_NAMES.get(w, w) for w in wanted)
    shown = "" if isinstance(value, (dict, list)) or value is None else f" {json.dumps(value, default=str)}"
    message = f"must be {readable}, not {_kind(value)}{shown}"
    if value is None:
        return message + "; give a value or remove the key"
    if "string" in wanted and isinstance(value, (int, float, bool)):
        return message + "; quote it to make it text: \"" + (str(value).lower() if isinstance(value, bool) else str(value)) + "\""
    return message


# what a pattern asks for, in words, where the characters alone do not say it
PATTERN_HINTS = {
    IAM_PATH: "an IAM path starts and ends with '/', e.g. /orgiam/ (printable ASCII, no spaces)",
    SETTINGS_SCHEMA["properties"]["stack_prefix"]["pattern"]: "a letter first, then letters, digits and '-' (41 at most)",
    SETTINGS_SCHEMA["properties"]["home_region"]["pattern"]: "an AWS region name such as us-east-1 or eu-west-1",
    SETTINGS_SCHEMA["properties"]["template_bucket"]["pattern"]: "an S3 bucket name: 3 to 63 lowercase letters, digits, '.' and '-'",
    SETTINGS_SCHEMA["properties"]["notify_topic_arn"]["pattern"]: "an SNS topic ARN: arn:aws:sns:<region>:<account id>:<name>",
}


def _pattern_message(value: Any, pattern: str) -> str:
    head = f"value {value!r} does not match {pattern}; "
    if not isinstance(value, str):
        return head + "use only the allowed characters"
    bad = _refused_characters(value, pattern)
    if bad:
        return head + f"{bad} not allowed here"
    if pattern in PATTERN_HINTS:
        return head + PATTERN_HINTS[pattern]
    bounds = re.findall(r"\{(\d+),(\d+)\}", pattern)
    if bounds:
        low, high = bounds[-1]
        return head + f"it has {len(value)} character{'' if len(value) == 1 else 's'}; {low} to {high} allowed"
    return head + "use only the allowed characters"


def _refused_characters(value: str, pattern: str) -> str:
    """The characters of ``value`` that no character class of ``pattern`` takes, as people read them."""
    classes = re.findall(r"\[(?:\\.|[^\]])+\]", pattern)
    if not classes:
        return ""
    literal = set(re.sub(r"\[(?:\\.|[^\]])+\]|\{[^}]*\}|\\.", "", pattern)) - set("^$()*+?|")
    bad: list[str] = []
    for char in value:
        if char in literal or char in bad or any(re.fullmatch(c, char) for c in classes):
            continue
        bad.append(char)
    return ", ".join(_show_char(c) for c in bad[:5]) + (" (and more)" if len(bad) > 5 else "")


def _show_char(char: str) -> str:
    if char == " ":
        return "' ' (a space)"
    name = unicodedata.name(char, "")
    return f"'{char}' (U+{ord(char):04X}{' ' + name if name else ''})"


def _selector(data: dict[str, Any] | None) -> Selector:
    data = data or {}
    ous = []
    for entry in data.get("ou_paths", []):
        if isinstance(entry, str):
            ous.append(OUTarget(normalize_ou_path(entry)))
        else:
            ous.append(OUTarget(normalize_ou_path(entry["path"]), bool(entry.get("recursive", True))))
    tags = []
    for key, value in sorted((data.get("tags") or {}).items()):
        values = (value,) if isinstance(value, str) else tuple(value)
        tags.append((str(key), tuple(str(v) for v in values)))
    return Selector(tuple(ous), tuple(str(a) for a in data.get("accounts", [])), tuple(tags))


def normalize_ou_path(path: str) -> str:
    """'/Workloads/Prod/' -> 'Workloads/Prod' (names keep their case; compare case-insensitively)."""
    return "/".join(part.strip() for part in path.strip().strip("/").split("/") if part.strip())


def canonical_json(document: Any) -> str:
    return json.dumps(document, sort_keys=True, separators=(",", ":"))


STATEMENT_ELEMENTS = ("Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Condition")
POLICY_ELEMENTS = ("Version", "Id", "Statement")
ACTION = re.compile(r"^[A-Za-z0-9-]+:[A-Za-z0-9*?]+$")


@dataclass
class _Waivers:
    """A role's waivers, and which of them its policies used (an unused waiver is an error)."""

    granted: frozenset[str] = frozenset()
    used: set[str] = field(default_factory=set)
    owner: str = "role"  # what the waivers are written on, for the messages: a role, or an identity.yml group

    def allows(self, waiver: str) -> bool:
        if waiver in self.granted:
            self.used.add(waiver)
            return True
        return False


def _policy_document_problems(doc: SourceDoc, path: tuple[Any, ...], document: Any, waivers: _Waivers | None = None) -> list[SourceError]:
    """What IAM would refuse in a policy document, and what is dangerous unless waived; each with its fix."""
    waivers = waivers if waivers is not None else _Waivers()
    where = ".".join(map(str, path))
    line = doc.line_of(path)
    problems = []
    if not isinstance(document, dict) or "Statement" not in document:
        return [SourceError(doc.file, "a policy document needs a 'Statement' list", line, where)]
    for key in document:
        if key not in POLICY_ELEMENTS:
            problems.append(SourceError(doc.file, f"unknown policy element '{key}'{did_you_mean(key, POLICY_ELEMENTS)} "
                                        f"(a policy has {', '.join(POLICY_ELEMENTS)})", doc.line_of(path + (key,)), f"{where}.{key}"))
    if document.get("Version") not in (None, "2012-10-17", "2008-10-17"):
        problems.append(SourceError(doc.file, "Version must be \"2012-10-17\"", line, where + ".Version"))
    statements = document["Statement"]
    spots: list[tuple[Any, ...]]
    if isinstance(statements, dict):
        statements, spots = [statements], [path + ("Statement",)]
    elif isinstance(statements, list):
        spots = [path + ("Statement", index) for index in range(len(statements))]
    if not isinstance(statements, list) or not statements:
        return problems + [SourceError(doc.file, "'Statement' must be a non-empty list", line, where)]
    sids: dict[str, int] = {}
    for number, (spot_path, statement) in enumerate(zip(spots, statements, strict=True)):
        problems.extend(_statement_problems(doc, spot_path, statement, waivers))
        sid = statement.get("Sid") if isinstance(statement, dict) else None
        if isinstance(sid, str) and sid:
            if sid in sids:
                problems.append(SourceError(doc.file, f"Sid '{sid}' is also statement {sids[sid]}'s; IAM wants them unique in a "
                                            "policy: rename one", doc.line_of(spot_path + ("Sid",)), ".".join(map(str, spot_path + ("Sid",)))))
            sids.setdefault(sid, number)
    return problems


def _statement_problems(doc: SourceDoc, path: tuple[Any, ...], statement: Any, waivers: _Waivers) -> list[SourceError]:
    spot = ".".join(map(str, path))
    sline = doc.line_of(path)

    def problem(message: str, element: str = "") -> SourceError:
        return SourceError(doc.file, message, doc.line_of(path + (element,)) if element else sline,
                           f"{spot}.{element}" if element else spot)

    if not isinstance(statement, dict):
        return [problem("a statement must be a mapping (Effect, Action, Resource...)")]
    problems = []
    for key in statement:
        if key in ("Principal", "NotPrincipal"):
            problems.append(problem("an identity policy cannot name a Principal; remove it"))
        elif key not in STATEMENT_ELEMENTS:
            problems.append(problem(f"unknown statement element '{key}'{did_you_mean(key, STATEMENT_ELEMENTS)} "
                                    f"(a statement has {', '.join(STATEMENT_ELEMENTS)})", key))
    effect = statement.get("Effect")
    if effect not in ("Allow", "Deny"):
        problems.append(problem(f"Effect must be Allow or Deny, not {json.dumps(effect, default=str)}", "Effect"))
    sid = statement.get("Sid")
    if sid is not None and not (isinstance(sid, str) and re.fullmatch(r"[A-Za-z0-9]*", sid)):
        problems.append(problem(f"Sid {json.dumps(sid, default=str)} may hold only ASCII letters and digits", "Sid"))
    for one, other in (("Action", "NotAction"), ("Resource", "NotResource")):
        if one in statement and other in statement:
            problems.append(problem(f"a statement has {one} or {other}, not both; keep one"))
        elif one not in statement and other not in statement:
            problems.append(problem(f"a statement needs {one} or {other}"))
    structure_ok = not problems
    for element in ("Action", "NotAction"):
        if element in statement:
            found = _string_list_problem(statement[element], element, "an action like \"s3:GetObject\"")
            if found:
                problems.append(problem(found, element))
                structure_ok = False
                continue
            for index, action in enumerate(_as_list(statement[element])):
                if action != "*" and not ACTION.match(action):
                    problems.append(SourceError(doc.file, f"'{action}' is not an action: write service:Action, e.g. s3:GetObject",
                                                doc.line_of(path + (element, index)), f"{spot}.{element}"))
                    structure_ok = False
    for element in ("Resource", "NotResource"):
        if element in statement:
            found = _string_list_problem(statement[element], element, "an ARN or \"*\"")
            if found:
                problems.append(problem(found, element))
                structure_ok = False
                continue
            for resource in _as_list(statement[element]):
                if resource != "*" and not (resource.startswith("arn:") and len(resource.split(":")) >= 6):
                    problems.append(problem(f"'{resource}' is not an ARN (arn:partition:service:region:account:resource) nor \"*\"", element))
                    structure_ok = False
    if "Condition" in statement:
        found = _condition_problem(statement["Condition"])
        if found:
            problems.append(problem(found, "Condition"))
            structure_ok = False
    if effect == "Allow" and "NotAction" in statement and not waivers.allows("allow-not-action"):
        problems.append(problem(
            "an Allow statement with NotAction allows every action it does not list, also those AWS adds later; "
            "list the actions under Action instead, or, if this is intended, add 'waivers: [allow-not-action]' to the " + waivers.owner,
            "NotAction"))
    if effect == "Allow" and "NotResource" in statement and not waivers.allows("allow-not-resource"):
        problems.append(problem(
            "an Allow statement with NotResource allows every resource it does not list; list the resources under "
            "Resource instead, or, if this is intended, add 'waivers: [allow-not-resource]' to the " + waivers.owner, "NotResource"))
    if structure_ok:
        problems.extend(_iam_data_problems(doc, path, statement, waivers))
    return problems


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _string_list_problem(value: Any, element: str, example: str) -> str:
    if isinstance(value, str) and value:
        return ""
    if isinstance(value, list) and value and all(isinstance(v, str) and v for v in value):
        return ""
    if isinstance(value, list) and value:
        odd = next(v for v in value if not (isinstance(v, str) and v))
        return f"{element} holds {_kind(odd)} {json.dumps(odd, default=str)}; each entry must be text, {example}"
    return f"{element} must be text or a non-empty list of text ({example}), not {_kind(value)} {json.dumps(value, default=str)}"


def _condition_problem(condition: Any) -> str:
    if not isinstance(condition, dict) or not condition:
        return "Condition must be a mapping of operator to {key: value}, e.g. {StringEquals: {aws:PrincipalTag/team: ops}}"
    for operator, block in condition.items():
        if not isinstance(block, dict) or not block:
            return f"condition operator {operator} must hold a mapping of condition key to value(s)"
        for key, value in block.items():
            values = _as_list(value)
            if not values or not all(isinstance(v, (str, int, float, bool)) for v in values):
                return f"condition key {key} under {operator} takes text, numbers or true/false (or a list of them)"
    return ""


_PARLIAMENT: Any = None
_PARLIAMENT_MISSING = ""


def _parliament() -> Any:
    """The IAM policy checker parliament, imported on first use (it loads its IAM data, about 0.5 s); None if missing."""
    global _PARLIAMENT, _PARLIAMENT_MISSING  # pylint: disable=global-statement
    if _PARLIAMENT is None:
        try:
            import parliament  # pylint: disable=import-outside-toplevel
            import parliament.statement  # noqa: F401  pylint: disable=import-outside-toplevel

            _PARLIAMENT = parliament
        except ImportError as exc:  # parliament itself, or what it imports (pkg_resources, from setuptools)
            _PARLIAMENT, _PARLIAMENT_MISSING = False, str(exc)
    return _PARLIAMENT or None


def _known_operators(checker: Any) -> list[str]:
    base = list(checker.statement.OPERATORS)
    return base + [op + "IfExists" for op in base] + [f"{q}:{op}" for q in ("ForAllValues", "ForAnyValue") for op in base]


def _action_hint(checker: Any, action: str) -> str:
    prefix, _, name = action.partition(":")
    for service in checker.iam_definition:
        if service["prefix"] == prefix.lower():
            if "*" in name or "?" in name:
                return ""  # a wildcard that matches nothing: no single name to suggest
            found = closest(name, [p["privilege"] for p in service["privileges"]], n=1)
            return f"; did you mean '{service['prefix']}:{found[0]}'?" if found else ""
    # an unknown service: the services that have this action, the closest first (s4:GetObject -> s3:GetObject)
    having = [service["prefix"] for service in checker.iam_definition
              if any(p["privilege"].lower() == name.lower() for p in service["privileges"])]
    best = closest(prefix, having, n=1, cutoff=0.5)
    if best:
        return f"; did you mean '{best[0]}:{name}'?"
    return did_you_mean(prefix, [service["prefix"] for service in checker.iam_definition])


def _iam_data_problems(doc: SourceDoc, path: tuple[Any, ...], statement: dict[str, Any], waivers: _Waivers) -> list[SourceError]:
    """Unknown actions, services and condition operators, found offline by parliament (its IAM data and its statement
    analysis). An action parliament's data does not know, but the pinned botocore's service models do, is newer than
    parliament's data and passes."""
    spot = ".".join(map(str, path))
    checker = _parliament()
    if checker is None:
        cause = f" ({_PARLIAMENT_MISSING})" if _PARLIAMENT_MISSING else ""
        return [SourceError(doc.file, f"cannot check the policy: the parliament package is missing{cause}; "
                            "pip install --require-hashes -r requirements/runtime.txt", doc.line_of(path), spot)]
    problems: list[SourceError] = []
    element = "Action" if "Action" in statement else "NotAction"
    for index, action in enumerate(_as_list(statement[element])):
        if action in ("*", "*:*"):
            continue
        try:
            checker.expand_action(action)
            continue
        except (checker.UnknownActionException, checker.UnknownPrefixException) as exc:
            unknown_prefix = isinstance(exc, checker.UnknownPrefixException)
        except Exception as exc:  # a checker's own failure is reported, never a traceback  # pylint: disable=broad-except
            return [SourceError(doc.file, f"the policy checker (parliament) failed on '{action}' ({exc}); check the statement",
                                doc.line_of(path + (element,)), f"{spot}.{element}")]
        if _botocore_knows(action) or waivers.allows("unknown-action"):
            continue
        prefix, _, name = action.partition(":")
        newer = _botocore_operations(prefix.lower())  # a service newer than parliament's data: botocore's names
        hint = (f"; did you mean '{prefix}:{closest(name, newer, n=1)[0]}'?" if newer and closest(name, newer, n=1)
                else "" if newer else _action_hint(checker, action))
        what = "service prefix in the action" if unknown_prefix and not newer else "action"
        problems.append(SourceError(
            doc.file, f"unknown {what} '{action}'{hint or '.'} Fix the spelling; if AWS added it after "
            f"the IAM data of parliament {checker.__version__} and botocore {_botocore_version()}, add 'waivers: [unknown-action]' "
            f"to the {waivers.owner}", doc.line_of(path + (element, index)) if isinstance(statement[element], list) else doc.line_of(path + (element,)),
            f"{spot}.{element}"))
    if "Condition" in statement:
        problems.extend(_condition_findings(doc, path, statement["Condition"], checker))
    return problems


def _condition_findings(doc: SourceDoc, path: tuple[Any, ...], condition: dict[str, Any], checker: Any) -> list[SourceError]:
    """parliament's analysis of the statement's conditions alone (so that an unknown action does not hide them)."""
    spot = ".".join(map(str, path))
    probe = {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": _condition_as_text(condition)}
    try:
        findings = checker.analyze_policy_string(json.dumps({"Version": "2012-10-17", "Statement": [probe]}),
                                                 ignore_private_auditors=True).findings
    except Exception as exc:  # pylint: disable=broad-except
        return [SourceError(doc.file, f"the policy checker (parliament) failed on the condition ({exc}); check its syntax",
                            doc.line_of(path + ("Condition",)), f"{spot}.Condition")]
    problems = []
    for finding in findings:
        if finding.issue == "UNKNOWN_OPERATOR":
            operator = str(finding.detail)
            problems.append(SourceError(
                doc.file, f"unknown condition operator '{operator}'{did_you_mean(operator, _known_operators(checker)) or '.'} "
                "IAM refuses the policy; use one of IAM's operators (StringEquals, ArnLike, Bool, ...)",
                doc.line_of(path + ("Condition", operator)), f"{spot}.Condition.{operator}"))
        elif finding.issue == "MISMATCHED_TYPE_OPERATION_TO_NULL":
            problems.append(SourceError(
                doc.file, "Bool and Null compare with true or false only; any other value never matches",
                doc.line_of(path + ("Condition",)), f"{spot}.Condition"))
        elif finding.issue in ("MALFORMED", "EXCEPTION", "MALFORMED_JSON"):
            problems.append(SourceError(doc.file, f"the policy checker (parliament) refuses the condition: {finding.detail}",
                                        doc.line_of(path + ("Condition",)), f"{spot}.Condition"))
    return problems


@functools.lru_cache(maxsize=None)
def _botocore_operations(prefix: str) -> frozenset[str]:
    """API operations of the botocore services that sign as ``prefix`` (service models only, no client)."""
    try:
        import botocore.session  # pylint: disable=import-outside-toplevel

        session = botocore.session.get_session()
        loader = session.get_component("data_loader")
        names: set[str] = set()
        for service in session.get_available_services():
            if service == prefix or service.startswith(prefix + "-") or prefix.startswith(service + "-"):
                model = loader.load_service_model(service, "service-2")
                metadata = model.get("metadata", {})
                if prefix in (service, metadata.get("signingName"), metadata.get("endpointPrefix")):
                    names.update(model.get("operations", {}))
        return frozenset(names)
    except Exception:  # no botocore, or a model it cannot read: parliament's answer stands  # pylint: disable=broad-except
        return frozenset()


def _botocore_knows(action: str) -> bool:
    prefix, _, name = action.lower().partition(":")
    return any(fnmatch.fnmatchcase(operation.lower(), name) for operation in _botocore_operations(prefix))


def _botocore_version() -> str:
    try:
        import botocore  # pylint: disable=import-outside-toplevel

        return str(botocore.__version__)
    except ImportError:  # pragma: no cover
        return "(missing)"


def _condition_as_text(condition: dict[str, Any]) -> dict[str, Any]:
    """Condition values as IAM reads them, text (3600 is "3600", true is "true"): parliament reads only text."""
    def text(value: Any) -> str:
        return str(value).lower() if isinstance(value, bool) else str(value)

    return {operator: {key: [text(v) for v in value] if isinstance(value, list) else text(value) for key, value in block.items()}
            for operator, block in condition.items()}


def _line_of_value(doc: SourceDoc, path: tuple[Any, ...], value: str) -> int | None:
    """The line of ``value`` in the list (or text) at ``path``."""
    data: Any = doc.data
    try:
        for part in path:
            data = data[part]
    except (KeyError, IndexError, TypeError):
        return doc.line_of(path)
    if isinstance(data, list) and value in data:
        return doc.line_of(path + (data.index(value),))
    return doc.line_of(path)


def _load_settings(directory: str) -> tuple[Settings | None, list[SourceError]]:
    path = os.path.join(directory, "settings.yml")
    display = _display(path)
    if not os.path.exists(path):
        return None, [SourceError(display, "missing: create it with at least 'central_account: <account id or name>'")]
    doc = load_yaml_file(path, display)
    if doc.data is None:
        doc.data = {}
    problems = _schema_problems(doc, SETTINGS_SCHEMA)
    if problems:
        return None, problems
    data = dict(doc.data)
    data["source"] = display
    return Settings(**data), []


def check_policy_reference(reference: str) -> str | None:
    """None when ``reference`` names a policy orgiam can attach; else what is wrong and how to fix it.

    A policy ARN (an AWS managed one, arn:aws:iam::aws:policy/..., or a customer managed one) passes
    whenever it is well formed: it is the way to name a policy newer than orgiam's list. A bare name
    (``ReadOnlyAccess``, ``job-function/ViewOnlyAccess``) must be in the list, at the path given.
    """
    if reference.startswith("arn:"):
        if re.match(POLICY_ARN, reference):
            return None
        return f"'{reference}' is not a policy ARN (arn:aws:iam::<account or aws>:policy/<path/>name)"
    path, _, name = reference.strip("/").rpartition("/")
    known_path = AWS_MANAGED_POLICY_PATHS.get(name)
    if known_path is None:
        return _unknown_managed_policy(reference, path, name)
    if path and known_path.strip("/") != path:
        return f"AWS managed policy {name} lives at path {known_path}, not /{path}/"
    return None


def _unknown_managed_policy(reference: str, path: str, name: str) -> str:
    """The error for a bare name missing from the list: the list's date and source, a suggestion, the ARN way out."""
    close = difflib.get_close_matches(name, AWS_MANAGED_POLICY_PATHS, n=1)
    hint = f"; did you mean '{close[0]}'?" if close else "."
    arn = f"arn:aws:iam::aws:policy/{path + '/' if path else ''}{name}"
    where = "" if path else " (with the policy's path before its name if it has one, e.g. job-function/)"
    return (
        f"'{reference}' is not an AWS managed policy in orgiam's list{hint} "
        f"The list ({len(AWS_MANAGED_POLICY_PATHS)} names) was generated {POLICY_LIST.generated_at} from {POLICY_LIST.source}. "
        f"If it is an AWS managed policy newer than the list, write its full ARN: {arn}{where}; "
        "for a customer managed policy, its ARN arn:aws:iam::<account id>:policy/<path/>name"
    )


def _policy_field(doc: SourceDoc, base: tuple[Any, ...], data: dict[str, Any], key: str, limit: int, problems: list[SourceError],
                  waivers: _Waivers) -> tuple[tuple[str, str], ...]:
    policies = []
    for policy_name, document in sorted((data.get(key) or {}).items()):
        spot = base + (key, policy_name)
        if not re.match(IAM_NAME, str(policy_name)) or len(str(policy_name)) > MAX_POLICY_NAME:
            bad = _refused_characters(str(policy_name), IAM_NAME)
            problems.append(SourceError(
                doc.file, f"policy name '{policy_name}': policy names use ASCII letters, digits and +=,.@_- "
                f"({MAX_POLICY_NAME} at most)" + (f"; {bad} not allowed" if bad else ""),
                doc.line_of(spot), ".".join(map(str, spot))))
        problems.extend(_policy_document_problems(doc, spot, document, waivers))
        text = canonical_json(document)
        if len(text) > limit:
            problems.append(SourceError(doc.file, f"the policy has {len(text)} characters, more than IAM's {limit}; split it",
                                        doc.line_of(spot), ".".join(map(str, spot))))
        policies.append((str(policy_name), text))
    return tuple(policies)


def tag_problems(doc: SourceDoc, spot: tuple[Any, ...], tags: Any, what: str, added: int = 1) -> list[SourceError]:
    """IAM's rules for the tags of a role or user: count, reserved prefixes, length, characters, keys unique ignoring case.

    ``added``: tags orgiam puts on the same resource (orgiam:managed-by), which count towards the 50.
    """
    if not isinstance(tags, dict):
        return []
    field_name = ".".join(map(str, spot))
    problems = []
    room = MAX_ROLE_TAGS - added
    if len(tags) > room:
        problems.append(SourceError(
            doc.file, f"{len(tags)} tags: IAM takes {MAX_ROLE_TAGS} on a {what} and orgiam adds {added} (orgiam:managed-by); "
            f"keep at most {room}", doc.line_of(spot), field_name))
    seen: dict[str, str] = {}
    for key, value in tags.items():
        key_spot = spot + (key,)
        line, where = doc.line_of(key_spot), f"{field_name}.{key}"
        reserved = next((p for p in RESERVED_TAG_PREFIXES if key.lower().startswith(p)), None)
        if reserved:
            owner = "AWS" if reserved == "aws:" else "orgiam"
            problems.append(SourceError(doc.file, f"tag key '{key}': keys starting '{reserved}' are {owner}'s; choose another key", line, where))
        if not 1 <= len(key) <= MAX_TAG_KEY:
            problems.append(SourceError(doc.file, f"tag key '{key[:40]}...' has {len(key)} characters; IAM takes 1 to {MAX_TAG_KEY}", line, where))
        if key.lower() in seen:
            problems.append(SourceError(doc.file, f"tag keys '{seen[key.lower()]}' and '{key}' differ only in case; IAM treats them as one: keep one",
                                        line, where))
        seen[key.lower()] = key
        bad = _tag_refused(key)
        if bad:
            problems.append(SourceError(doc.file, f"tag key '{key}': {bad} not allowed; tags take letters, digits, spaces and _.:/=+-@",
                                        line, where))
        if isinstance(value, str):
            if len(value) > MAX_TAG_VALUE:
                problems.append(SourceError(doc.file, f"tag value has {len(value)} characters; IAM takes at most {MAX_TAG_VALUE}", line, where))
            bad = _tag_refused(value)
            if bad:
                problems.append(SourceError(doc.file, f"tag value {value[:60]!r}: {bad} not allowed; tags take letters, digits, "
                                            "spaces and _.:/=+-@", line, where))
    return problems


def _tag_refused(text: str) -> str:
    """IAM's tag pattern [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]: the characters of ``text`` outside it."""
    bad: list[str] = []
    for char in text:
        if char in "_.:/=+-@" or unicodedata.category(char)[0] in "LZN":
            continue
        if char not in bad:
            bad.append(char)
    return ", ".join(_show_char(c) for c in bad[:5])


def _description_problem(description: str) -> str:
    if len(description) > MAX_DESCRIPTION:
        return f"the description has {len(description)} characters; IAM takes at most {MAX_DESCRIPTION}"
    bad = [c for c in dict.fromkeys(description) if not ROLE_DESCRIPTION.fullmatch(c)]
    if bad:
        return (f"{', '.join(_show_char(c) for c in bad[:5])} not allowed in a role description: IAM takes ASCII and "
                "Latin-1 (tab, line breaks, 0x20-0x7E, 0xA1-0xFF); replace it")
    return ""


def _reserved_name_problem(name: str, settings: Settings | None) -> str:
    """A role name the catalog may not take: orgiam's own, the deploy role, or one AWS gives."""
    names = list(RESERVED_ROLE_NAMES)
    prefixes = list(RESERVED_ROLE_PREFIXES)
    if settings is not None:
        names.append(settings.member_role_name.rpartition("/")[2])
        prefixes.append(settings.stack_prefix + "-")
    lower = name.lower()
    for reserved in names:
        if lower == reserved.lower():
            return (f"role name '{name}' is the role orgiam deploys through (member_role_name) or the one Organizations "
                    "creates in new accounts: orgiam would take over or collide with it; choose another name")
    for prefix in prefixes:
        if lower.startswith(prefix.lower()):
            if prefix.startswith("AWS"):
                owner = "AWS's (service-linked and Identity Center roles)"
            elif prefix == "orgiam-":
                owner = "orgiam's own (its deployer is denied them)"
            else:
                owner = f"orgiam's (stack_prefix '{prefix[:-1]}' names its stacks, groups and policies)"
            return f"role names starting '{prefix}' are {owner}; choose another name"
    return ""


def _role_from(doc: SourceDoc, base: tuple[Any, ...], data: dict[str, Any], default_path: str,
               settings: Settings | None = None) -> tuple[RoleDef, list[SourceError]]:
    problems: list[SourceError] = []

    def at(*parts: Any) -> tuple[int | None, str]:
        spot = base + parts
        return doc.line_of(spot), ".".join(map(str, spot))

    waivers = _Waivers(frozenset(data.get("waivers", [])))
    inline = _policy_field(doc, base, data, "inline_policies", ROLE_INLINE_MAX_CHARS, problems, waivers)
    if sum(len(text) for _, text in inline) > ROLE_INLINE_MAX_CHARS:
        problems.append(SourceError(doc.file, f"inline policies together exceed IAM's {ROLE_INLINE_MAX_CHARS} characters for a role; "
                                    "move some to customer_managed_policies", *at("inline_policies")))
    customer = _policy_field(doc, base, data, "customer_managed_policies", MANAGED_POLICY_MAX_CHARS, problems, waivers)
    for policy_name, _ in customer:
        full = f"{data['name']}-{policy_name}"
        if len(full) > MAX_POLICY_NAME:
            problems.append(SourceError(
                doc.file, f"the policy is created as '{full[:40]}...' (<role>-<name>, {len(full)} characters), over IAM's "
                f"{MAX_POLICY_NAME}; shorten its name to at most {MAX_POLICY_NAME - len(data['name']) - 1} characters",
                *at("customer_managed_policies", policy_name)))
    for waiver in sorted(waivers.granted - waivers.used):
        problems.append(SourceError(doc.file, f"waiver '{waiver}' waives nothing in this role's policies; remove it", *at("waivers")))
    for index, reference in enumerate(data.get("managed_policies", [])):
        problem = check_policy_reference(reference)
        if problem:
            problems.append(SourceError(doc.file, problem, *at("managed_policies", index)))
    if data.get("permissions_boundary"):
        problem = check_policy_reference(data["permissions_boundary"])
        if problem:
            problems.append(SourceError(doc.file, problem, *at("permissions_boundary")))
    if len(data.get("managed_policies", [])) + len(customer) > 10:
        problems.append(SourceError(doc.file, "a role takes at most 10 managed policies (IAM's default quota); combine some",
                                    *at("managed_policies")))
    reserved = _reserved_name_problem(data["name"], settings)
    if reserved:
        problems.append(SourceError(doc.file, reserved, *at("name")))
    description = _description_problem(data.get("description", ""))
    if description:
        problems.append(SourceError(doc.file, description, *at("description")))
    problems.extend(tag_problems(doc, base + ("tags",), data.get("tags") or {}, "role"))
    trusted = _trusted_by(doc, base, data, problems)
    targets = data.get("targets") or {}
    role = RoleDef(
        name=data["name"],
        source=f"{doc.file}:{doc.line_of(base + ('name',)) or 1}",
        description=data.get("description", ""),
        path=data.get("path", default_path),
        managed_policies=tuple(data.get("managed_policies", [])),
        inline_policies=inline,
        customer_managed_policies=customer,
        external_id=data.get("external_id", ""),
        assumable_by=tuple(data.get("assumable_by", [])),
        permissions_boundary=data.get("permissions_boundary", ""),
        max_session_duration=int(data.get("max_session_duration", 3600)),
        mfa_required=bool(data.get("mfa_required", not trusted)),  # machines cannot present MFA
        tags=tuple(sorted((str(k), str(v)) for k, v in (data.get("tags") or {}).items())),
        include=_selector(targets),
        exclude=_selector(targets.get("exclude")),
        management_account=bool(targets.get("management_account", False)),
        waivers=tuple(sorted(waivers.granted)),
        trusted_by=trusted,
    )
    if role.include.is_empty() and not role.management_account:
        problems.append(
            SourceError(
                doc.file,
                "targets selects no account; add ou_paths, accounts, tags or management_account: true",
                *at("targets"),
            )
        )
    if len(role.path) + len(role.name) > MAX_PATH:
        problems.append(SourceError(doc.file, "path and name together exceed IAM's 512 characters", *at("path")))
    return role, problems


def _trusted_by(doc: SourceDoc, base: tuple[Any, ...], data: dict[str, Any], problems: list[SourceError]) -> tuple[TrustedPrincipal, ...]:
    """A role's ``trusted_by``: machines that assume it instead of people (catalog/trusted.py). Accounts are
    resolved against the organization later (resolve.py); here, the shape of each entry."""
    entries = data.get("trusted_by") or []
    if not entries:
        return ()

    def at(*parts: Any) -> tuple[int | None, str]:
        spot = base + parts
        return doc.line_of(spot), ".".join(map(str, spot))

    if data.get("mfa_required") is True:
        problems.append(SourceError(
            doc.file, "a role with trusted_by is assumed by machines, which cannot present MFA: mfa_required: true would "
            "lock them out; remove mfa_required (machine roles never ask for MFA), or remove trusted_by to let people "
            "of the central account assume the role", *at("mfa_required")))
    if data.get("assumable_by"):
        problems.append(SourceError(
            doc.file, "a role with trusted_by is trusted by machines instead of people: no group of the central account "
            "can assume it, so assumable_by grants nothing; remove assumable_by, or define a separate role for people",
            *at("assumable_by")))
    trusted: list[TrustedPrincipal] = []
    seen: dict[tuple[str, str, str], int] = {}
    for index, entry in enumerate(entries):
        line, where = at("trusted_by", index)
        account, role, service = entry.get("account", ""), entry.get("role", ""), entry.get("service", "")
        if bool(account) == bool(service):
            problems.append(SourceError(
                doc.file, "each trusted_by entry names either an account (with a role pattern, or alone for the whole "
                "account) or a service, e.g. {account: Deployments, role: \"pipeline/*\"} or "
                "{service: cloudformation.amazonaws.com}", line, where))
            continue
        if service and role:
            problems.append(SourceError(doc.file, f"a role pattern applies to an account, not to service {service}; "
                                        "remove role, or write the account it belongs to", *at("trusted_by", index, "role")))
            continue
        if service:
            problem = service_problem(service)
            if problem:
                problems.append(SourceError(doc.file, problem, *at("trusted_by", index, "service")))
                continue
        if account and any(c in account for c in "*?"):
            problems.append(SourceError(
                doc.file, f"account '{account}': orgiam never trusts a wildcard principal; name one account of the "
                "organization (its name or 12-digit id), and restrict it with role: if only some of its roles may assume "
                "this role", *at("trusted_by", index, "account")))
            continue
        if account and account.isdigit() and not ACCOUNT_ID.match(account):
            problems.append(SourceError(doc.file, f"account '{account}' is neither a 12-digit account id nor a name; "
                                        "check the digits (quote an id: \"111122223333\")", *at("trusted_by", index, "account")))
            continue
        if role:
            problem = role_pattern_problem(role)
            if problem:
                problems.append(SourceError(doc.file, problem, *at("trusted_by", index, "role")))
                continue
        key = (account.lower(), role.strip("/"), service)
        if key in seen:
            problems.append(SourceError(doc.file, f"the same principal is already trusted by entry {seen[key]}; keep one", line, where))
            continue
        seen[key] = index
        trusted.append(TrustedPrincipal(account=account, role=role.strip("/"), service=service, source=f"{doc.file}:{line or 1}"))
    return tuple(trusted)


def catalog_files(directory: str, folder: str) -> list[str]:
    """The YAML files (*.yml, *.yaml) of one folder of the catalog, sorted."""
    return sorted(glob.glob(os.path.join(directory, folder, "*.yml")) + glob.glob(os.path.join(directory, folder, "*.yaml")))


def load_catalog(directory: str) -> Catalog:
    """Read and check the whole catalog. Raises CatalogError listing every problem found."""
    if not HAS_JSONSCHEMA:
        raise CatalogError([SourceError(directory, "the jsonschema package is missing: pip install --require-hashes -r requirements/runtime.txt")])
    if not os.path.isdir(directory):
        raise CatalogError([SourceError(directory, "the catalog directory does not exist; check the 'catalog' setting")])
    problems: list[SourceError] = []
    try:
        settings, settings_problems = _load_settings(directory)
    except SourceError as exc:
        settings, settings_problems = None, [exc]
    problems.extend(settings_problems)
    default_path = settings.role_path if settings else DEFAULT_ROLE_PATH

    roles: list[RoleDef] = []
    seen: dict[str, str] = {}
    policy_names: dict[str, tuple[str, str]] = {}  # <role>-<name> lowercased -> (role, where)
    declared: set[str] = set()  # every role name the files give, also of roles refused: identity.yml may name them
    role_files = catalog_files(directory, "roles")
    for path in role_files:
        display = _display(path)
        try:
            doc = load_yaml_file(path, display)
        except SourceError as exc:
            problems.append(exc)
            continue
        if doc.data is None:
            problems.append(SourceError(display, "the file is empty; define a role (name, targets) or delete the file"))
            continue
        is_list = isinstance(doc.data, dict) and "roles" in doc.data
        declared.update(_declared_names(doc.data))
        file_problems = _schema_problems(doc, ROLE_LIST_SCHEMA if is_list else ROLE_SCHEMA)
        if file_problems:
            problems.extend(file_problems)
            continue
        entries = [((), doc.data)] if not is_list else [(("roles", i), r) for i, r in enumerate(doc.data["roles"])]
        for base, data in entries:
            role, role_problems = _role_from(doc, base, data, default_path, settings)
            problems.extend(role_problems)
            for policy_name, _ in role.customer_managed_policies:
                full = f"{role.name}-{policy_name}".lower()  # IAM policy names are unique in an account, ignoring case
                if full in policy_names and policy_names[full][0] != role.name:
                    problems.append(SourceError(
                        display, f"customer managed policy '{role.name}-{policy_name}' has the same name as one of role "
                        f"'{policy_names[full][0]}' ({policy_names[full][1]}); rename one",
                        doc.line_of(base + ("customer_managed_policies", policy_name)), f"customer_managed_policies.{policy_name}"))
                policy_names.setdefault(full, (role.name, role.source))
            key = role.name.lower()  # IAM role names are unique case-insensitively
            if key in seen:
                problems.append(
                    SourceError(display, f"role '{role.name}' is already defined at {seen[key]}; rename one", doc.line_of(base + ("name",)), "name")
                )
                continue
            seen[key] = role.source
            roles.append(role)
    identity_input, identity_problems = _load_identity(directory)
    problems.extend(identity_problems)
    identity = Identity()
    if identity_input is not None and settings is not None:
        identity, identity_problems = build_identity(identity_input, roles, settings.stack_prefix, directory, declared)
        problems.extend(identity_problems)
    from .policies import load_policies

    policies, policy_problems = load_policies(directory, _display)
    problems.extend(policy_problems)
    if not role_files and not problems:
        problems.append(SourceError(_display(os.path.join(directory, "roles")), "no role files (*.yml) found; add one"))
    if problems:
        raise CatalogError(problems)
    assert settings is not None
    return Catalog(directory=directory, settings=settings, roles=tuple(roles), identity=identity,
                   digest=catalog_digest(directory), policies=policies)


def _declared_names(data: Any) -> set[str]:
    entries = data.get("roles") if isinstance(data, dict) and "roles" in data else [data]
    if not isinstance(entries, list):
        return set()
    return {e["name"] for e in entries if isinstance(e, dict) and isinstance(e.get("name"), str)}


def catalog_digest(directory: str) -> str:
    """sha256 over the relative path and bytes of every file under the catalog directory (hidden ones aside).

    Two checkouts of the same commit give the same digest; any edit, added or removed file changes it.
    """
    digest = hashlib.sha256()
    for root, dirs, files in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(f for f in files if not f.startswith(".")):
            path = os.path.join(root, name)
            relative = os.path.relpath(path, directory).replace(os.sep, "/")
            with open(path, "rb") as handle:
                content = handle.read()
            digest.update(f"{relative}\0{len(content)}\0".encode())
            digest.update(content)
    return digest.hexdigest()


def _load_identity(directory: str) -> tuple[IdentityInput | None, list[SourceError]]:
    path = os.path.join(directory, "identity.yml")
    if not os.path.exists(path):
        return IdentityInput(None, {}), []
    try:
        doc = load_yaml_file(path, _display(path))
    except SourceError as exc:
        return None, [exc]
    if doc.data is None:
        doc.data = {}
    problems = _schema_problems(doc, IDENTITY_SCHEMA)
    if problems:
        return None, problems
    for index, user in enumerate(doc.data.get("users", [])):
        problems.extend(tag_problems(doc, ("users", index, "tags"), user.get("tags") or {}, "user"))
    group_inline = {}
    for index, group in enumerate(doc.data.get("groups", [])):
        group_inline[index] = _group_policies(doc, index, group, problems)
    return (None, problems) if problems else (IdentityInput(doc, doc.data, group_inline), [])


def _group_policies(doc: SourceDoc, index: int, group: dict[str, Any], problems: list[SourceError]) -> tuple[tuple[str, str], ...]:
    """An identity.yml group's own permissions in the central account, checked as a role's are; its inline policies
    in canonical JSON. IAM's quotas: 10 managed policies on a group (its assume-role policies count), 5,120
    characters of inline policies together."""
    base = ("groups", index)

    def at(*parts: Any) -> tuple[int | None, str]:
        spot = base + parts
        return doc.line_of(spot), ".".join(map(str, spot))

    waivers = _Waivers(frozenset(group.get("waivers", [])), owner="group")
    inline = _policy_field(doc, base, group, "inline_policies", GROUP_INLINE_MAX_CHARS, problems, waivers)
    if sum(len(text) for _, text in inline) > GROUP_INLINE_MAX_CHARS:
        problems.append(SourceError(doc.file, f"inline policies together exceed IAM's {GROUP_INLINE_MAX_CHARS} characters for a "
                                    "group; move some statements to a customer managed policy and name its ARN under "
                                    "managed_policies", *at("inline_policies")))
    for waiver in sorted(waivers.granted - waivers.used):
        problems.append(SourceError(doc.file, f"waiver '{waiver}' waives nothing in this group's policies; remove it", *at("waivers")))
    managed = group.get("managed_policies", [])
    for m_index, reference in enumerate(managed):
        problem = check_policy_reference(reference)
        if problem:
            problems.append(SourceError(doc.file, problem, *at("managed_policies", m_index)))
    room = MAX_GROUP_MANAGED_POLICIES - (1 if group.get("grants") else 0)
    if len(managed) > room:
        why = " and one is kept for the policy that lets it assume its roles (<group>-assume-1)" if group.get("grants") else ""
        problems.append(SourceError(doc.file, f"{len(managed)} managed policies: IAM attaches at most {MAX_GROUP_MANAGED_POLICIES} "
                                    f"to a group{why}; keep at most {room}, or combine some into one policy",
                                    *at("managed_policies")))
    return inline
