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
import glob
import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from typing import Any

from .managed_policies import AWS_MANAGED_POLICY_PATHS, POLICY_LIST
from .identity import IDENTITY_SCHEMA, Identity, IdentityInput, build_identity
from .yamlsource import SourceDoc, SourceError, load_yaml_file

try:
    import jsonschema

    HAS_JSONSCHEMA = True
except ImportError:  # pragma: no cover
    HAS_JSONSCHEMA = False

IAM_NAME = r"^[\w+=,.@-]+$"
POLICY_ARN = r"^arn:aws[a-z-]*:iam::(aws|\d{12}):policy/([\x21-\x7E]*/)?[\w+=,.@-]{1,128}$"
MANAGED_POLICY_MAX_CHARS = 6144  # one managed policy document, whitespace not counted
ROLE_INLINE_MAX_CHARS = 10240  # all of a role's inline policies together
IAM_PATH = r"^/(?:[\x21-\x7E]+/)?$"
PRUNE_POLICIES = ("never", "plan", "apply")
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

SETTINGS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["central_account"],
    "properties": {
        "central_account": {"type": "string", "minLength": 1, "description": "id or name of the identity account"},
        "member_role_name": {"type": "string", "pattern": r"^([\w+=,.@-]+/)*[\w+=,.@-]{1,64}$", "maxLength": 512,
                             "description": "role name, with its path if it has one: orgiam/orgiam-deployer"},
        "stack_prefix": {"type": "string", "pattern": r"^[A-Za-z][A-Za-z0-9-]{0,40}$"},
        "role_path": {"type": "string", "pattern": IAM_PATH, "maxLength": MAX_PATH},
        "prune": {"enum": list(PRUNE_POLICIES)},
        "concurrency": {"type": "integer", "minimum": 1, "maximum": 200},
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
                "approval": {"type": "boolean"},
                "schedule": {"type": "string", "pattern": r"^(rate|cron)\(.+\)$"},
                "notify_email": {"type": "string", "pattern": r"^[^@\s]+@[^@\s]+\.[^@\s]+$"},
                "region": {"type": "string", "pattern": r"^[a-z]{2}(-[a-z]+)+-\d$"},
            },
        },
        "notify_topic_arn": {"type": "string", "pattern": r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$"},
    },
}

ROLE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "targets"],
    "properties": {
        "name": {"type": "string", "pattern": IAM_NAME, "minLength": 1, "maxLength": MAX_ROLE_NAME},
        "description": {"type": "string", "maxLength": 1000},
        "path": {"type": "string", "pattern": IAM_PATH, "maxLength": MAX_PATH},
        "managed_policies": _string_list,
        "inline_policies": {"type": "object", "additionalProperties": {"type": "object"}},
        "customer_managed_policies": {"type": "object", "additionalProperties": {"type": "object"}},
        "external_id": {"type": "string", "pattern": r"^[\w+=,.@:/-]{2,1224}$"},
        "assumable_by": {"type": "array", "items": {"type": "string", "minLength": 1}},
        "permissions_boundary": {"type": "string", "minLength": 1},
        "max_session_duration": {"type": "integer", "minimum": 3600, "maximum": 43200},
        "mfa_required": {"type": "boolean"},
        "tags": {"type": "object", "additionalProperties": {"type": "string", "maxLength": 256}},
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


@dataclass(frozen=True)
class Settings:
    central_account: str
    member_role_name: str = "OrganizationAccountAccessRole"
    stack_prefix: str = "orgiam"
    role_path: str = DEFAULT_ROLE_PATH
    prune: str = "plan"
    concurrency: int = 16
    stack_timeout_seconds: int = 900
    notify_topic_arn: str = ""
    template_bucket: str = ""  # in the central account; for templates over CloudFormation's 51,200-byte body limit
    pipeline: dict[str, Any] = field(default_factory=dict)  # see SETTINGS_SCHEMA["properties"]["pipeline"]
    source: str = ""


@dataclass(frozen=True)
class Catalog:
    directory: str
    settings: Settings
    roles: tuple[RoleDef, ...] = field(default_factory=tuple)
    identity: Identity = field(default_factory=Identity)
    digest: str = ""  # of every file of the catalog directory: a saved plan names the catalog it was made from

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
        return SourceError(
            doc.file,
            f"value {error.instance!r} does not match {error.validator_value}; use only the allowed characters",
            doc.line_of(path),
            field_name,
        )
    if error.validator == "enum":
        choices = ", ".join(map(str, error.validator_value))
        return SourceError(doc.file, f"value {error.instance!r} is not one of: {choices}", doc.line_of(path), field_name)
    return SourceError(doc.file, error.message, doc.line_of(path), field_name)


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


def _policy_document_problems(doc: SourceDoc, path: tuple[Any, ...], document: Any) -> list[SourceError]:
    where = ".".join(map(str, path))
    line = doc.line_of(path)
    problems = []
    if not isinstance(document, dict) or "Statement" not in document:
        return [SourceError(doc.file, "a policy document needs a 'Statement' list", line, where)]
    if document.get("Version") not in (None, "2012-10-17", "2008-10-17"):
        problems.append(SourceError(doc.file, "Version must be \"2012-10-17\"", line, where + ".Version"))
    statements = document["Statement"]
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list) or not statements:
        return problems + [SourceError(doc.file, "'Statement' must be a non-empty list", line, where)]
    for index, statement in enumerate(statements):
        spot = f"{where}.Statement.{index}"
        sline = doc.line_of(path + ("Statement", index))
        if not isinstance(statement, dict):
            problems.append(SourceError(doc.file, "a statement must be a mapping", sline, spot))
            continue
        if statement.get("Effect") not in ("Allow", "Deny"):
            problems.append(SourceError(doc.file, "Effect must be Allow or Deny", sline, spot + ".Effect"))
        if not ({"Action", "NotAction"} & set(statement)):
            problems.append(SourceError(doc.file, "a statement needs Action or NotAction", sline, spot))
        if not ({"Resource", "NotResource"} & set(statement)):
            problems.append(SourceError(doc.file, "a statement needs Resource or NotResource", sline, spot))
        if "Principal" in statement or "NotPrincipal" in statement:
            problems.append(
                SourceError(doc.file, "an identity policy cannot name a Principal; remove it", sline, spot)
            )
    return problems


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


