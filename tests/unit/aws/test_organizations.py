"""Organizations calls of the bootstrap and of discovery: delegated administrators, the delegation policy, and
what a caller that may not read the organization is told."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ansible_collections.orgiam.aws.plugins.module_utils.aws import organizations as O
from ansible_collections.orgiam.aws.plugins.module_utils.aws.errors import AwsAccessError
from tests.fakes import client_error


class Org:
    """An Organizations client answering with ``answers`` (an exception is raised)."""

    def __init__(self, **answers: Any) -> None:
        self.answers = answers
        self.requests: list[tuple[str, dict[str, Any]]] = []

    def _answer(self, operation: str, kwargs: dict[str, Any]) -> Any:
        self.requests.append((operation, kwargs))
        answer = self.answers.get(operation)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def get_paginator(self, name: str) -> Any:
        org = self

        class Pages:
            def paginate(self, **kwargs: Any) -> Any:
                return org._answer(name, kwargs)
        return Pages()

    def register_delegated_administrator(self, **kwargs: Any) -> Any:
        return self._answer("register", kwargs)

    def describe_resource_policy(self) -> Any:
        return self._answer("describe", {})

    def put_resource_policy(self, **kwargs: Any) -> Any:
        return self._answer("put", kwargs)


def test_delegated_administrators_are_read_page_by_page_for_one_service():
    org = Org(list_delegated_administrators=[{"DelegatedAdministrators": [{"Id": "333333333333"}]},
                                             {"DelegatedAdministrators": [{"Id": "222222222222"}]}])
    assert O.delegated_administrators(org, O.STACKSETS_PRINCIPAL) == ("222222222222", "333333333333")
    assert org.requests == [("list_delegated_administrators", {"ServicePrincipal": O.STACKSETS_PRINCIPAL})]
    with pytest.raises(AwsAccessError, match="list the delegated administrators for x: AccessDeniedException: no"):
        O.delegated_administrators(Org(list_delegated_administrators=client_error("AccessDeniedException", "no")), "x")


def test_registering_an_account_already_registered_is_no_error():
    assert O.register_delegated_administrator(Org(register={}), "333333333333", O.STACKSETS_PRINCIPAL) is True
    assert O.register_delegated_administrator(Org(register=client_error("AccountAlreadyRegisteredException")), "3", "s") is False
    with pytest.raises(AwsAccessError, match="register account 3 as delegated administrator for s: ConstraintViolationException"):
        O.register_delegated_administrator(Org(register=client_error("ConstraintViolationException", "suspended")), "3", "s")


def test_the_delegation_policy_is_read_as_a_document_and_none_when_there_is_none():
    document = {"Version": "2012-10-17", "Statement": []}
    assert O.resource_policy(Org(describe={"ResourcePolicy": {"Content": json.dumps(document)}})) == document
    assert O.resource_policy(Org(describe=client_error("ResourcePolicyNotFoundException"))) is None
    with pytest.raises(AwsAccessError, match="not JSON"):
        O.resource_policy(Org(describe={"ResourcePolicy": {"Content": "{"}}))
    org = Org(put={})
    O.put_resource_policy(org, document)
    assert json.loads(org.requests[0][1]["Content"]) == document


def test_a_caller_denied_the_organization_is_told_which_account_and_what_to_do():
    error = O.explain_read_denied(client_error("AccessDeniedException", "You don't have permissions to access this resource."),
                                  "222222222222")
    text = str(error)
    assert error.code == "AccessDeniedException"
    assert text.startswith("cannot discover the AWS Organization: account 222222222222 may not read the organization "
                           "(AccessDeniedException: You don't have permissions to access this resource.)")
    for fragment in ("credentials of the management account", "settings.yml pipeline.delegated_admin", "docs/delegated-admin.md",
                     "orgiam/orgiam-organization-reader"):
        assert fragment in text
    other = O.explain_read_denied(client_error("TooManyRequestsException", "slow down"), "2")
    assert str(other) == "cannot discover the AWS Organization: TooManyRequestsException: slow down"
