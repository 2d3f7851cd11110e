"""Identity-based IAM policies evaluated for the sessions of orgiam's own roles, as AWS evaluates them.

moto answers every request whatever the caller may do (its ``INITIAL_NO_AUTH_ACTION_COUNT`` switch turns
evaluation on for every caller at once, and then evaluates conditions it does not know as a deny and
resources as ``*``). The emulator evaluates, before moto sees the request, the calls made with the
credentials of an assumed role whose path starts with one of :data:`ENFORCED_PATHS` (``/orgiam/``: the
pipeline's plan and apply roles, the organization reader, the deployer and the planner), so that a role
of orgiam's templates that lacks a permission fails here as it would in AWS, and one that has too much
can be shown to. Other callers (the test's management-account keys, ``OrganizationAccountAccessRole``)
are left to moto as before.

What is evaluated, for those sessions:

- the role's inline and attached managed policies and its permissions boundary: an explicit ``Deny``
  wins, then an ``Allow`` is needed (in the boundary too when there is one); ``Action``/``NotAction``
  with wildcards, case-insensitive;
- ``Resource``/``NotResource`` when the request names its resource in a way read here (the role of
  ``sts:AssumeRole``; the role, policy or user of an IAM call; the stack of a CloudFormation call; the
  bucket and key of an S3 call; the table of a DynamoDB call; the topic of an SNS publish). For any other
  request the resource is not known: an ``Allow``'s resources are taken to match (the action is still
  checked; this is the one place where the emulator can say yes where AWS says no), and a ``Deny``
  applies only when its resource is ``*``;
- conditions on the keys :func:`_context` knows (``aws:ResourceOrgID``, ``aws:ResourceAccount``,
  ``aws:PrincipalOrgID``, ``aws:PrincipalAccount``, ``aws:PrincipalArn``, ``aws:RequestedRegion``,
  ``aws:SecureTransport``, ``sts:ExternalId``) with the String, Arn, Bool and Null operators,
  ``...IfExists`` and ``ForAnyValue:``/``ForAllValues:``. A condition on any other key, or with another
  operator, never satisfies an ``Allow`` and always satisfies a ``Deny``;
- for ``sts:AssumeRole`` also the target role's trust policy: the caller's role ARN, its account (root or
  id) or ``*`` must be a principal of an ``Allow`` with its conditions met, and no ``Deny`` may match.

Denials answer ``AccessDenied`` (query protocols) or ``AccessDeniedException`` (JSON protocols) with
AWS's message naming the caller, the action and the resource.
"""

from __future__ import annotations

import fnmatch
import json
import re
import threading
from typing import Any
from urllib.parse import unquote

from emulator.sts_access import request_parameters

ENFORCED_PATHS: list[str] = ["/orgiam/"]

Response = tuple[int, dict[str, str], bytes]

# signing name -> IAM action prefix, where they differ
_PREFIX = {"monitoring": "cloudwatch", "email": "ses", "execute-api": "execute-api"}
_JSON_SERVICES = {"organizations", "dynamodb", "codepipeline", "codebuild", "events", "kms", "logs", "sso",
                  "identitystore", "ssm", "secretsmanager", "cloudtrail"}

_roles_lock = threading.Lock()
_role_of_key: dict[str, str | None] = {}  # access key -> role ARN (None: not an assumed role)


def clear() -> None:
    with _roles_lock:
        _role_of_key.clear()


def _partition(region: str) -> str:
    from moto.utilities.utils import get_partition

    return str(get_partition(region))


def _assumed_role_arn(account_id: str, access_key_id: str, region: str) -> str | None:
    if not access_key_id.startswith("ASIA"):
        return None
    with _roles_lock:
        if access_key_id in _role_of_key:
            return _role_of_key[access_key_id]
    from moto.sts.models import sts_backends

    arn = None
    try:
        backend = sts_backends[account_id][_partition(region)]
        for assumed in reversed(backend.assumed_roles):
            if assumed.access_key_id == access_key_id:
                arn = str(assumed.role_arn)
                break
    except KeyError:
        return None
    with _roles_lock:
        _role_of_key[access_key_id] = arn
    return arn


