# -*- coding: utf-8 -*-
# Copyright: orgiam developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One stack's CloudFormation operations: describe, read, create, update, delete, recover, preview.

Each function takes a CloudFormation client of the target account and does one thing; the engine
decides which. Templates travel as text (``body``) with parameters; how the text reaches
CloudFormation (inline, or through S3 when it is large) is a ``TemplateSource``. Waiting goes
through ``waiters.poll``: CloudFormation (and the emulator) report progress in the stack status.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any, Callable

from ..model import HASH_TAG, StackState
from .errors import AwsAccessError, call, error_code, error_message, explain_aws_error
from .waiters import DEFAULT_CLOCK, Backoff, Clock, poll

CAPABILITIES = ["CAPABILITY_NAMED_IAM"]
TEMPLATE_BODY_MAX_BYTES = 51_200  # CloudFormation's limit for TemplateBody; larger ones go through S3
TEMPLATE_URL_MAX_BYTES = 1_000_000

# how a template's text reaches CloudFormation: {"TemplateBody": ...} or {"TemplateURL": ...}
TemplateSource = Callable[[str, str], dict[str, str]]


def inline_only(name: str, body: str) -> dict[str, str]:
    """The template as TemplateBody, or a clear error when it is too large for that."""
    size = len(body.encode())
    if size > TEMPLATE_BODY_MAX_BYTES:
        raise AwsAccessError(
            f"the template of stack {name} is {size} bytes, more than CloudFormation's {TEMPLATE_BODY_MAX_BYTES} "
            "for a template body; set template_bucket in settings.yml to a bucket orgiam may write to",
            "TemplateTooLarge",
        )
    return {"TemplateBody": body}


def via_bucket(s3: Any, bucket: str, region: str) -> TemplateSource:
    """Small templates inline; larger ones uploaded to ``bucket`` (content-addressed keys) and passed by URL."""

    def source(name: str, body: str) -> dict[str, str]:
        size = len(body.encode())
        if size <= TEMPLATE_BODY_MAX_BYTES:
            return {"TemplateBody": body}
        if size > TEMPLATE_URL_MAX_BYTES:
            raise AwsAccessError(f"the template of stack {name} is {size} bytes, more than CloudFormation's 1 MB", "TemplateTooLarge")
        key = f"orgiam/templates/{name}/{hashlib.sha256(body.encode()).hexdigest()[:32]}.json"
        call(f"upload the template of {name} to s3://{bucket}", s3.put_object, Bucket=bucket, Key=key, Body=body.encode(),
             ContentType="application/json", ServerSideEncryption="AES256")
        return {"TemplateURL": f"https://{bucket}.s3.{region}.amazonaws.com/{key}"}

    return source


def parameter_list(parameters: dict[str, str]) -> list[dict[str, str]]:
    return [{"ParameterKey": key, "ParameterValue": value} for key, value in sorted(parameters.items())]


def _is_missing(exc: Exception) -> bool:
    return error_code(exc) == "ValidationError" and "does not exist" in error_message(exc)


def _state(stack: dict[str, Any]) -> StackState:
    return StackState(
        name=stack["StackName"],
        status=stack["StackStatus"],
        tags={t["Key"]: t["Value"] for t in stack.get("Tags", [])},
        outputs={o["OutputKey"]: o.get("OutputValue", "") for o in stack.get("Outputs", [])},
        stack_id=stack.get("StackId", ""),
        status_reason=stack.get("StackStatusReason", "") or "",
    )


def describe_stack(cfn: Any, name: str) -> StackState | None:
    try:
        stacks = cfn.describe_stacks(StackName=name)["Stacks"]
    except Exception as exc:
        if _is_missing(exc):
            return None
        raise explain_aws_error(exc, doing=f"describe stack {name}") from None
    live = [s for s in stacks if s["StackStatus"] != "DELETE_COMPLETE"]
    return _state(live[0]) if live else None


