"""cicd/trigger.py: the pipeline's scheduled run verifies live, every other run keeps the fast path;
cicd/summary.py --exit-status tells drift found from failed."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def load(name: str):
    spec = importlib.util.spec_from_file_location(f"cicd_{name}", REPO / "cicd" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


trigger = load("trigger")
summary = load("summary")
PIPELINE = {"ORGIAM_PIPELINE_NAME": "orgiam-sync", "ORGIAM_PIPELINE_EXECUTION": "e-1", "ORGIAM_SCHEDULE_RULE": "orgiam-sync-schedule"}


class FakePipeline:
    def __init__(self, trigger: dict | None = None, error: Exception | None = None) -> None:
        self.trigger, self.error, self.asked = trigger, error, []

    def get_pipeline_execution(self, **kwargs):
        self.asked.append(kwargs)
        if self.error:
            raise self.error
        return {"pipelineExecution": {"pipelineExecutionId": "e-1", "trigger": self.trigger}}


@pytest.mark.parametrize(("trigger_info", "mode"), [
    ({"triggerType": "CloudWatchEvent", "triggerDetail": "arn:aws:events:us-east-1:333333333333:rule/orgiam-sync-schedule"}, "live"),
    ({"triggerType": "CloudWatchEvent", "triggerDetail": "arn:aws:events:us-east-1:333333333333:rule/orgiam-sync-organization-change"}, "tags"),
    ({"triggerType": "CloudWatchEvent", "triggerDetail": "arn:aws:events:us-east-1:333333333333:rule/not-orgiam-sync-schedule"}, "tags"),
    ({"triggerType": "WebhookV2", "triggerDetail": "arn:aws:codeconnections:..."}, "tags"),
    ({"triggerType": "StartPipelineExecution", "triggerDetail": "arn:aws:sts::333333333333:assumed-role/admin/alice"}, "tags"),
])
def test_only_the_schedule_verifies_live(trigger_info, mode):
    client = FakePipeline(trigger_info)
    assert trigger.verify_mode(dict(PIPELINE), lambda: client)[0] == mode
    assert client.asked == [{"pipelineName": "orgiam-sync", "pipelineExecutionId": "e-1"}]


def test_a_person_choice_wins_and_no_pipeline_or_no_answer_is_the_fast_path():
    assert trigger.verify_mode(dict(PIPELINE, ORGIAM_VERIFY="live"), lambda: pytest.fail("not asked")) == ("live", "ORGIAM_VERIFY")
    assert trigger.verify_mode({}, lambda: pytest.fail("not asked")) == ("tags", "not a pipeline run")
    mode, why = trigger.verify_mode(dict(PIPELINE), lambda: FakePipeline(error=RuntimeError("AccessDenied")))
    assert mode == "tags" and "AccessDenied" in why
    with pytest.raises(SystemExit, match="tags or live"):
        trigger.verify_mode({"ORGIAM_VERIFY": "deep"}, lambda: None)


def test_exit_status_tells_drift_from_failure():
    clean = {"failed_accounts": [], "stale_accounts": [], "drift": []}
    drift = dict(clean, drift=[{"account_id": "1", "account_name": "A", "stack": "orgiam-roles"}])
    assert [summary.exit_status(r) for r in (clean, drift, dict(drift, failed_accounts=[{}]), dict(clean, stale_accounts=[{}]), None)] \
        == [0, 3, 2, 2, 1]