def _role(arn: str) -> Any:
    from moto.iam.models import iam_backends

    match = re.match(r"^arn:(aws[a-z-]*):iam::(\d{12}):role/(.+)$", arn)
    if not match:
        return None
    partition, account_id, path_and_name = match.groups()
    name = path_and_name.rsplit("/", 1)[-1]
    try:
        backend = iam_backends[account_id][partition]
    except KeyError:
        return None
    for role in list(backend.roles.values()):
        if role.name == name:
            return role
    return None


def _documents(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, dict):
        return [value]
    try:
        document = json.loads(unquote(value) if isinstance(value, str) and value.startswith("%7B") else value)
    except (TypeError, ValueError):
        return []
    return [document] if isinstance(document, dict) else []


def _managed_document(policy: Any) -> list[dict[str, Any]]:
    versions = getattr(policy, "versions", None) or []
    for version in versions:
        if getattr(version, "is_default", False):
            return _documents(version.document)
    return _documents(getattr(policy, "document", None))


def _identity_policies(role: Any, partition: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(identity documents, boundary documents) of a moto role; no boundary: an empty list."""
    from moto.iam.models import iam_backends

    documents: list[dict[str, Any]] = []
    for document in (getattr(role, "policies", None) or {}).values():
        documents += _documents(document)
    for policy in (getattr(role, "managed_policies", None) or {}).values():
        documents += _managed_document(policy)
    boundary: list[dict[str, Any]] = []
    boundary_arn = getattr(role, "permissions_boundary_arn", None)
    if boundary_arn:
        policy = iam_backends[role.account_id][partition].managed_policies.get(str(boundary_arn))
        # a boundary that cannot be read allows nothing
        boundary = _managed_document(policy) if policy is not None else [{"Statement": []}]
    return documents, boundary


def listed(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _pattern_matches(pattern: str, value: str, case: bool = False) -> bool:
    if pattern == "*":
        return True
    if not case:
        pattern, value = pattern.lower(), value.lower()
    return fnmatch.fnmatchcase(value, pattern.replace("[", "[[]"))


def _substitute(text: str, context: dict[str, list[str]]) -> str:
    def value(match: re.Match[str]) -> str:
        found = context.get(match.group(1).lower())
        return found[0] if found else match.group(0)

    return re.sub(r"\$\{([A-Za-z0-9:/_-]+)\}", value, text)


_STRING_OPS = {
    "stringequals": lambda want, have: want == have,
    "stringnotequals": lambda want, have: want != have,
    "stringequalsignorecase": lambda want, have: want.lower() == have.lower(),
    "stringnotequalsignorecase": lambda want, have: want.lower() != have.lower(),
    "stringlike": lambda want, have: _pattern_matches(want, have, case=True),
    "stringnotlike": lambda want, have: not _pattern_matches(want, have, case=True),
    "arnequals": lambda want, have: want == have,
    "arnlike": lambda want, have: _pattern_matches(want, have, case=True),
    "arnnotequals": lambda want, have: want != have,
    "arnnotlike": lambda want, have: not _pattern_matches(want, have, case=True),
    "bool": lambda want, have: str(want).lower() == str(have).lower(),
}
_NEGATED = {"stringnotequals", "stringnotequalsignorecase", "stringnotlike", "arnnotequals", "arnnotlike"}


def _condition_met(operator: str, key: str, wanted: Any, context: dict[str, list[str]]) -> bool | None:
    """True or False; None when the key or operator is not one evaluated here."""
    op = operator.lower()
    quantifier = ""
    if ":" in op:
        quantifier, op = op.split(":", 1)
    if_exists = op.endswith("ifexists")
    if if_exists:
        op = op[: -len("ifexists")]
    key = key.lower()
    if key not in context and key not in _KNOWN_KEYS:
        return None
    have = context.get(key)
    wants = [str(w) if not isinstance(w, bool) else str(w).lower() for w in listed(wanted)]
    if op == "null":
        return (have is None) == (wants[0].lower() == "true")
    if op not in _STRING_OPS:
        return None
    if have is None:
        return if_exists or op in _NEGATED
    test = _STRING_OPS[op]
    if op in _NEGATED:
        each = [all(test(_substitute(w, context), h) for w in wants) for h in have]
    else:
        each = [any(test(_substitute(w, context), h) for w in wants) for h in have]
    return all(each) if quantifier == "forallvalues" else any(each)


_KNOWN_KEYS = {"aws:resourceorgid", "aws:resourceaccount", "aws:principalorgid", "aws:principalaccount",
               "aws:principalarn", "aws:requestedregion", "aws:securetransport", "sts:externalid",
               "aws:multifactorauthpresent"}


def _conditions(statement: dict[str, Any], context: dict[str, list[str]]) -> bool:
    """Whether the statement's conditions hold; unknown ones hold for a Deny and fail an Allow."""
    deny = statement.get("Effect") == "Deny"
    for operator, block in (statement.get("Condition") or {}).items():
        if not isinstance(block, dict):
            return deny
        for key, wanted in block.items():
            met = _condition_met(operator, key, wanted, context)
            if met is None:
                if not deny:
                    return False
                continue
            if not met:
                return False
    return True


def statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in listed(document.get("Statement")) if isinstance(s, dict)]


