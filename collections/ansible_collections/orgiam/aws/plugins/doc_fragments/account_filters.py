# -*- coding: utf-8 -*-
# Copyright: orgiam developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Options that choose accounts, shared by the organization inventory plugin and org_accounts_info."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  include_ou_paths:
    description:
      - Only accounts in these OUs or below them (recursive). Paths are OU names from the top OU joined
        with C(/), for example V(Workloads/Prod); matching is case-insensitive. V(/) is the root.
      - Empty means every account, including the accounts directly under the root.
      - A path that does not exist in the organization is an error that lists the paths that exist.
    type: list
    elements: str
    default: []
  exclude_ou_paths:
    description:
      - Leave out accounts in these OUs or below them (recursive). Same path syntax and errors as
        O(include_ou_paths).
    type: list
    elements: str
    default: []
  exclude_accounts:
    description:
      - Leave out these accounts, given by 12-digit id or by name (names are matched case-insensitively).
      - Quote ids in YAML; an unquoted id is read as a number and its leading zeros are restored.
      - An entry that matches no account gives a warning.
    type: list
    elements: raw
    default: []
  tag_filters:
    description:
      - Only accounts whose tags match every key of this mapping. A value may be a string or a list of
        strings (any of them matches); V(*) or null only requires the key to be present.
      - Tag keys and values are case-sensitive. YAML booleans are compared as V(true)/V(false).
    type: dict
    default: {}
  include_suspended:
    description:
      - Also include accounts that are not ACTIVE (SUSPENDED, PENDING_CLOSURE, CLOSED,
        PENDING_ACTIVATION). By default they are left out, since orgiam never targets them.
    type: bool
    default: false
"""
