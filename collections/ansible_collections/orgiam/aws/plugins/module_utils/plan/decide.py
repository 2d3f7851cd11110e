# -*- coding: utf-8 -*-
# Copyright: orgiam developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Decide: what to do with one stack, given what is deployed and what is desired.

Pure: no AWS call. The observed stack comes from ``aws.cloudformation.describe_stack``; every
kind of task orgiam deploys (member, central, bootstrap stacks, stack sets) decides here.
"""

from __future__ import annotations

from ..model import DELETE_FAILED, FAILED_CREATE, MANAGED_BY_TAG, NEEDS_CONTINUE, STABLE, Action, Decision, StackState


def decide(observed: StackState | None, desired_hash: str | None, prune: str) -> Decision:
    """What to do. ``desired_hash`` None means the stack should not exist."""
    if observed is not None and not observed.managed_by_orgiam:
        if desired_hash is None:
            return Decision(Action.NOOP, f"stack {observed.name} is not orgiam's; left alone")
        return Decision(
            Action.REFUSE,
            f"stack {observed.name} exists but orgiam did not create it (no {MANAGED_BY_TAG} tag); "
            "rename or remove it, or change stack_prefix in settings.yml",
            "NotOrgiamStack",
        )
    if desired_hash is None:
        if observed is None:
            return Decision(Action.NOOP, "no roles target this account")
        if prune == "apply":
            return Decision(Action.DELETE, "no roles target this account any more (prune: apply)")
        return Decision(Action.RETAIN, f"no roles target this account any more; kept because prune is '{prune}'")
    if observed is None:
        return Decision(Action.CREATE, "new stack")
    status = observed.status
    if status == "REVIEW_IN_PROGRESS":  # a CREATE change set never executed: it never ends by itself
        return Decision(Action.RECREATE, "stack is REVIEW_IN_PROGRESS (a change set that was never executed); "
                                         "delete it and create again")
    if status.endswith("_IN_PROGRESS"):
        return Decision(Action.WAIT, f"stack is {status}")
    if status in FAILED_CREATE:
        return Decision(Action.RECREATE, f"stack is {status} after a failed create; delete and create again")
    if status in NEEDS_CONTINUE:
        return Decision(Action.CONTINUE_AND_UPDATE, f"stack is {status}; continue the rollback, then update")
    if status in DELETE_FAILED:
        return Decision(Action.RECREATE, f"stack is {status}; retry the delete, then create")
    if status in STABLE:
        if observed.template_hash == desired_hash:
            return Decision(Action.NOOP, "up to date")
        return Decision(Action.UPDATE, "template or parameters changed")
    return Decision(Action.REFUSE, f"stack is in an unexpected state {status}", "UnexpectedState")
