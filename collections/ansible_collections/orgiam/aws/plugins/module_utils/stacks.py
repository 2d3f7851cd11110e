# -*- coding: utf-8 -*-
# Copyright: orgiam developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One stack's CloudFormation operations: describe, create, update, delete, wait.

Each function takes a CloudFormation client for the target account. Waiting
polls ``describe_stacks`` with a growing interval and a deadline; CloudFormation
(and the emulator) report progress through the stack status.
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any, Callable

from .aws import AwsAccessError, explain_aws_error
from .plan import StackState

CAPABILITIES = ["CAPABILITY_NAMED_IAM"]
TEMPLATE_BODY_MAX_BYTES = 51_200  # CloudFormation's limit for TemplateBody; larger ones go through S3
TEMPLATE_URL_MAX_BYTES = 1_000_000

# how a template reaches CloudFormation: {"TemplateBody": ...} or {"TemplateURL": ...}
TemplateSource = Callable[[str, dict[str, Any]], dict[str, str]]


def template_json(template: dict[str, Any]) -> str:
    return json.dumps(template, sort_keys=True, separators=(",", ":"))


def inline_only(name: str, template: dict[str, Any]) -> dict[str, str]:
    """The template as TemplateBody, or a clear error when it is too large for that."""
    body = template_json(template)
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

    def source(name: str, template: dict[str, Any]) -> dict[str, str]:
        body = template_json(template)
        size = len(body.encode())
        if size <= TEMPLATE_BODY_MAX_BYTES:
            return {"TemplateBody": body}
        if size > TEMPLATE_URL_MAX_BYTES:
            raise AwsAccessError(f"the template of stack {name} is {size} bytes, more than CloudFormation's 1 MB", "TemplateTooLarge")
        key = f"orgiam/templates/{name}/{hashlib.sha256(body.encode()).hexdigest()[:32]}.json"
        _call(f"upload the template of {name} to s3://{bucket}", s3.put_object, Bucket=bucket, Key=key, Body=body.encode(),
              ContentType="application/json", ServerSideEncryption="AES256")
        return {"TemplateURL": f"https://{bucket}.s3.{region}.amazonaws.com/{key}"}

    return source


def _is_missing(exc: Exception) -> bool:
    error = getattr(exc, "response", {}).get("Error", {})
    return error.get("Code") == "ValidationError" and "does not exist" in str(error.get("Message", ""))


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


def get_template(cfn: Any, name: str) -> dict[str, Any] | None:
    try:
        body = cfn.get_template(StackName=name, TemplateStage="Original")["TemplateBody"]
    except Exception as exc:
        if _is_missing(exc):
            return None
        raise explain_aws_error(exc, doing=f"read the template of stack {name}") from None
    return body if isinstance(body, dict) else json.loads(body)


def wait_stable(
    cfn: Any, name: str, timeout: float, sleep: Callable[[float], None] = time.sleep, first_delay: float = 0.0
) -> StackState | None:
    """Poll until the stack leaves every *_IN_PROGRESS state (or is gone). Raises on timeout."""
    deadline = time.monotonic() + timeout
    delay = first_delay
    while True:
        if delay:
            sleep(delay)
        state = describe_stack(cfn, name)
        if state is None or not state.status.endswith("_IN_PROGRESS"):
            return state
        if time.monotonic() >= deadline:
            raise AwsAccessError(f"stack {name} still {state.status} after {int(timeout)} s", "Timeout")
        delay = min(max(delay * 2, 1.0), 15.0)


def _call(doing: str, fn: Callable[..., Any], **kwargs: Any) -> Any:
    try:
        return fn(**kwargs)
    except Exception as exc:
        raise explain_aws_error(exc, doing=doing) from None


def _expect(state: StackState | None, name: str, good: set[str], doing: str) -> StackState:
    if state is None or state.status not in good:
        status = state.status if state else "gone"
        reason = f" ({state.status_reason})" if state and state.status_reason else ""
        raise AwsAccessError(f"{doing} stack {name} ended {status}{reason}", status)
    return state


