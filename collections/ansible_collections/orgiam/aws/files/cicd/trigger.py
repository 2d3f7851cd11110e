"""How this build verifies the organization: ``live`` for the pipeline's scheduled run, ``tags`` otherwise.

    python cicd/trigger.py          # prints live or tags

The scheduled run is the one that catches changes made by hand (docs/operations.md, "Live
verification"), so it compares every resource orgiam owns with IAM; a run started by a commit or by an
Organizations event keeps the fast path. Which run this is, CodePipeline says:
GetPipelineExecution's ``trigger`` is ``CloudWatchEvent`` with the rule's ARN in ``triggerDetail`` when
an EventBridge rule started it. ``ORGIAM_VERIFY``, when set, wins (a person's choice); without a
pipeline execution, or when CodePipeline cannot be asked, it is ``tags``, with a warning on stderr.

Environment: ORGIAM_VERIFY, ORGIAM_PIPELINE_NAME, ORGIAM_PIPELINE_EXECUTION (the pipeline passes
#{codepipeline.PipelineExecutionId}), ORGIAM_SCHEDULE_RULE (the schedule rule's name).
"""

from __future__ import annotations

import os
import sys
from typing import Any, Callable

MODES = ("tags", "live")


def verify_mode(environ: dict[str, str], pipeline_client: Callable[[], Any]) -> tuple[str, str]:
    """(mode, why)."""
    chosen = environ.get("ORGIAM_VERIFY", "").strip()
    if chosen:
        if chosen not in MODES:
            raise SystemExit(f"orgiam: ORGIAM_VERIFY must be tags or live, not '{chosen}'")
        return chosen, "ORGIAM_VERIFY"
    pipeline, execution = environ.get("ORGIAM_PIPELINE_NAME", ""), environ.get("ORGIAM_PIPELINE_EXECUTION", "")
    rule = environ.get("ORGIAM_SCHEDULE_RULE", "")
    if not (pipeline and execution and rule):
        return "tags", "not a pipeline run"
    try:
        trigger = pipeline_client().get_pipeline_execution(pipelineName=pipeline, pipelineExecutionId=execution)[
            "pipelineExecution"].get("trigger") or {}
    except Exception as exc:  # the build goes on, on the fast path, and says why
        return "tags", f"could not ask CodePipeline what started this run ({type(exc).__name__}: {exc})"
    detail = str(trigger.get("triggerDetail", ""))
    if trigger.get("triggerType") == "CloudWatchEvent" and detail.rsplit("/", 1)[-1] == rule:
        return "live", f"started by the schedule ({rule})"
    return "tags", f"started by {trigger.get('triggerType', 'unknown')}"


def main() -> int:
    def client() -> Any:
        import boto3

        return boto3.client("codepipeline")

    mode, why = verify_mode(dict(os.environ), client)
    print(f"orgiam: verify {mode}: {why}", file=sys.stderr)
    print(mode)
    return 0


if __name__ == "__main__":
    sys.exit(main())
