# -*- coding: utf-8 -*-
# Copyright: orgiam developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The AWS managed policies orgiam knows by name, and where that list came from.

The list is data, ``aws_managed_policies.json`` next to this file, written by
``scripts/update_aws_managed_policies.py``: ``source`` (where it came from), ``generated_at`` (the
day it was written), ``count`` and ``policies`` (name -> path, e.g. ``ViewOnlyAccess`` ->
``/job-function/``). It is read once, on import, from this module's own directory, so it is found
the same way in the repository and in an installed collection. It is read on the controller only
(the catalog, the action and inventory plugins); no module sent to a host imports it.

AWS adds managed policies every month, so the list is always somewhat behind: a name missing from it
is refused with its date and source, and a full policy ARN is never checked against it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Mapping

FILE_NAME = "aws_managed_policies.json"
PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), FILE_NAME)


@dataclass(frozen=True)
class PolicyList:
    """The list as loaded: provenance and name -> path."""

    source: str
    generated_at: str
    paths: Mapping[str, str]


def parse_policy_list(data: Any, where: str = FILE_NAME) -> PolicyList:
    """A PolicyList from the JSON file's content; ValueError naming ``where`` when it is malformed."""
    if not isinstance(data, dict):
        raise ValueError(f"{where}: expected an object with source, generated_at, count and policies")
    missing = [key for key in ("source", "generated_at", "count", "policies") if key not in data]
    if missing:
        raise ValueError(f"{where}: missing {', '.join(missing)}")
    policies = data["policies"]
    if not isinstance(policies, dict) or not all(
        isinstance(name, str) and isinstance(path, str) and path.startswith("/") and path.endswith("/")
        for name, path in policies.items()
    ):
        raise ValueError(f"{where}: policies must map each policy name to its path (/, /job-function/, ...)")
    if data["count"] != len(policies):
        raise ValueError(f"{where}: count says {data['count']} but policies holds {len(policies)}; regenerate it")
    return PolicyList(str(data["source"]), str(data["generated_at"]), MappingProxyType(dict(policies)))


def load_policy_list(path: str = PATH) -> PolicyList:
    """Read and check the list at ``path``; ImportError when the file is absent or broken (an incomplete install)."""
    try:
        with open(path, encoding="utf-8") as handle:
            return parse_policy_list(json.load(handle), path)
    except (OSError, ValueError) as exc:  # json's errors are ValueErrors
        reason = str(exc) if path in str(exc) else f"{path}: {exc}"
        raise ImportError(
            f"orgiam cannot read its list of AWS managed policies ({reason}); reinstall the orgiam.aws collection "
            "or run scripts/update_aws_managed_policies.py"
        ) from exc


POLICY_LIST = load_policy_list()
AWS_MANAGED_POLICY_PATHS: Mapping[str, str] = POLICY_LIST.paths
SOURCE: str = POLICY_LIST.source
GENERATED_AT: str = POLICY_LIST.generated_at
