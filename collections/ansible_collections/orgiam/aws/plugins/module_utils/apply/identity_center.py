# -*- coding: utf-8 -*-
# Copyright: orgiam developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The operator of the Identity Center stack (render/identity_center.py): a rendered stack like the central
one, whose plan says, first, which group gains or loses which role (permission set) in which account."""

from __future__ import annotations

from typing import Any

from ..aws import cloudformation as cfn_ops
from ..model import Task
from ..plan.access import access_changes, identity_center_access
from .operators import Context, Operator


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
