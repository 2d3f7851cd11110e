# -*- coding: utf-8 -*-
# Copyright: orgiam developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Notify: publish the sync's summary to an SNS topic, on success and on failure."""

from __future__ import annotations

from typing import Any

from ..aws.errors import explain_aws_error
from .report import summary_text

SUBJECT_MAX = 100  # SNS subject limit


def notification(report: dict[str, Any], run_url: str = "") -> tuple[str, str]:
    """Subject and body for one sync. Names and counts only: nothing secret."""
    failed = len(report["failed_accounts"])
    state = "FAILED" if failed else "OK"
    mode = "plan" if report["mode"] == "check" else "sync"
    drift = report.get("drift", [])
    found = f", DRIFT in {len({(d['account_id'], d['stack']) for d in drift})} stack(s)" if drift else ""
    subject = f"orgiam {mode} {state}: {report['accounts_in_run']} accounts, {failed} failed{found}"[:SUBJECT_MAX]
    body = summary_text(report)
    if run_url:
        body += f"\nDetails: {run_url}\n"
    return subject, body


def publish(sns_client: Any, topic_arn: str, report: dict[str, Any], run_url: str = "") -> str:
    """Publish; return the message id. Raises AwsAccessError with one line on failure."""
    subject, body = notification(report, run_url)
    try:
        response = sns_client.publish(TopicArn=topic_arn, Subject=subject, Message=body)
    except Exception as exc:
        raise explain_aws_error(exc, doing=f"notify {topic_arn}") from None
    return str(response.get("MessageId", ""))
