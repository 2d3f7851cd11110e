# -*- coding: utf-8 -*-
# Copyright: orgiam developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The engine: observe, decide, preview, apply and account for one task, whatever its kind.

Sync and bootstrap both run their tasks through :class:`Engine`; the kind of a task picks its
operator (``operators.py``). A task either is planned here from what is observed, or comes from a
saved plan: then it is applied only when the stack is as the plan saw it, and refused as stale
otherwise. Every failure stays with its task: the result says what failed and why, in one line
(a programming error keeps its traceback for ``-vvv``).
"""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass, field
from typing import Any

from ..aws.errors import AwsAccessError, explain_aws_error, is_transient
from ..model import DONE_BY_ACTION, Action, Kind, PlannedTask, Result, Status, Task
from .operators import OPERATORS, Context, Operator
from .identity_center import IdentityCenterOperator
from .org_policies import OrgPoliciesOperator
from .role_stacksets import RoleStackSetOperator


@dataclass
class Engine:
    ctx: Context
    operators: dict[Any, Operator] = field(default_factory=lambda: {
        **OPERATORS, Kind.ORG_POLICIES: OrgPoliciesOperator(), Kind.IDENTITY_CENTER: IdentityCenterOperator(),
        Kind.ROLE_STACKSET: RoleStackSetOperator()})

    def operator(self, task: Task) -> Operator:
        return self.operators[task.kind]

    # --- the two halves, for runs that plan everything before applying anything (bootstrap) ---

    def plan(self, task: Task, result: Result | None = None) -> Result:
        """Observe the task's target and decide what to do; preview it in check or diff mode. Never raises."""
        result = result or Result(task)
        started = time.monotonic()
        try:
            op, cfn, state = self._observe(task, result)
            decision = op.decide(self.ctx, cfn, task, state, result)
            if decision.action == Action.WAIT:
                state = op.settle(self.ctx, cfn, task)
                decision = op.decide(self.ctx, cfn, task, state, result)
            result.state, result.observed = state, op.fingerprint(state)
            result.action, result.reason = decision.action, _join(decision.reason, result.reason)
            if decision.action == Action.REFUSE:
                raise AwsAccessError(decision.reason, decision.code or "Refused")
            if result.changes_planned:
                op.preview(self.ctx, cfn, task, state, result)
            result.status = _planned_status(result)
        except Exception as exc:  # the task fails alone; the error is kept for the report
            _fail(result, exc)
        self._account(result, started)
        return result

    def apply(self, result: Result) -> Result:
        """Do what was decided for a planned task. Never raises; a failure is recorded on the result."""
        if result.status in (Status.FAILED, Status.STALE, Status.SKIPPED):
            return result
        task = result.task
        started = time.monotonic()
        try:
            op = self.operator(task)
            if result.changes_planned:
                cfn = op.client(self.ctx, task)
                if self.ctx.before_write is not None and result.observed_at < self.ctx.before_write():
                    # planned before this run could write: someone else may have written since
                    again = op.fingerprint(op.observe(self.ctx, cfn, task))
                    if again != result.observed:
                        return self._replan(result, again, started)
                result.state = op.apply(self.ctx, cfn, task, result.state, result)
            result.status = DONE_BY_ACTION.get(result.action, Status.UNCHANGED)
        except Exception as exc:
            _fail(result, exc)
        self._account(result, started, add=True)
        return result

    def _replan(self, result: Result, now: dict[str, str], started: float) -> Result:
        """The stack changed between the plan and the lock. A saved plan's task is stale; a fresh one is planned again."""
        if self.ctx.plan_id:
            _stale(result, result.observed, now)
            self._account(result, started, add=True)
            return result
        return self.apply(self.plan(result.task))

    # --- one task at a time (sync): plan then apply in the same worker ---

    def run(self, task: Task, planned: PlannedTask | None = None) -> Result:
        """Plan (or check against a saved plan) and, unless in check mode, apply one task.

        A transient failure (past botocore's own retries) runs the task again from its observation, which
        sees whatever the failed attempt did: a stack it created is waited for, not created twice."""
        attempts = max(1, self.ctx.task_attempts)
        first: Result | None = None
        for attempt in range(1, attempts + 1):
            result = self.plan(task) if planned is None else self.verify(task, planned)
            if not self.ctx.check:
                result = self.apply(result)
            first = first or result
            if result.status != Status.FAILED or not result.transient or attempt == attempts:
                if attempt > 1:
                    _after_retries(result, first, attempt, attempts)
                return result
            self.ctx.clock.sleep(self.ctx.retry_pause * attempt)
        raise AssertionError("unreachable")

    def run_derived(self, task: Task, planned_observed: dict[str, str] | None, planned_hash: str | None) -> Result:
        """A saved plan's task whose template is derived when the plan is applied (the central stack, from how
        the members went): planned afresh, but refused as stale when its stack changed since the plan, unless
        another part of the same plan changed it."""
        result = self.plan(task)
        if result.status == Status.FAILED or planned_observed is None:
            return result if self.ctx.check or result.status == Status.FAILED else self.apply(result)
        if result.observed != planned_observed and not self.operator(task).written_by_plan(result.state, self.ctx.plan_id):
            return _stale(result, planned_observed, result.observed)
        if planned_hash and task.desired.hash != planned_hash:
            result.details.append("differs from the plan: some accounts were not applied as planned (failed, stale or in "
                                  "another part of the plan) and keep the grants they had")
        return result if self.ctx.check else self.apply(result)

    def verify(self, task: Task, planned: PlannedTask) -> Result:
        """A saved plan's task: observe, refuse as stale when the target changed since the plan, else take the
        plan's decision as it is."""
        result = Result(task, details=list(planned.details), retained=list(planned.retained))
        task.desired = planned.desired
        started = time.monotonic()
        try:
            op, cfn, state = self._observe(task, result)
            now = op.fingerprint(state)
            result.state, result.observed = state, now
            if now != planned.observed:  # each task is in one part of a plan: any change is someone else's
                result.action = planned.action
                _stale(result, planned.observed, now)
            else:
                result.action, result.reason, result.deploy_to = planned.action, planned.reason, planned.deploy_to
                if result.changes_planned and (self.ctx.check or self.ctx.diff):
                    op.preview(self.ctx, cfn, task, state, result)
                result.status = _planned_status(result)
        except Exception as exc:
            _fail(result, exc)
        self._account(result, started)
        return result

    def _observe(self, task: Task, result: Result) -> tuple[Operator, Any, Any]:
        op = self.operator(task)
        cfn = op.client(self.ctx, task)
        state = op.observe(self.ctx, cfn, task)
        result.observed_at = time.monotonic()
        return op, cfn, state

    def _account(self, result: Result, started: float, add: bool = False) -> None:
        seconds = round(time.monotonic() - started, 3)
        result.seconds = round(result.seconds + seconds, 3) if add else seconds
        result.api_calls = self.ctx.clients.call_log.total(result.task.account_id)


