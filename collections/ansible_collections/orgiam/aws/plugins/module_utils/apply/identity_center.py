# -*- coding: utf-8 -*-
# Copyright: orgiam developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The operator of the Identity Center stack (render/identity_center.py): a rendered stack like the central
one, whose plan says, first, which group gains or loses which role (permission set) in which account.

A role dropped from the catalog keeps its permission set, with no assignment left, unless prune is 'apply'
(as a member role no longer targeted stays in its stack and nobody is granted it)."""

from __future__ import annotations

from typing import Any

from ..aws import cloudformation as cfn_ops
from ..model import Decision, Result, StackState, Task
from ..plan.access import access_changes, identity_center_access
from ..render.common import desired_template
from ..render.identity_center import PERMISSION_SET
from .operators import Context, Operator, keep_removed, with_retained


class IdentityCenterOperator(Operator):
    rendered = True

    def deployed_document(self, ctx: Context, cfn: Any, task: Task) -> dict[str, Any] | None:
        return cfn_ops.get_template(cfn, task.name)

    def desired_document(self, ctx: Context, task: Task) -> dict[str, Any] | None:
        return task.desired.document

    def verifies(self, ctx: Context, task: Task) -> bool:
        return False  # its resources are not IAM's: plan/drift.py does not read them back (docs/operations.md)

    def access_changes(self, task: Task, before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[dict[str, str]]:
        return access_changes(identity_center_access(before), identity_center_access(after))

    def decide(self, ctx: Context, cfn: Any, task: Task, state: Any, result: Result) -> Decision:
        self._keep_removed_permission_sets(ctx, cfn, task, state, result)
        return with_retained(super().decide(ctx, cfn, task, state, result), result)

    def _keep_removed_permission_sets(self, ctx: Context, cfn: Any, task: Task, state: StackState | None, result: Result) -> None:
        _, kept = keep_removed(ctx, cfn, task, state, PERMISSION_SET)
        if not kept:
            return
        template = task.desired.document
        task.desired = desired_template(dict(template, Resources={**template["Resources"], **kept}))
        result.retained = sorted(str(r["Properties"]["Name"]) for r in kept.values())
        result.reason = (f"keeps permission set(s) {', '.join(result.retained)} (no longer in the catalog, assigned to "
                         f"nobody; prune is '{ctx.prune}')")
