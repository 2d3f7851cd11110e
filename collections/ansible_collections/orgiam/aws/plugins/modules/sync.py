#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: orgiam developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The orgiam.aws.sync module: its work happens in plugins/action/sync.py, its documentation is sync.yml beside this file."""

from __future__ import annotations

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.orgiam.aws.plugins.module_utils.argspecs import SYNC_SPEC


def main() -> None:
    module = AnsibleModule(argument_spec=SYNC_SPEC, supports_check_mode=True)
    module.fail_json(msg="orgiam.aws.sync runs as an action plugin on the controller; check the collection is installed whole")


if __name__ == "__main__":
    main()