def create_stack(
    cfn: Any, name: str, template: dict[str, Any], tags: list[dict[str, str]], timeout: float, source: TemplateSource = inline_only
) -> StackState:
    _call(
        f"create stack {name}",
        cfn.create_stack,
        StackName=name,
        **source(name, template),
        Capabilities=CAPABILITIES,
        Tags=tags,
        OnFailure="ROLLBACK",
        EnableTerminationProtection=True,
    )
    return _expect(wait_stable(cfn, name, timeout), name, {"CREATE_COMPLETE"}, "create")


def update_stack(
    cfn: Any, name: str, template: dict[str, Any], tags: list[dict[str, str]], timeout: float, source: TemplateSource = inline_only
) -> StackState:
    template_args = source(name, template)
    try:
        cfn.update_stack(
            StackName=name,
            **template_args,
            Capabilities=CAPABILITIES,
            Tags=tags,
        )
    except Exception as exc:
        error = getattr(exc, "response", {}).get("Error", {})
        if "No updates are to be performed" in str(error.get("Message", "")):
            state = describe_stack(cfn, name)
            assert state is not None
            return state
        raise explain_aws_error(exc, doing=f"update stack {name}") from None
    return _expect(wait_stable(cfn, name, timeout), name, {"UPDATE_COMPLETE"}, "update")


def delete_stack(cfn: Any, name: str, timeout: float) -> None:
    """Delete an orgiam stack: lift termination protection first, then wait until it is gone."""
    _call(f"lift termination protection of {name}", cfn.update_termination_protection, StackName=name, EnableTerminationProtection=False)
    _call(f"delete stack {name}", cfn.delete_stack, StackName=name)
    state = wait_stable(cfn, name, timeout)
    if state is not None:
        _expect(state, name, {"DELETE_COMPLETE"}, "delete")


def continue_rollback(cfn: Any, name: str, timeout: float) -> StackState:
    _call(f"continue the rollback of {name}", cfn.continue_update_rollback, StackName=name)
    return _expect(wait_stable(cfn, name, timeout), name, {"UPDATE_ROLLBACK_COMPLETE"}, "continue rollback of")


def preview_change_set(
    cfn: Any, name: str, template: dict[str, Any], tags: list[dict[str, str]], timeout: float, source: TemplateSource = inline_only
) -> list[dict[str, Any]]:
    """CloudFormation's own view of an update: create a change set, read it, delete it.

    Check mode allows this one write (and its deletion): nothing is executed. Returns
    [{"action", "logical_id", "type", "replacement"}]; an empty list when CloudFormation
    sees no change.
    """
    change_set = f"orgiam-plan-{int(time.time())}"
    _call(
        f"create a change set for {name}",
        cfn.create_change_set,
        StackName=name,
        ChangeSetName=change_set,
        ChangeSetType="UPDATE",  # moto's default is CREATE; AWS's is UPDATE: always say it
        **source(name, template),
        Capabilities=CAPABILITIES,
        Tags=tags,
    )
    try:
        deadline = time.monotonic() + timeout
        delay = 0.0
        while True:
            if delay:
                time.sleep(delay)
            described = _call(f"read change set of {name}", cfn.describe_change_set, StackName=name, ChangeSetName=change_set)
            status = described.get("Status", "")
            if status in ("CREATE_COMPLETE", "FAILED", "DELETE_COMPLETE"):
                break
            if time.monotonic() >= deadline:
                raise AwsAccessError(f"change set for {name} still {status} after {int(timeout)} s", "Timeout")
            delay = min(max(delay * 2, 1.0), 10.0)
        if status == "FAILED":
            reason = described.get("StatusReason", "")
            if "didn't contain changes" in reason or "No updates" in reason:
                return []
            raise AwsAccessError(f"change set for {name} failed: {reason}", "ChangeSetFailed")
        changes = []
        for change in described.get("Changes", []):
            rc = change.get("ResourceChange", {})
            changes.append(
                {
                    "action": rc.get("Action", ""),
                    "logical_id": rc.get("LogicalResourceId", ""),
                    "type": rc.get("ResourceType", ""),
                    "replacement": rc.get("Replacement", ""),
                }
            )
        return changes
    finally:
        try:
            cfn.delete_change_set(StackName=name, ChangeSetName=change_set)
        except Exception:  # a leftover change set executes nothing; the next plan replaces it
            pass