def deployed_text(cfn: Any, name: str) -> tuple[str, dict[str, str]]:
    """The deployed template's text as it was sent, and the stack's parameters (for diffs of bootstrap stacks)."""
    body = call(f"read the template of stack {name}", cfn.get_template, StackName=name, TemplateStage="Original")["TemplateBody"]
    text = body if isinstance(body, str) else json.dumps(body, indent=2, sort_keys=True)
    return text, stack_parameters(cfn, name)


def get_template(cfn: Any, name: str) -> dict[str, Any] | None:
    """The deployed template as data (orgiam's JSON templates); None when there is no stack."""
    try:
        body = cfn.get_template(StackName=name, TemplateStage="Original")["TemplateBody"]
    except Exception as exc:
        if _is_missing(exc):
            return None
        raise explain_aws_error(exc, doing=f"read the template of stack {name}") from None
    return body if isinstance(body, dict) else json.loads(body)


def stack_parameters(cfn: Any, name: str) -> dict[str, str]:
    stack = call(f"read stack {name}", cfn.describe_stacks, StackName=name)["Stacks"][0]
    return {p["ParameterKey"]: p.get("ParameterValue", "") for p in stack.get("Parameters", [])}


def wait_stable(
    cfn: Any, name: str, timeout: float, clock: Clock = DEFAULT_CLOCK, first_delay: float = 0.0
) -> StackState | None:
    """Poll until the stack leaves every *_IN_PROGRESS state (or is gone). Raises on timeout."""
    return poll(
        lambda: describe_stack(cfn, name),
        lambda state: state is None or not state.status.endswith("_IN_PROGRESS"),
        timeout,
        lambda state: f"stack {name} still {state.status if state else 'gone'}",
        Backoff(first=first_delay, minimum=1.0, maximum=15.0),
        clock,
    )


def _expect(state: StackState | None, name: str, good: set[str], doing: str) -> StackState:
    if state is None or state.status not in good:
        status = state.status if state else "gone"
        reason = f" ({state.status_reason})" if state and state.status_reason else ""
        raise AwsAccessError(f"{doing} stack {name} ended {status}{reason}", status)
    return state


def _ours(cfn: Any, name: str, tags: list[dict[str, str]]) -> StackState | None:
    """The stack, when it carries the template hash of ``tags``: the operation we asked for, done or under way."""
    wanted = next((t["Value"] for t in tags if t["Key"] == HASH_TAG), None)
    state = describe_stack(cfn, name)
    return state if state is not None and wanted is not None and state.template_hash == wanted else None


def _stack_arguments(name: str, body: str, tags: list[dict[str, str]], source: TemplateSource,
                     parameters: dict[str, str] | None) -> dict[str, Any]:
    """What a create, an update and a change set of one stack all say."""
    return {"StackName": name, **source(name, body), "Parameters": parameter_list(parameters or {}),
            "Capabilities": CAPABILITIES, "Tags": tags}


def _token(verb: str) -> str:
    """A ClientRequestToken for one request: botocore's retries of it send the same token, so a retried
    call whose first answer was lost is recognised by CloudFormation instead of failing as a duplicate."""
    return f"orgiam-{verb}-{uuid.uuid4().hex}"


def create_stack(
    cfn: Any, name: str, body: str, tags: list[dict[str, str]], timeout: float,
    source: TemplateSource = inline_only, parameters: dict[str, str] | None = None, clock: Clock = DEFAULT_CLOCK,
) -> StackState:
    try:
        cfn.create_stack(
            **_stack_arguments(name, body, tags, source, parameters),
            OnFailure="ROLLBACK",
            EnableTerminationProtection=True,
            ClientRequestToken=_token("create"),
        )
    except Exception as exc:
        # a retry of a create whose answer was lost finds the stack it made: the same template hash
        if not (error_code(exc) == "AlreadyExistsException" and _ours(cfn, name, tags)):
            raise explain_aws_error(exc, doing=f"create stack {name}") from None
    return _expect(wait_stable(cfn, name, timeout, clock), name, {"CREATE_COMPLETE"}, "create")


