#!/usr/bin/env python3
"""Regenerate catalog/aws_managed_policies.json: the names and paths of AWS managed policies.

The catalog checks bare policy names (ReadOnlyAccess, job-function/ViewOnlyAccess) against this
list before any AWS call, and gives a name without its path the path AWS keeps it under
(ViewOnlyAccess -> /job-function/). A full policy ARN is never checked against the list.

    python scripts/update_aws_managed_policies.py             # from IAM itself (credentials of any account)
    python scripts/update_aws_managed_policies.py --offline   # from the installed moto's bundled copy

The JSON records where the list came from (``source``), the day it was written (``generated_at``)
and how many names it holds (``count``); the catalog's error messages quote the first two.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import datetime, timezone
from typing import Any

TARGET = os.path.normpath(
    os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "collections", "ansible_collections", "orgiam", "aws",
        "plugins", "module_utils", "catalog", "aws_managed_policies.json",
    )
)


def _day(value: Any) -> str:
    """'2026-09-30' from a datetime or an ISO 8601 string; '' when there is none."""
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).date().isoformat()
    return str(value or "")[:10]


def from_iam(iam: Any) -> tuple[dict[str, str], str]:
    """Every AWS managed policy IAM lists (ListPolicies, Scope=AWS): name -> path, and the newest update day."""
    paths: dict[str, str] = {}
    newest = ""
    for page in iam.get_paginator("list_policies").paginate(Scope="AWS"):
        for policy in page["Policies"]:
            paths[policy["PolicyName"]] = policy.get("Path") or "/"
            newest = max(newest, _day(policy.get("UpdateDate")))
    return paths, newest


def from_moto() -> tuple[dict[str, str], str, str]:
    """moto's bundled copy of the list: name -> path, the newest update day in it, and moto's version."""
    import moto
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    data: dict[str, dict[str, Any]] = json.loads(aws_managed_policies_data)
    paths = {name: entry.get("Path") or "/" for name, entry in data.items()}
    newest = max((_day(entry.get("UpdateDate")) for entry in data.values()), default="")
    return paths, newest, moto.__version__


def document(paths: dict[str, str], source: str, generated_at: str) -> dict[str, Any]:
    """The JSON file's content: provenance first, then the policies sorted by name."""
    return {
        "source": source,
        "generated_at": generated_at,
        "count": len(paths),
        "policies": dict(sorted(paths.items())),
    }


def write(doc: dict[str, Any], target: str) -> None:
    with open(target, "w", encoding="utf-8") as handle:
        json.dump(doc, handle, indent=1)
        handle.write("\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--offline", action="store_true", help="use the installed moto's bundled copy instead of IAM")
    parser.add_argument("--output", default=TARGET, help=f"where to write the JSON (default: {TARGET})")
    args = parser.parse_args(argv)

    if args.offline:
        paths, newest, version = from_moto()
        source = (f"moto {version}'s bundled copy of IAM's AWS managed policy list "
                  f"(module moto.iam.aws_managed_policies; newest policy update {newest or 'unknown'})")
    else:
        import boto3

        iam = boto3.client("iam")
        paths, newest = from_iam(iam)
        partition = boto3.client("sts").get_caller_identity()["Arn"].split(":")[1]
        source = f"IAM ListPolicies (Scope=AWS) in partition {partition} (newest policy update {newest or 'unknown'})"
    if not paths:
        print("no AWS managed policies found; nothing written", file=sys.stderr)
        return 1
    write(document(paths, source, datetime.now(timezone.utc).date().isoformat()), args.output)
    print(f"wrote {len(paths)} policies to {os.path.normpath(args.output)} ({source})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
