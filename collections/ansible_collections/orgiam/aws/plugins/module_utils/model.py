# -*- coding: utf-8 -*-
# Copyright: orgiam developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The plain data that every step of orgiam hands to the next.

Accounts (what discovery found), stack states (what AWS holds), tasks (one thing orgiam deploys:
where, what, and what the plan decided) and results (what happened), with the actions and statuses
as enums. Standard library only, and nothing of orgiam's: every other module may import this one,
and it imports none of them, so no lower layer ever depends on a higher one.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

ACTIVE = "ACTIVE"

# the tags orgiam puts on every stack, stack set and role it owns
MANAGED_BY_TAG = "orgiam:managed-by"
MANAGED_BY_VALUE = "orgiam"
HASH_TAG = "orgiam:template-hash"
KIND_TAG = "orgiam:stack-kind"
PLAN_TAG = "orgiam:plan-id"  # on stacks applied from a saved plan: which plan last wrote them

# CloudFormation stack statuses, by what orgiam can do from them
STABLE = frozenset({"CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE", "IMPORT_COMPLETE", "IMPORT_ROLLBACK_COMPLETE"})
FAILED_CREATE = frozenset({"ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "CREATE_FAILED"})
NEEDS_CONTINUE = frozenset({"UPDATE_ROLLBACK_FAILED"})
DELETE_FAILED = frozenset({"DELETE_FAILED"})


class Action(str, enum.Enum):
    """What the plan decided for one task."""

    NOOP = "none"
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    RECREATE = "recreate"  # delete a stack whose create (or delete) failed, then create it again
    CONTINUE_AND_UPDATE = "continue-rollback-then-update"
    RETAIN = "retain"  # would delete, but the prune policy says not to
    WAIT = "wait"  # an operation is in progress: wait for it, then decide again
    REFUSE = "refuse"  # something orgiam does not own sits where orgiam would deploy
    REPAIR = "repair"  # the stack is up to date, but what it owns was changed by hand: put it back
    ACTIVATE = "activate"  # switch a feature on (StackSets' trusted access)
    DEPLOY = "deploy"  # a current stack set that must reach more targets

    def __str__(self) -> str:
        return self.value


CHANGING = frozenset({Action.CREATE, Action.UPDATE, Action.DELETE, Action.RECREATE, Action.CONTINUE_AND_UPDATE,
                      Action.ACTIVATE, Action.DEPLOY, Action.REPAIR})


class Status(str, enum.Enum):
    """How one task ended."""

    UNCHANGED = "unchanged"
    CREATED = "created"
    UPDATED = "updated"
    DELETED = "deleted"
    RETAINED = "retained"
    PLANNED = "planned"  # check mode: the change is planned, nothing was written
    FAILED = "failed"
    SKIPPED = "skipped"
    STALE = "stale"  # a saved plan's task whose stack changed since the plan: refused
    REPAIRED = "repaired"  # what was changed by hand was put back

    def __str__(self) -> str:
        return self.value


DONE_BY_ACTION = {
    Action.CREATE: Status.CREATED,
    Action.UPDATE: Status.UPDATED,
    Action.DELETE: Status.DELETED,
    Action.RECREATE: Status.CREATED,
    Action.CONTINUE_AND_UPDATE: Status.UPDATED,
    Action.ACTIVATE: Status.UPDATED,
    Action.DEPLOY: Status.UPDATED,
    Action.RETAIN: Status.RETAINED,
    Action.REPAIR: Status.REPAIRED,
}


class Kind(str, enum.Enum):
    """The kinds of task the engine knows; each has one operator (see apply/operators.py)."""

    MEMBER = "member"  # the trust roles of one member account
    CENTRAL = "central"  # the central account's groups, users or federated roles
    STACK = "stack"  # a bootstrap stack deployed from a template file with parameters
    STACKSET = "stackset"  # a service-managed stack set (bootstrap's deployer role)
    TRUSTED_ACCESS = "trusted-access"  # StackSets' trusted access with Organizations
    RELEASE = "release"  # the orgiam release the pipeline runs, in its artifact bucket
    DELEGATED_ADMIN = "delegated-admin"  # an account registered as delegated administrator for StackSets
    ORGANIZATION_POLICY = "organization-policy"  # orgiam's statement in the Organizations resource-based delegation policy
    ORG_POLICIES = "org-policies"  # the catalog's SCPs and RCPs, one stack in the management account
    POLICY_TYPES = "policy-types"  # the organization policy types enabled on the root (bootstrap)
    IDENTITY_CENTER = "identity-center"  # permission sets and account assignments, one stack (identity_center mode)
    ROLE_STACKSET = "role-stackset"  # one catalog role's service-managed stack set (settings.yml engine: stacksets)

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Account:
    id: str
    name: str
    ou_path: str = ""
    status: str = ACTIVE
    tags: tuple[tuple[str, str], ...] = ()
    is_management: bool = False
    hostname: str = ""
    roles_add: tuple[str, ...] = ()
    roles_remove: tuple[str, ...] = ()

    @property
    def active(self) -> bool:
        return self.status == ACTIVE

    def tag(self, key: str) -> str | None:
        for k, v in self.tags:
            if k == key:
                return v
        return None


@dataclass(frozen=True)
class StackState:
    """What DescribeStacks says about one stack (or a stack set, in the same terms)."""

    name: str
    status: str
    tags: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    stack_id: str = ""
    status_reason: str = ""

    @property
    def managed_by_orgiam(self) -> bool:
        return self.tags.get(MANAGED_BY_TAG) == MANAGED_BY_VALUE

    @property
    def template_hash(self) -> str:
        return self.tags.get(HASH_TAG, "")

    @property
    def plan_id(self) -> str:
        return self.tags.get(PLAN_TAG, "")


@dataclass(frozen=True)
class VerifiedState(StackState):
    """A stack whose resources were compared with the live IAM state (``verify: live``).

    ``drift`` holds one entry per difference (``plan.drift.Drift``: resource, property, before, after),
    ``template`` the deployed template it was compared against, ``digest`` a short hash of the drift."""

    drift: tuple[Any, ...] = ()
    template: Any = field(default=None, compare=False, repr=False)
    digest: str = ""
    exposure: tuple[dict[str, Any], ...] = ()  # central account: other principals that may assume orgiam's roles


def fingerprint(state: StackState | None) -> dict[str, str]:
    """What a saved plan remembers of a stack, to tell later whether it changed: {} for no stack.

    A live-verified stack also remembers its drift: a hand change after the plan makes the task stale."""
    if state is None:
        return {}
    seen = {"status": state.status, "hash": state.template_hash, "stack_id": state.stack_id}
    if isinstance(state, VerifiedState):
        seen["drift"] = state.digest
    return seen


@dataclass(frozen=True)
class Decision:
    action: Action
    reason: str
    code: str = ""  # for a refusal: the error code the task fails with

    @property
    def changes(self) -> bool:
        return self.action in CHANGING


@dataclass(frozen=True)
class Desired:
    """What a task must deploy: a template (its text, and its document when orgiam rendered it) with
    parameters, or nothing (``body`` None: the stack must not exist)."""

    body: str | None
    hash: str | None
    parameters: dict[str, str] = field(default_factory=dict)
    document: dict[str, Any] | None = None  # the template as data, for resource-level diffs
    source_path: str = ""  # a template file, as people know it (bootstrap)
    extra: dict[str, Any] = field(default_factory=dict)  # what else the hash covers (stack set targets)

    @property
    def exists(self) -> bool:
        return self.body is not None


NOTHING = Desired(None, None)


@dataclass
class Task:
    """One thing orgiam deploys, where, and (once planned) what it was planned from and to do."""

    key: str
    kind: Kind
    account_id: str
    account_name: str
    region: str
    name: str  # the stack or stack set
    desired: Desired = NOTHING
    hostname: str = ""
    ou_path: str = ""
    title: str = ""
    stack_kind: str = ""  # the orgiam:stack-kind tag
    roles: tuple[str, ...] = ()  # member: the catalog roles the account gets
    grants: dict[str, str] = field(default_factory=dict)  # member: role name -> ARN people get once it exists
    targets: tuple[str, ...] = ()  # stack set: the OU ids (the root) it must reach
    reason_if_absent: str = ""  # why the stack is not wanted, when desired is NOTHING
    partition: str = "aws"
    # stack set: CloudFormation's CallAs for every call that addresses it; "" is AWS's default (SELF), and
    # "DELEGATED_ADMIN" when the task's account is the organization's delegated administrator for StackSets
    call_as: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Where the task is and what it is, as report.json and plan.json both have it."""
        return {
            "key": self.key,
            "kind": str(self.kind),
            "account_id": self.account_id,
            "account_name": self.account_name,
            "hostname": self.hostname,
            "ou_path": self.ou_path,
            "region": self.region,
            "stack_name": self.name,
            "stack_kind": self.stack_kind,
            "title": self.title,
            "roles": list(self.roles),
        }


@dataclass(frozen=True)
class PlannedTask:
    """What a saved plan says of one task: the state it was planned from, and the decision."""

    observed: dict[str, str]
    action: Action
    reason: str
    desired: Desired
    details: tuple[str, ...] = ()
    retained: tuple[str, ...] = ()
    deploy_to: tuple[str, ...] = ()


@dataclass
class Result:
    """What planning and applying one task found and did. ``state`` is the stack after the run."""

    task: Task
    status: Status = Status.UNCHANGED
    action: Action = Action.NOOP
    reason: str = ""
    observed: dict[str, str] = field(default_factory=dict)  # the fingerprint it was planned from
    plan: list[str] = field(default_factory=list)  # readable resource and statement changes
    changes: dict[str, list[str]] = field(default_factory=dict)
    change_set: list[dict[str, str]] = field(default_factory=list)  # CloudFormation's own view of an update
    details: list[str] = field(default_factory=list)
    deploy_to: tuple[str, ...] = ()  # stack set: targets not reached yet
    drift: list[dict[str, Any]] = field(default_factory=list)  # live verification: what was changed by hand
    repairs: list[str] = field(default_factory=list)  # the calls that put it back
    exposure: list[dict[str, Any]] = field(default_factory=list)  # who else may assume orgiam's roles (reported only)
    # people's access this task changes (plan/access.py): principal_type, principal, change, role, account_id, via
    access: list[dict[str, str]] = field(default_factory=list)
    diff: dict[str, str] | None = None
    error: str = ""
    error_code: str = ""
    api_calls: int = 0
    seconds: float = 0.0
    # filled by the sync for its report
    granted: dict[str, str] = field(default_factory=dict)  # role name -> ARN people may now assume
    retained: list[str] = field(default_factory=list)  # roles kept although no longer targeted
    groups: list[str] = field(default_factory=list)  # central: the groups (or federated roles) it holds
    state: Any = field(default=None, repr=False)  # the stack as observed last (kind-specific), never saved
    traceback: str = field(default="", repr=False)  # a failure that was not AWS's answer: a bug, shown at -vvv
    observed_at: float = field(default=0.0, repr=False)  # time.monotonic() of the observation it was planned from
    transient: bool = field(default=False, repr=False)  # it failed on a throttle, a server error or a dropped connection

    @property
    def changes_planned(self) -> bool:
        return self.action in CHANGING or bool(self.deploy_to)

    @property
    def changed(self) -> bool:
        return self.status in (Status.CREATED, Status.UPDATED, Status.DELETED, Status.REPAIRED) or (
            self.status == Status.PLANNED and self.changes_planned)

    def fail(self, message: str, code: str = "") -> "Result":
        self.status, self.error, self.error_code = Status.FAILED, message, code
        return self

    def to_dict(self) -> dict[str, Any]:
        """The result as report.json has it: the task's place, then what happened."""
        return {
            **self.task.to_dict(),
            "status": str(self.status),
            "action": str(self.action),
            "reason": self.reason,
            "changed": self.changed,
            "observed": dict(self.observed),
            "plan": list(self.plan),
            "changes": {k: list(v) for k, v in self.changes.items()},
            "change_set": [dict(c) for c in self.change_set],
            "details": list(self.details),
            "deploy_to": list(self.deploy_to),
            "drift": [dict(d) for d in self.drift],
            "repairs": list(self.repairs),
            "exposure": [dict(e) for e in self.exposure],
            "access": [dict(a) for a in self.access],
            "granted": dict(self.granted),
            "retained": list(self.retained),
            "groups": list(self.groups),
            "error": self.error,
            "error_code": self.error_code,
            "api_calls": self.api_calls,
            "seconds": self.seconds,
        }
