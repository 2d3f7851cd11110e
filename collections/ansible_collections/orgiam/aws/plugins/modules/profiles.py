#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: orgiam developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The orgiam.aws.profiles module: its work happens in plugins/action/profiles.py, its documentation is profiles.yml beside this file."""

from __future__ import annotations

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.orgiam.aws.plugins.module_utils.argspecs import PROFILES_SPEC


def main() -> None:
    module = AnsibleModule(argument_spec=PROFILES_SPEC, supports_check_mode=True)
    module.fail_json(msg="orgiam.aws.profiles runs as an action plugin on the controller; check the collection is installed whole")


if __name__ == "__main__":
    main()
