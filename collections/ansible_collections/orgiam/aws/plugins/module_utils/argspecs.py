# -*- coding: utf-8 -*-
# Copyright: orgiam developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The argument specs of orgiam's action plugins, in one place.

Each action validates its arguments with ``validate_argument_spec`` against its spec here, and the
module stub of the same name (which holds the documentation) builds its AnsibleModule from the same
spec; a test keeps DOCUMENTATION's options equal to these. The AWS options are spelled as
amazon.aws spells them, with the same aliases.
"""

from __future__ import annotations

from typing import Any

AWS_COMMON_SPEC: dict[str, dict[str, Any]] = {
    "profile": {"type": "str", "aliases": ["aws_profile"]},
    "region": {"type": "str", "aliases": ["aws_region"]},
    "endpoint_url": {"type": "str", "aliases": ["aws_endpoint_url"]},
    "access_key": {"type": "str", "aliases": ["aws_access_key_id", "aws_access_key"], "no_log": False},
    "secret_key": {"type": "str", "aliases": ["aws_secret_access_key", "aws_secret_key"], "no_log": True},
    "session_token": {"type": "str", "aliases": ["aws_session_token"], "no_log": True},
    "aws_ca_bundle": {"type": "path"},
    "validate_certs": {"type": "bool", "default": True},
}

SYNC_SPEC: dict[str, dict[str, Any]] = {
    "catalog": {"type": "path", "default": "roles_catalog"},
    "report_dir": {"type": "path", "default": "out"},
    "concurrency": {"type": "int"},
    "timeout": {"type": "int"},
    "member_role_name": {"type": "str"},
    "assume_role_arn": {"type": "str"},
    "progress_interval": {"type": "float", "default": 2.0},
    "notify_topic_arn": {"type": "str"},
    "plan": {"type": "path"},
    "plan_part": {"type": "str"},
    "lock_wait": {"type": "int", "default": 120},
    "verify": {"type": "str", "choices": ["tags", "live"]},
    "preview": {"type": "str", "choices": ["change_set", "template"], "default": "change_set"},
    **AWS_COMMON_SPEC,
}

BOOTSTRAP_PARTS = ["deployer", "management", "pipeline"]

BOOTSTRAP_SPEC: dict[str, dict[str, Any]] = {
    "catalog": {"type": "path", "default": "roles_catalog"},
    "templates": {"type": "path"},
    "parts": {"type": "list", "elements": "str", "choices": BOOTSTRAP_PARTS, "default": list(BOOTSTRAP_PARTS)},
    "report_dir": {"type": "path", "default": "out"},
    "access_role_name": {"type": "str", "default": "OrganizationAccountAccessRole"},
    "timeout": {"type": "int"},
    "stackset_timeout": {"type": "int", "default": 3600},
    "verify": {"type": "str", "choices": ["tags", "live"]},
    **AWS_COMMON_SPEC,
}

ACCESS_REPORT_SPEC: dict[str, dict[str, Any]] = {
    "catalog": {"type": "path", "default": "roles_catalog"},
    "report_dir": {"type": "path", "default": "out"},
    "member_role_name": {"type": "str"},
    "assume_role_arn": {"type": "str"},
    **AWS_COMMON_SPEC,
}

PROFILES_SPEC: dict[str, dict[str, Any]] = {
    "person": {"type": "str", "required": True},
    "catalog": {"type": "path", "default": "roles_catalog"},
    "access_file": {"type": "path"},
    "profiles_dir": {"type": "path", "default": "out/profiles"},
    "profiles_file": {"type": "path"},
    "merge": {"type": "bool", "default": False},
    "profile_region": {"type": "str"},
    "central_profile": {"type": "str", "default": "orgiam-central"},
    "member_role_name": {"type": "str"},
    "assume_role_arn": {"type": "str"},
    **AWS_COMMON_SPEC,
}
