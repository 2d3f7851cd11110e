"""IAM API calls that moto answers unlike AWS, where it matters for changes made by hand.

Drift detection (orgiam's live truth) reads back what a person changed through the IAM API, so that API
must change only what the call names:

- ``UpdateRole`` without ``Description`` keeps the role's description, and without ``MaxSessionDuration``
  keeps its maximum session duration, as in AWS. moto 5.2.5 clears the description and sets the duration
  to 3,600 seconds instead, so that a hand change of one showed as a change of the other too.
"""

from __future__ import annotations

from typing import Any

from moto.core.responses import EmptyResult
from moto.iam.responses import IamResponse

_installed = False


def _update_role(self: IamResponse) -> Any:
    role_name = self._get_param("RoleName")
    role = self.backend.get_role(role_name)
    description = self._get_param("Description")
    max_session_duration = self._get_param("MaxSessionDuration")
    self.backend.update_role(
        role_name,
        role.description if description is None else description,
        role.max_session_duration if max_session_duration is None else max_session_duration,
    )
    return EmptyResult()


def install() -> None:
    global _installed
    if not _installed:
        IamResponse.update_role = _update_role  # type: ignore[method-assign]
        _installed = True
