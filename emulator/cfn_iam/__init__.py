"""CloudFormation IAM resource types that really create, update and delete IAM state.

moto 5.2.5's CloudFormation skips ``AWS::IAM::Group``, ``AWS::IAM::UserToGroupAddition`` and
``AWS::IAM::SAMLProvider``, ignores
most of an ``AWS::IAM::Role`` update and its ``ManagedPolicyArns``, and does little on user and
managed policy updates. The classes here replace moto's for these types: moto's parser maps a type to
the last direct subclass of ``CloudFormationModel`` that declares it, and these are defined after
moto's own (importing ``moto.cloudformation.parsing`` first defines all of moto's).

Each resource keeps the properties it last applied. An update compares them with the new ones, as
CloudFormation does, so that it removes only what the template itself had added (an attachment made by
an ``AWS::IAM::ManagedPolicy``'s ``Roles``, or a membership made by an ``AWS::IAM::UserToGroupAddition``,
survives an update of the role or user). Deletion removes whatever is attached, as IAM requires.
Changing a name (or a role's or managed policy's path) replaces the resource, as in AWS.

``iam_api`` puts right IAM API calls that moto answers unlike AWS where a change made by hand must show
as exactly that change (``UpdateRole`` keeps what it does not name).
"""

from __future__ import annotations

# moto's models first, so that the classes below come after them in moto's type -> model map
import moto.cloudformation.parsing  # noqa: F401
from moto.core.common_models import CloudFormationModel

from emulator.cfn_iam.common import clear_model_caches, iam_backend
from emulator.cfn_iam import iam_api
from emulator.cfn_iam.group import IamGroup, IamUserToGroupAddition
from emulator.cfn_iam.managed_policy import IamManagedPolicy
from emulator.cfn_iam.role import IamRole
from emulator.cfn_iam.saml_provider import IamSamlProvider
from emulator.cfn_iam.user import IamUser

__all__ = ["MODELS", "clear_model_caches", "install", "iam_backend", "IamGroup", "IamManagedPolicy", "IamRole",
           "IamSamlProvider", "IamUser", "IamUserToGroupAddition"]

MODELS: tuple[type[CloudFormationModel], ...] = (
    IamRole, IamGroup, IamUserToGroupAddition, IamUser, IamManagedPolicy, IamSamlProvider,
)
clear_model_caches()


def install() -> None:
    """The models are in moto's map once this package is imported; forget any map built before that. Also
    puts right the IAM API calls that moto answers unlike AWS (``iam_api``)."""
    iam_api.install()
    clear_model_caches()
