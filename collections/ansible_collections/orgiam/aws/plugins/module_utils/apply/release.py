# -*- coding: utf-8 -*-
# Copyright: orgiam developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The bootstrap's last pipeline step: the orgiam release the pipeline runs, put in its artifact bucket.

The pipeline stack (``task.name``) names the release (``ReleaseKey``, ``ReleaseSha256``) and its bucket
(output ``ArtifactBucketName``). The object is observed with ``HeadObject``: it is up to date when it
exists with the release's SHA-256 in its ``sha256`` metadata, and uploaded otherwise. The builds check
the SHA-256 of what they download against the pipeline's parameter themselves: the metadata only saves
an upload.
"""

from __future__ import annotations

from typing import Any

from ..aws.errors import error_code
from ..model import Action, Decision, Result, Task
from ..render.release import Release
from .operators import Context, Operator

ARTIFACT_BUCKET_OUTPUT = "ArtifactBucketName"


def _bucket(cfn: Any, stack_name: str) -> str | None:
    try:
        stacks = cfn.describe_stacks(StackName=stack_name)["Stacks"]
    except Exception as exc:  # a stack that does not exist yet: the bootstrap creates it first
        if error_code(exc) == "ValidationError":
            return None
        raise
    for output in (stacks[0].get("Outputs") or []) if stacks else []:
        if output.get("OutputKey") == ARTIFACT_BUCKET_OUTPUT:
            return str(output["OutputValue"])
    return None


class ReleaseOperator(Operator):
    """Uploads ``release`` to the artifact bucket of the pipeline stack ``task.name``."""

    def __init__(self, release: Release) -> None:
        self.release = release

    def s3(self, ctx: Context, task: Task) -> Any:
        return ctx.clients.member_client("s3", task.account_id, task.region)

    def observe(self, ctx: Context, cfn: Any, task: Task) -> Any:
        bucket = _bucket(cfn, task.name)
        if bucket is None:
            return None
        try:
            head = self.s3(ctx, task).head_object(Bucket=bucket, Key=self.release.key)
        except Exception as exc:
            if error_code(exc) in ("404", "NoSuchKey", "NotFound"):
                return {"bucket": bucket, "key": self.release.key, "sha256": ""}
            raise
        return {"bucket": bucket, "key": self.release.key, "sha256": (head.get("Metadata") or {}).get("sha256", "")}

    def settle(self, ctx: Context, cfn: Any, task: Task) -> Any:
        return self.observe(ctx, cfn, task)

    def fingerprint(self, state: Any) -> dict[str, str]:
        return {"sha256": str((state or {}).get("sha256", ""))}

    def written_by_plan(self, state: Any, plan_id: str) -> bool:
        return False

    def decide(self, ctx: Context, cfn: Any, task: Task, state: Any, result: Result) -> Decision:
        if state is not None and state.get("sha256") == self.release.sha256:
            return Decision(Action.NOOP, f"release {self.release.version} is in s3://{state['bucket']}/{self.release.key}")
        where = f"s3://{state['bucket']}/{self.release.key}" if state else f"the artifact bucket of {task.name}"
        return Decision(Action.CREATE, f"upload release {self.release.version} (sha256 {self.release.sha256[:16]}...) "
                                       f"to {where}")

    def preview(self, ctx: Context, cfn: Any, task: Task, state: Any, result: Result) -> None:
        return None

    def apply(self, ctx: Context, cfn: Any, task: Task, state: Any, result: Result) -> Any:
        if result.action != Action.CREATE:
            return state
        bucket = _bucket(cfn, task.name)
        if bucket is None:
            raise RuntimeError(f"stack {task.name} has no output {ARTIFACT_BUCKET_OUTPUT}: the release has nowhere to go")
        self.s3(ctx, task).put_object(Bucket=bucket, Key=self.release.key, Body=self.release.content,
                                      ContentType="application/gzip", Metadata={"sha256": self.release.sha256})
        return {"bucket": bucket, "key": self.release.key, "sha256": self.release.sha256}