def _policy_field(doc: SourceDoc, base: tuple[Any, ...], data: dict[str, Any], key: str, limit: int, problems: list[SourceError]) -> tuple[tuple[str, str], ...]:
    policies = []
    for policy_name, document in sorted((data.get(key) or {}).items()):
        spot = base + (key, policy_name)
        if not re.match(IAM_NAME, str(policy_name)) or len(str(policy_name)) > 128:
            problems.append(
                SourceError(doc.file, "policy names use letters, digits and +=,.@_- (128 at most)", doc.line_of(spot), ".".join(map(str, spot)))
            )
        problems.extend(_policy_document_problems(doc, spot, document))
        text = canonical_json(document)
        if len(text) > limit:
            problems.append(SourceError(doc.file, f"the policy has {len(text)} characters, more than IAM's {limit}; split it",
                                        doc.line_of(spot), ".".join(map(str, spot))))
        policies.append((str(policy_name), text))
    return tuple(policies)


def _role_from(doc: SourceDoc, base: tuple[Any, ...], data: dict[str, Any], default_path: str) -> tuple[RoleDef, list[SourceError]]:
    problems: list[SourceError] = []
    inline = _policy_field(doc, base, data, "inline_policies", ROLE_INLINE_MAX_CHARS, problems)
    if sum(len(text) for _, text in inline) > ROLE_INLINE_MAX_CHARS:
        problems.append(SourceError(doc.file, f"inline policies together exceed IAM's {ROLE_INLINE_MAX_CHARS} characters for a role; "
                                    "move some to customer_managed_policies", doc.line_of(base + ("inline_policies",)), "inline_policies"))
    customer = _policy_field(doc, base, data, "customer_managed_policies", MANAGED_POLICY_MAX_CHARS, problems)
    for index, reference in enumerate(data.get("managed_policies", [])):
        problem = check_policy_reference(reference)
        if problem:
            problems.append(SourceError(doc.file, problem, doc.line_of(base + ("managed_policies", index)), f"managed_policies.{index}"))
    if data.get("permissions_boundary"):
        problem = check_policy_reference(data["permissions_boundary"])
        if problem:
            problems.append(SourceError(doc.file, problem, doc.line_of(base + ("permissions_boundary",)), "permissions_boundary"))
    if len(data.get("managed_policies", [])) + len(customer) > 10:
        problems.append(SourceError(doc.file, "a role takes at most 10 managed policies (IAM's default quota); combine some",
                                    doc.line_of(base + ("managed_policies",)), "managed_policies"))
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
        mfa_required=bool(data.get("mfa_required", True)),
        tags=tuple(sorted((str(k), str(v)) for k, v in (data.get("tags") or {}).items())),
        include=_selector(targets),
        exclude=_selector(targets.get("exclude")),
        management_account=bool(targets.get("management_account", False)),
    )
    if role.include.is_empty() and not role.management_account:
        problems.append(
            SourceError(
                doc.file,
                "targets selects no account; add ou_paths, accounts, tags or management_account: true",
                doc.line_of(base + ("targets",)),
                ".".join(map(str, base + ("targets",))),
            )
        )
    if len(role.path) + len(role.name) > MAX_PATH:
        problems.append(SourceError(doc.file, "path and name together exceed IAM's 512 characters", doc.line_of(base), "path"))
    return role, problems


def load_catalog(directory: str) -> Catalog:
    """Read and check the whole catalog. Raises CatalogError listing every problem found."""
    if not HAS_JSONSCHEMA:
        raise CatalogError([SourceError(directory, "the jsonschema package is missing: pip install -r requirements.txt")])
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
    role_files = sorted(glob.glob(os.path.join(directory, "roles", "*.yml")) + glob.glob(os.path.join(directory, "roles", "*.yaml")))
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
        file_problems = _schema_problems(doc, ROLE_LIST_SCHEMA if is_list else ROLE_SCHEMA)
        if file_problems:
            problems.extend(file_problems)
            continue
        entries = [((), doc.data)] if not is_list else [(("roles", i), r) for i, r in enumerate(doc.data["roles"])]
        for base, data in entries:
            role, role_problems = _role_from(doc, base, data, default_path)
            problems.extend(role_problems)
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
        identity, identity_problems = build_identity(identity_input, roles, settings.stack_prefix, directory)
        problems.extend(identity_problems)
    if not role_files and not problems:
        problems.append(SourceError(_display(os.path.join(directory, "roles")), "no role files (*.yml) found; add one"))
    if problems:
        raise CatalogError(problems)
    assert settings is not None
    return Catalog(directory=directory, settings=settings, roles=tuple(roles), identity=identity,
                   digest=catalog_digest(directory))


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
    return (None, problems) if problems else (IdentityInput(doc, doc.data), [])
