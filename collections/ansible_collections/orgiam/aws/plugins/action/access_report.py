# -*- coding: utf-8 -*-
# Copyright: orgiam developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller-side action for orgiam.aws.access_report: who can get into which account as what, read from what
is deployed (module_utils/usecases/access.py) and written as access.html, access.csv and access.json
(module_utils/report/access_page.py). It only reads AWS."""

from __future__ import annotations

import os
from typing import Any

from ansible.utils.display import Display

from ansible_collections.orgiam.aws.plugins.module_utils.argspecs import ACCESS_REPORT_SPEC
from ansible_collections.orgiam.aws.plugins.module_utils.aws.errors import AwsAccessError
from ansible_collections.orgiam.aws.plugins.module_utils.catalog import CatalogError
from ansible_collections.orgiam.aws.plugins.module_utils.report.access_page import write_access_report
from ansible_collections.orgiam.aws.plugins.plugin_utils.action import OrgiamAction
from ansible_collections.orgiam.aws.plugins.plugin_utils.inventory import (
    OrganizationInputError,
    organization_from_task_vars,
    read_access,
    settings_for,
)

display = Display()


def access_summary(access: dict[str, Any]) -> dict[str, Any]:
    """The figures a reviewer asks first. MFA: False where the policy does not ask for it; None where the identity
    provider or Identity Center decides at sign-in (saml, identity_center), counted apart."""
    rows = access.get("rows", [])
    principals = access.get("principals", [])
    return {
        "mode": access.get("mode", ""),
        "people": sum(1 for p in principals if p["type"] == "user"),
        "groups": sum(1 for p in principals if p["type"] == "group"),
        "accounts_total": len(access.get("accounts", [])),
        "accounts_reached": len({str(r["account_id"]) for r in rows}),
        "roles": sorted({str(r["role"]) for r in rows}),
        "rows": len(rows),
        "paths_without_mfa": sum(1 for r in rows if r.get("mfa_required") is False),
        "paths_mfa_at_sign_in": sum(1 for r in rows if r.get("mfa_required") is None),
    }


def summary_lines(summary: dict[str, Any], paths: dict[str, str]) -> list[str]:
    return [
        f"orgiam access report ({summary['mode']}): {summary['people']} people, {summary['groups']} groups, "
        f"{summary['accounts_reached']} of {summary['accounts_total']} accounts reached, {summary['rows']} access paths",
        f"  without MFA: {summary['paths_without_mfa']}; MFA decided at sign-in (identity provider or Identity Center): "
        f"{summary['paths_mfa_at_sign_in']}",
        f"  written: {paths['html']}, {paths['csv']}, {paths['json']}",
    ]


class ActionModule(OrgiamAction):
    SPEC = ACCESS_REPORT_SPEC
    NAME = "orgiam.aws.access_report"

    def run_orgiam(self, result: dict[str, Any], args: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
        try:
            organization = organization_from_task_vars(task_vars, os.path.expanduser(str(args["catalog"])), writes=False)
        except OrganizationInputError as exc:
            return dict(result, failed=True, msg=str(exc))
        if organization.cached_at:
            display.warning(f"orgiam: the accounts come from the inventory cache (the organization as discovered at "
                            f"{organization.cached_at}); who has access is read live")
        try:
            access = read_access(settings_for(self.aws_settings, args, organization), organization, source="report")
        except (AwsAccessError, CatalogError) as exc:
            return dict(result, failed=True, msg=f"orgiam: the access report could not be read: {exc}")
        paths = write_access_report(access, os.path.expanduser(str(args["report_dir"])))
        summary = access_summary(access)
        lines = summary_lines(summary, paths)
        display.display("\n".join(lines))
        result.update(changed=False, access_files=paths, access_summary=summary, summary_lines=lines)
        return result