def _stale(result: Result, then: dict[str, str], now: dict[str, str]) -> Result:
    """Refuse a task whose stack is no longer as the plan saw it."""
    result.status = Status.STALE
    result.reason = (f"changed since the plan ({describe_fingerprint(then)} then, {describe_fingerprint(now)} now): "
                     "not applied; make a new plan")
    return result


def _after_retries(result: Result, first: Result, attempt: int, attempts: int) -> None:
    """A task that succeeded after a transient failure: when the failed attempt's change took effect after all
    (the retry found the stack changed and nothing left to do), report that change."""
    if result.status == Status.FAILED:
        result.details.append(f"failed {attempts} times")
        return
    if result.action == Action.NOOP and first.changes_planned and result.observed != first.observed:
        result.action, result.status = first.action, DONE_BY_ACTION.get(first.action, Status.UPDATED)
        result.reason = f"{first.reason}; done by attempt {attempt - 1}, whose answer was lost"
    result.details.append(f"succeeded at attempt {attempt} of {attempts}")


def _planned_status(result: Result) -> Status:
    if result.changes_planned:
        return Status.PLANNED
    return Status.RETAINED if result.action == Action.RETAIN else Status.UNCHANGED


def _join(first: str, second: str) -> str:
    return f"{first}; {second}" if first and second else first or second


def _fail(result: Result, exc: BaseException) -> None:
    error = explain_aws_error(exc)
    result.fail(str(error), error.code)
    result.transient = is_transient(exc)
    if not isinstance(exc, AwsAccessError) and not _is_botocore(exc):
        # not an AWS answer: a bug of ours. One line in the report, the traceback for -vvv.
        result.traceback = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))


def _is_botocore(exc: BaseException) -> bool:
    return type(exc).__module__.startswith(("botocore", "boto3", "urllib3"))


def describe_fingerprint(observed: dict[str, str]) -> str:
    if not observed:
        return "no stack"
    if "enabled" in observed:
        return "enabled" if observed["enabled"] == "true" else "not enabled"
    hash_part = f", hash {observed.get('hash', '')[:8]}" if observed.get("hash") else ""
    return f"{observed.get('status', '?')}{hash_part}"