def _action_applies(statement: dict[str, Any], action: str) -> bool:
    if "NotAction" in statement:
        return not any(_pattern_matches(p, action) for p in listed(statement["NotAction"]))
    return any(_pattern_matches(p, action) for p in listed(statement.get("Action")))


def _resource_applies(statement: dict[str, Any], resource: str | None, context: dict[str, list[str]]) -> bool:
    if resource is None:
        # not read here: an Allow is taken to cover it; a Deny only when it names every resource (a Deny of
        # some ARNs does not reach a call AWS authorizes on "*", such as iam:GetAccountAuthorizationDetails)
        return statement.get("Effect") != "Deny" or "*" in listed(statement.get("Resource"))
    if "NotResource" in statement:
        return not any(_pattern_matches(_substitute(p, context), resource, case=True)
                       for p in listed(statement["NotResource"]))
    return any(_pattern_matches(_substitute(p, context), resource, case=True) for p in listed(statement.get("Resource")))


def evaluate(documents: list[dict[str, Any]], action: str, resource: str | None,
             context: dict[str, list[str]]) -> str:
    """``deny`` (explicit), ``allow`` or ``implicit`` for ``action`` on ``resource`` under ``documents``."""
    allowed = False
    for document in documents:
        for statement in statements(document):
            if not _action_applies(statement, action) or not _resource_applies(statement, resource, context):
                continue
            if not _conditions(statement, context):
                continue
            if statement.get("Effect") == "Deny":
                return "deny"
            if statement.get("Effect") == "Allow":
                allowed = True
    return "allow" if allowed else "implicit"


def names_account(principal: Any, account_id: str) -> bool:
    """Whether a Principal element names the whole account ``account_id`` (its id, its root, or everyone); a role
    or user of it does not count here."""
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return False
    return any(str(entry) in ("*", account_id) or str(entry).endswith(f":iam::{account_id}:root")
               for entry in listed(principal.get("AWS")))


def _principal_matches(principal: Any, caller_arn: str, caller_account: str) -> bool:
    """The caller's account as a whole, or the caller's role by its ARN."""
    return names_account(principal, caller_account) or (
        isinstance(principal, dict) and caller_arn in [str(e) for e in listed(principal.get("AWS"))])


def trust_allows(trust: dict[str, Any], caller_arn: str, caller_account: str, context: dict[str, list[str]]) -> bool:
    allowed = False
    for statement in statements(trust):
        if not _action_applies(statement, "sts:AssumeRole"):
            continue
        if not _principal_matches(statement.get("Principal"), caller_arn, caller_account):
            continue
        if not _conditions(statement, context):
            continue
        if statement.get("Effect") == "Deny":
            return False
        allowed = allowed or statement.get("Effect") == "Allow"
    return allowed


