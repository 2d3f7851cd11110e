"""Bucket policies evaluated as S3 evaluates them, where moto's evaluation says no where AWS says yes.

moto 5.2.5 checks a bucket's policy on object requests (``FakeBucket.get_permission``) with its IAM
evaluator, which answers "denied" for any statement whose condition it cannot match, ``Deny`` and
``Allow`` alike. The usual guard of a bucket, ``Deny`` ``s3:*`` to everyone when
``aws:SecureTransport`` is ``false``, thus refuses every object request, from anyone, over any
transport; so does a ``Deny`` that names only some roles (moto does not read ``Principal`` there).

Here a bucket policy's statements are evaluated with the emulator's evaluator (``emulator.iam_enforce``):
conditions on the keys it knows (``aws:SecureTransport`` is ``true``: clients reach the emulator as they
would reach S3 over HTTPS), wildcards, ``NotAction``/``NotResource``. moto does not tell who is calling
at that point, so only statements whose principal is everyone (``"*"`` or ``{"AWS": "*"}``) are applied;
a statement naming principals is left out, which makes the emulator answer yes where AWS could say no
for those principals: the identity policies of orgiam's own roles are still enforced
(``emulator.iam_enforce``), and orgiam's templates never rely on a bucket policy alone.
"""

from __future__ import annotations

import json
from typing import Any

from emulator.iam_enforce import evaluate

_installed = False


def _for_everyone(statement: dict[str, Any]) -> bool:
    principal = statement.get("Principal")
    return principal == "*" or (isinstance(principal, dict) and principal.get("AWS") in ("*", ["*"]))


def get_permission(self: Any, action: str, resource: str) -> Any:
    from moto.iam.access_control import PermissionResult

    if self.policy is None:
        return PermissionResult.NEUTRAL
    try:
        document = json.loads(self.policy.decode() if isinstance(self.policy, bytes) else self.policy)
    except ValueError:
        return PermissionResult.NEUTRAL
    statements = document.get("Statement") or []
    statements = [s for s in (statements if isinstance(statements, list) else [statements])
                  if isinstance(s, dict) and _for_everyone(s)]
    context = {"aws:securetransport": ["true"]}
    verdict = evaluate([{"Statement": statements}], action, resource, context)
    return {"deny": PermissionResult.DENIED, "allow": PermissionResult.PERMITTED}.get(verdict, PermissionResult.NEUTRAL)


def install() -> None:
    global _installed
    if _installed:
        return
    from moto.s3.models import FakeBucket

    FakeBucket.get_permission = get_permission  # type: ignore[method-assign]
    _installed = True
