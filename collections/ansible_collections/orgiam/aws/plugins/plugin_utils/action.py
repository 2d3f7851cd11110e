# -*- coding: utf-8 -*-
# Copyright: orgiam developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What orgiam's action plugins share: argument validation, AWS settings from the common options, and
turning an unexpected error into one failure line (with the traceback at -vvv)."""

from __future__ import annotations

import os
import traceback
from typing import Any

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.orgiam.aws.plugins.module_utils.aws.session import AwsSettings, region_from_environment

display = Display()


class OrgiamAction(ActionBase):
    """Validates the task's arguments against ``SPEC`` and calls ``run_orgiam``."""

    TRANSFERS_FILES = False
    _requires_connection = False
    SPEC: dict[str, dict[str, Any]] = {}
    NAME = "orgiam"

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        _, args = self.validate_argument_spec(argument_spec=self.SPEC)  # a wrong type fails here, in one line
        try:
            return self.run_orgiam(result, args, task_vars)
        except AnsibleActionFail:
            raise
        except Exception as exc:  # a bug of ours: one line, and the traceback for -vvv
            display.vvv("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
            return dict(result, failed=True, msg=f"{self.NAME} failed unexpectedly: {type(exc).__name__}: {exc} "
                                                 "(run with -vvv for the traceback)")

    def run_orgiam(self, result: dict[str, Any], args: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    @staticmethod
    def aws_settings(args: dict[str, Any], region: str | None = None, **more: Any) -> AwsSettings:
        """AwsSettings from amazon.aws's common options; empty ones fall back to the standard chain."""
        verify: bool | str | None = None
        if args.get("aws_ca_bundle"):
            verify = os.path.expanduser(str(args["aws_ca_bundle"]))
        elif args.get("validate_certs") is False:
            verify = False
        return AwsSettings(
            region=region or region_from_environment(args.get("region")),
            profile=args.get("profile"),
            access_key=args.get("access_key"),
            secret_key=args.get("secret_key"),
            session_token=args.get("session_token"),
            endpoint_url=args.get("endpoint_url"),
            verify=verify,
            **more,
        )
