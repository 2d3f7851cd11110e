"""The report a person and a pipeline read: summary, OU table, JUnit, retry file, notification."""

import json
import xml.etree.ElementTree as ET

from ansible_collections.orgiam.aws.plugins.module_utils.model import Kind, Result, Status, Task
from ansible_collections.orgiam.aws.plugins.module_utils.report.notify import notification, publish
from ansible_collections.orgiam.aws.plugins.module_utils.report.report import build_report, summary_text, write_report
from ansible_collections.orgiam.aws.plugins.module_utils.usecases.sync import SyncOutcome


def task(name, ou, kind=Kind.MEMBER, stack="orgiam-roles", account_id=None):
    account_id = account_id or f"{abs(hash(name)) % 10**12:012d}"
    return Task(f"{account_id}/us-east-1/{stack}", kind, account_id, name, "us-east-1", stack,
                hostname=name.lower().replace(" ", "_"), ou_path=ou)


def result(name, ou, status, **kw):
    r = Result(task(name, ou), status=Status(status))
    for k, v in kw.items():
        setattr(r, k, v)
    return r


def outcome():
    members = [
        result("Payments Prod", "Workloads/Prod", "created", action="create", api_calls=4),
        result("Data Prod", "Workloads/Prod", "unchanged", api_calls=2),
        result("Dev", "Workloads/SDLC", "failed", error="cannot assume role: AccessDenied: no", error_code="AccessDenied", api_calls=1),
        result("Legacy", "Suspended", "skipped", reason="account is SUSPENDED; never touched"),
    ]
    central = Result(task("Security", "Security", Kind.CENTRAL, "orgiam-identity", "222222222222"), status=Status.UPDATED, action="update")
    return SyncOutcome(members, central, False, 1.5, 9)


def test_report_counts_failures_and_calls():
    report = build_report(outcome(), 5, [])
    assert report["member_stacks"]["created"] == 1 and report["member_stacks"]["failed"] == 1
    assert report["failed_accounts"][0]["error_code"] == "AccessDenied"
    assert report["api_calls"]["max_per_account"] == 4 and not report["ok"]
    text = summary_text(report)
    assert "FAILED Dev" in text and "changes: 2" in text
    assert "Workloads/Prod" in text and "Workloads/SDLC" in text  # the table by OU


def test_files_junit_and_retry(tmp_path):
    report = build_report(outcome(), 5, [])
    paths = write_report(report, str(tmp_path))
    suite = ET.parse(paths["junit"]).getroot().find("testsuite")
    assert suite.get("tests") == "5" and suite.get("failures") == "1" and suite.get("skipped") == "1"
    failed = [c for c in suite.findall("testcase") if c.find("failure") is not None]
    assert len(failed) == 1 and "AccessDenied" in failed[0].find("failure").get("message")
    assert (tmp_path / "retry-hosts.txt").read_text() == "dev\n"
    assert json.loads((tmp_path / "report.json").read_text())["accounts_seen"] == 5
    assert "| Dev |" in (tmp_path / "summary.md").read_text()


def test_notification_names_state_and_counts():
    report = build_report(outcome(), 5, [])
    subject, body = notification(report, "https://build/1")
    assert subject == "orgiam sync FAILED: 4 accounts, 1 failed" and "https://build/1" in body

    class FakeSns:
        def publish(self, **kwargs):
            self.kwargs = kwargs
            return {"MessageId": "m-1"}

    sns = FakeSns()
    assert publish(sns, "arn:aws:sns:us-east-1:111111111111:orgiam", report) == "m-1"
    assert sns.kwargs["Subject"].startswith("orgiam sync FAILED")
