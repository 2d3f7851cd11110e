#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: orgiam developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The orgiam.aws.access_report module: its work happens in plugins/action/access_report.py, its documentation is access_report.yml beside this file."""

from __future__ import annotations

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.orgiam.aws.plugins.module_utils.argspecs import ACCESS_REPORT_SPEC


def main() -> None:
    module = AnsibleModule(argument_spec=ACCESS_REPORT_SPEC, supports_check_mode=True)
    module.fail_json(msg="orgiam.aws.access_report runs as an action plugin on the controller; check the collection is installed whole")


if __name__ == "__main__":
    main()