def update_stack(
    cfn: Any, name: str, body: str, tags: list[dict[str, str]], timeout: float,
    source: TemplateSource = inline_only, parameters: dict[str, str] | None = None, clock: Clock = DEFAULT_CLOCK,
) -> StackState:
    try:
        cfn.update_stack(**_stack_arguments(name, body, tags, source, parameters))
    except Exception as exc:
        message = error_message(exc)
        state = _ours(cfn, name, tags) if "No updates are to be performed" in message else None
        if state is not None:
            return state
        # a retry of an update whose answer was lost finds it under way: wait, then it must be ours
        if not ("_IN_PROGRESS state" in message and _ours(cfn, name, tags)):
            raise explain_aws_error(exc, doing=f"update stack {name}") from None
    return _expect(wait_stable(cfn, name, timeout, clock), name, {"UPDATE_COMPLETE"}, "update")


def delete_stack(cfn: Any, name: str, timeout: float, clock: Clock = DEFAULT_CLOCK) -> None:
    """Delete an orgiam stack: lift termination protection first, then wait until it is gone."""
    call(f"lift termination protection of {name}", cfn.update_termination_protection, StackName=name, EnableTerminationProtection=False)
    call(f"delete stack {name}", cfn.delete_stack, StackName=name)
    state = wait_stable(cfn, name, timeout, clock)
    if state is not None:
        _expect(state, name, {"DELETE_COMPLETE"}, "delete")


def continue_rollback(cfn: Any, name: str, timeout: float, clock: Clock = DEFAULT_CLOCK) -> StackState:
    call(f"continue the rollback of {name}", cfn.continue_update_rollback, StackName=name)
    return _expect(wait_stable(cfn, name, timeout, clock), name, {"UPDATE_ROLLBACK_COMPLETE"}, "continue rollback of")


def preview_change_set(
    cfn: Any, name: str, body: str, tags: list[dict[str, str]], timeout: float,
    source: TemplateSource = inline_only, parameters: dict[str, str] | None = None, clock: Clock = DEFAULT_CLOCK,
) -> list[dict[str, str]]:
    """CloudFormation's own view of an update: create a change set, read it, delete it.

    Check mode allows this one write (and its deletion): nothing is executed. The name is unique
    per call, so two plans started in the same second never collide. Returns
    [{"action", "logical_id", "type", "replacement"}]; an empty list when CloudFormation sees no change.
    """
    change_set = f"orgiam-plan-{uuid.uuid4().hex[:20]}"
    call(
        f"create a change set for {name}",
        cfn.create_change_set,
        **_stack_arguments(name, body, tags, source, parameters),
        ChangeSetName=change_set,
        ChangeSetType="UPDATE",  # moto's default is CREATE; AWS's is UPDATE: always say it
    )
    try:
        described = poll(
            lambda: call(f"read change set of {name}", cfn.describe_change_set, StackName=name, ChangeSetName=change_set),
            lambda d: d.get("Status", "") in ("CREATE_COMPLETE", "FAILED", "DELETE_COMPLETE"),
            timeout,
            lambda d: f"change set for {name} still {d.get('Status', '')}",
            Backoff(first=0.0, minimum=1.0, maximum=10.0),
            clock,
        )
        if described.get("Status") == "FAILED":
            reason = described.get("StatusReason", "")
            if "didn't contain changes" in reason or "No updates" in reason:
                return []
            raise AwsAccessError(f"change set for {name} failed: {reason}", "ChangeSetFailed")
        changes = []
        for change in described.get("Changes", []):
            rc = change.get("ResourceChange", {})
            changes.append({
                "action": rc.get("Action", ""),
                "logical_id": rc.get("LogicalResourceId", ""),
                "type": rc.get("ResourceType", ""),
                "replacement": rc.get("Replacement", ""),
            })
        return changes
    finally:
        try:
            cfn.delete_change_set(StackName=name, ChangeSetName=change_set)
        except Exception:  # a leftover change set executes nothing; the next plan replaces it
            pass