def _organization_of(account_id: str) -> str | None:
    """The organization ``account_id`` is in (as its management account or a member), or None."""
    from moto.organizations.models import organizations_backends

    management, partition = organizations_backends.master_accounts.get(account_id, (account_id, "aws"))
    try:
        org = organizations_backends[management][partition].org
    except KeyError:
        return None
    return str(org.id) if org is not None else None


def _path_of(account_id: str, partition: str, attribute: str, name: str) -> str | None:
    """The path of an existing IAM user or group, which the request does not carry."""
    from moto.iam.models import iam_backends

    try:
        found = getattr(iam_backends[account_id][partition], attribute).get(name)
    except KeyError:
        return None
    return getattr(found, "path", None)


def _resource(service: str, operation: str, params: dict[str, str], account_id: str, region: str,
              partition: str, path: str) -> str | None:
    """The ARN the request acts on, where it is read here; None when it is not."""
    if service == "sts" and operation == "AssumeRole":
        return params.get("RoleArn")
    if service == "iam":
        role = params.get("RoleName")
        if role:
            found = _role(f"arn:{partition}:iam::{account_id}:role/{role}")
            role_path = getattr(found, "path", None) or params.get("Path") or "/"
            return f"arn:{partition}:iam::{account_id}:role{role_path}{role}"
        if params.get("PolicyArn"):
            return params["PolicyArn"]
        for kind, key, attribute in (("user", "UserName", "users"), ("group", "GroupName", "groups")):
            if params.get(key):
                path = params.get("Path") or _path_of(account_id, partition, attribute, params[key]) or "/"
                return f"arn:{partition}:iam::{account_id}:{kind}{path}{params[key]}"
        return None
    if service == "cloudformation":
        stack = params.get("StackName")
        if stack:
            return stack if stack.startswith("arn:") else f"arn:{partition}:cloudformation:{region}:{account_id}:stack/{stack}/*"
        stack_set = params.get("StackSetName")
        if stack_set:
            return stack_set if stack_set.startswith("arn:") else \
                f"arn:{partition}:cloudformation:{region}:{account_id}:stackset/{stack_set}:*"
        return None
    if service == "s3":
        parts = [p for p in path.split("/", 2)[1:] if p]
        if not parts:
            return None
        return f"arn:{partition}:s3:::{'/'.join(parts)}"
    if service == "dynamodb" and params.get("TableName"):
        return f"arn:{partition}:dynamodb:{region}:{account_id}:table/{params['TableName']}"
    if service == "sns" and params.get("TopicArn"):
        return params["TopicArn"]
    return None


def _context(caller_arn: str, caller_account: str, region: str, resource: str | None,
             params: dict[str, str]) -> dict[str, list[str]]:
    context: dict[str, list[str]] = {
        "aws:principalarn": [caller_arn],
        "aws:principalaccount": [caller_account],
        "aws:requestedregion": [region],
        "aws:securetransport": ["true"],
    }
    org = _organization_of(caller_account)
    if org:
        context["aws:principalorgid"] = [org]
    resource_account = None
    if resource and resource.startswith("arn:"):
        fields = resource.split(":")
        if len(fields) > 4 and fields[4].isdigit():
            resource_account = fields[4]
    if resource_account:
        context["aws:resourceaccount"] = [resource_account]
        resource_org = _organization_of(resource_account)
        if resource_org:
            context["aws:resourceorgid"] = [resource_org]
    if params.get("ExternalId"):
        context["sts:externalid"] = [params["ExternalId"]]
    return context


_BUCKET_SUBRESOURCES = {
    ("GET", "acl"): "GetBucketAcl", ("GET", "location"): "GetBucketLocation", ("GET", "policy"): "GetBucketPolicy",
    ("GET", "versioning"): "GetBucketVersioning", ("GET", "tagging"): "GetBucketTagging",
    ("GET", "encryption"): "GetEncryptionConfiguration", ("GET", "versions"): "ListBucketVersions",
    ("PUT", "policy"): "PutBucketPolicy", ("DELETE", "policy"): "DeleteBucketPolicy", ("PUT", "acl"): "PutBucketAcl",
    ("PUT", "versioning"): "PutBucketVersioning", ("PUT", "tagging"): "PutBucketTagging",
}


