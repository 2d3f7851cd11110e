"""CloudFormation stacks with the states AWS gives them, which moto 5.2.5 does not.

A failing resource rolls the stack back (``ROLLBACK_COMPLETE``, ``UPDATE_ROLLBACK_COMPLETE``), or leaves
``CREATE_FAILED``, ``ROLLBACK_FAILED``, ``UPDATE_ROLLBACK_FAILED`` or ``DELETE_FAILED`` where AWS would;
``ContinueUpdateRollback`` and ``UpdateTerminationProtection`` exist and termination protection is
enforced; template size limits and ``TemplateURL`` follow AWS; dynamic references
(``{{resolve:secretsmanager:...}}``, ``{{resolve:ssm:...}}``) resolve.

Modules:
    engine              create, update, delete and continue-rollback of one stack's resources
    backend             moto's CloudFormation backend methods that run them
    api                 moto's CloudFormation API actions that take the new parameters and actions
    templates           size limits, TemplateURL, references and dependency order
    failures            a failing resource, named, and how its error reads
    dynamic_references  ``{{resolve:...}}`` in resource properties

``install()`` patches moto's classes in place, once per process (moto keeps its state in module
globals, so every emulator in the process shares it). Stacks that StackSets create for themselves
(moto's hidden service-managed stacks) keep moto's own behaviour.
"""

from __future__ import annotations

import threading

from emulator.cfn_stacks import api, backend, dynamic_references, failures, templates
from emulator.cfn_stacks.backend import force_stack_status

__all__ = ["install", "force_stack_status"]

_lock = threading.Lock()
_installed = False


def install() -> None:
    global _installed
    with _lock:
        if _installed:
            return
        templates.install()
        failures.install()
        dynamic_references.install()
        backend.install()
        api.install()
        _installed = True
