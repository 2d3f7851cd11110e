"""``sts:AssumeRole`` into another account is denied when that account has no such role, as in AWS.

moto hands out credentials for any role ARN, so a deleted ``OrganizationAccountAccessRole`` (or an
account without one) still looks reachable. The emulator answers ``AccessDenied`` with AWS's message
instead, before moto sees the request. Only the role's existence is checked (the role's trust policy
and the caller's permissions are not evaluated), and only across accounts: a role in the caller's own
account is left to moto as before.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

_ROLE_ARN = re.compile(r"^arn:(aws[a-z-]*):iam::(\d{12}):role/(.+)$")
_STS_NAMESPACE = "https://sts.amazonaws.com/doc/2011-06-15/"

Response = tuple[int, dict[str, str], bytes]


def request_parameters(environ: dict[str, Any], body: bytes) -> dict[str, str]:
    """The query-protocol parameters of a request, from its query string and form body."""
    values = parse_qs(str(environ.get("QUERY_STRING", "")))
    if body and "json" not in str(environ.get("CONTENT_TYPE", "")):
        values.update(parse_qs(body.decode("utf-8", errors="replace")))
    elif body:
        try:
            document = json.loads(body)
        except ValueError:
            document = {}
        return {str(k): str(v) for k, v in document.items()} if isinstance(document, dict) else {}
    return {key: items[0] for key, items in values.items() if items}


def _role_exists(account_id: str, partition: str, path_and_name: str) -> bool:
    from moto.iam.models import iam_backends

    if account_id not in iam_backends or partition not in iam_backends[account_id]:
        return False
    backend = iam_backends[account_id][partition]
    name = path_and_name.rsplit("/", 1)[-1]
    path = "/" + path_and_name[: -len(name)] if "/" in path_and_name else "/"
    return any(role.name == name and role.path == path for role in list(backend.roles.values()))


def caller_arn(access_key_id: str, account_id: str, region: str) -> str:
    from moto.sts.models import sts_backends
    from moto.utilities.utils import get_partition

    try:
        _, arn, _ = sts_backends[account_id][get_partition(region)].get_caller_identity(access_key_id, region)
        return str(arn)
    except Exception:
        return f"arn:{get_partition(region)}:sts::{account_id}:user/moto"


def denial(caller_account_id: str, access_key_id: str, region: str, parameters: dict[str, str]) -> str | None:
    """AWS's AccessDenied message when the role is in another account that does not have it; else None."""
    role_arn = parameters.get("RoleArn", "")
    match = _ROLE_ARN.match(role_arn)
    if match is None:
        return None  # moto answers a malformed ARN itself
    partition, account_id, path_and_name = match.groups()
    if account_id == caller_account_id or _role_exists(account_id, partition, path_and_name):
        return None
    caller = caller_arn(access_key_id, caller_account_id, region)
    return f"User: {caller} is not authorized to perform: sts:AssumeRole on resource: {role_arn}"


def access_denied(message: str) -> Response:
    body = (
        f'<ErrorResponse xmlns="{_STS_NAMESPACE}"><Error><Type>Sender</Type><Code>AccessDenied</Code>'
        f"<Message>{escape(message)}</Message></Error><RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
    )
    return 403, {"Content-Type": "text/xml"}, body.encode()