def s3_action(method: str, path: str, query: str) -> str:
    """The IAM action of an S3 REST request (path-style), from its method, path and sub-resource."""
    parts = [p for p in path.split("/", 2)[1:] if p]
    subresources = {item.split("=", 1)[0] for item in query.split("&") if item}
    if len(parts) >= 2:  # an object
        if "uploads" in subresources or "uploadId" in subresources:
            return "AbortMultipartUpload" if method == "DELETE" else "PutObject"
        if "tagging" in subresources:
            return {"GET": "GetObjectTagging", "PUT": "PutObjectTagging"}.get(method, "DeleteObjectTagging")
        version = "Version" if "versionId" in subresources else ""
        return {"GET": f"GetObject{version}", "HEAD": f"GetObject{version}", "PUT": "PutObject",
                "DELETE": f"DeleteObject{version}"}.get(method, f"{method} object")
    for (verb, name), action in _BUCKET_SUBRESOURCES.items():
        if verb == method and name in subresources:
            return action
    if not parts:
        return "ListAllMyBuckets"
    return {"GET": "ListBucket", "HEAD": "ListBucket", "PUT": "CreateBucket", "DELETE": "DeleteBucket",
            "POST": "DeleteObject"}.get(method, f"{method} bucket")


def _denied(caller: str, action: str, resource: str | None, service: str, because: str) -> Response:
    message = f"User: {caller} is not authorized to perform: {action} on resource: {resource or '*'} {because}".strip()
    if service in _JSON_SERVICES:
        code = "AccessDeniedException"
        body = json.dumps({"__type": code, "message": message, "Message": message}).encode()
        return 400, {"Content-Type": "application/x-amz-json-1.1", "x-amzn-ErrorType": code}, body
    from xml.sax.saxutils import escape

    body = (f'<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>{escape(message)}'
            f"</Message></Error><RequestId>orgiam-emulator</RequestId></ErrorResponse>").encode()
    status = 403
    return status, {"Content-Type": "text/xml"}, body


def _session_arn(role_arn: str, partition: str) -> str:
    account = role_arn.split(":")[4]
    name = role_arn.rsplit("/", 1)[-1]
    return f"arn:{partition}:sts::{account}:assumed-role/{name}/session"


def denial(service: str, operation: str, account_id: str, access_key_id: str, region: str,
           environ: dict[str, Any], body: bytes) -> Response | None:
    """The AccessDenied answer for this request, or None when it may go on to moto."""
    role_arn = _assumed_role_arn(account_id, access_key_id, region)
    if role_arn is None:
        return None
    role = _role(role_arn)
    if role is None or not any(str(role.path).startswith(p) for p in ENFORCED_PATHS):
        return None
    if service == "sts" and operation == "GetCallerIdentity":
        return None  # always allowed, even under an explicit Deny
    partition = _partition(region)
    if service == "s3":
        operation = s3_action(str(environ.get("REQUEST_METHOD", "GET")).upper(), str(environ.get("PATH_INFO", "/")),
                              str(environ.get("QUERY_STRING", "")))
    action = f"{_PREFIX.get(service, service)}:{operation}"
    params = request_parameters(environ, body)
    path = str(environ.get("PATH_INFO", "/"))
    resource = _resource(service, operation, params, account_id, region, partition, path)
    context = _context(role_arn, account_id, region, resource, params)
    documents, boundary = _identity_policies(role, partition)
    caller = _session_arn(role_arn, partition)
    verdict = evaluate(documents, action, resource, context)
    if verdict == "deny":
        return _denied(caller, action, resource, service, "with an explicit deny in an identity-based policy")
    if verdict != "allow":
        return _denied(caller, action, resource, service, "because no identity-based policy allows the action")
    if boundary and evaluate(boundary, action, resource, context) != "allow":
        return _denied(caller, action, resource, service, "because no permissions boundary allows the action")
    if service == "sts" and operation == "AssumeRole" and resource:
        target = _role(resource)
        if target is not None:
            trust = _documents(target.assume_role_policy_document)
            if not trust or not trust_allows(trust[0], role_arn, account_id, context):
                return _denied(caller, action, resource, service, "")
    return None
