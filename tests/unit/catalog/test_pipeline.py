"""settings.yml's pipeline section and what bootstrap asks of the catalog, checked without AWS."""

from __future__ import annotations

from typing import Any

import pytest

from ansible_collections.orgiam.aws.plugins.module_utils.catalog.pipeline import (
    BootstrapInputError,
    PipelineSettings,
    pipeline_settings,
    role_path_problems,
    source_problems,
)
from tests.unit.bootstrap_org import ARN, catalog


def pipeline(**changes: Any) -> PipelineSettings:
    values = {"account": "Deployments", "provider": "CodeCommit", "repository": "orgiam-catalog"}
    values.update(changes)
    return PipelineSettings(**values)


def test_a_missing_pipeline_section_says_what_to_add(tmp_path):
    with pytest.raises(BootstrapInputError) as raised:
        pipeline_settings(catalog(tmp_path, settings_extra=""))
    assert "no 'pipeline' section" in str(raised.value) and "provider: CodeCommit" in str(raised.value)
    assert len(raised.value.problems) == 1


def test_pipeline_defaults(tmp_path):
    settings = pipeline_settings(catalog(tmp_path))
    assert (settings.account, settings.provider, settings.repository) == ("Deployments", "CodeCommit", "orgiam-catalog")
    assert (settings.branch, settings.approval, settings.schedule, settings.connection_arn) == (
        "main", "when-changes", "rate(1 day)", "")


@pytest.mark.parametrize("given, parameter", [(True, "true"), (False, "false"), ("when-changes", "when-changes")])
def test_approval_becomes_the_pipelines_approval_parameter(given, parameter):
    from ansible_collections.orgiam.aws.plugins.module_utils.catalog.pipeline import approval_parameter

    assert approval_parameter(given) == parameter


@pytest.mark.parametrize(
    "changes, problem",
    [
        ({}, None),
        ({"repository": "my.repo_name-1"}, None),
        ({"repository": "acme/orgiam"}, "is not a CodeCommit repository name"),
        ({"repository": "orgiam.git"}, "is not a CodeCommit repository name"),
        ({"repository": "x" * 101}, "is not a CodeCommit repository name"),
        ({"repository": "has space"}, "is not a CodeCommit repository name"),
        ({"connection_arn": ARN}, "a CodeCommit source takes no connection"),
        ({"provider": "CodeConnections", "repository": "acme/orgiam-catalog", "connection_arn": ARN}, None),
        ({"provider": "CodeConnections", "repository": "group/subgroup/orgiam", "connection_arn": ARN}, None),
        ({"provider": "CodeConnections", "repository": "orgiam-catalog", "connection_arn": ARN}, "owner/name"),
        ({"provider": "CodeConnections", "repository": "acme/", "connection_arn": ARN}, "owner/name"),
        ({"provider": "CodeConnections", "repository": "acme/orgiam.git", "connection_arn": ARN}, "owner/name"),
        ({"provider": "CodeConnections", "repository": "acme/orgiam"}, "needs the ARN of a connection"),
        ({"branch": "release/2026.1"}, None),
        ({"branch": "bad..branch"}, "not a valid git branch name"),
        ({"branch": "with space"}, "not a valid git branch name"),
        ({"branch": "ends.lock"}, "not a valid git branch name"),
    ],
)
def test_repository_parameters_are_checked_as_codecommit_and_codeconnections_check_them(changes, problem):
    problems = source_problems(pipeline(**changes), "settings.yml")
    if problem is None:
        assert problems == []
    else:
        assert len(problems) == 1 and problem in problems[0] and "settings.yml: field 'pipeline.source." in problems[0]


def test_roles_must_live_under_role_path(tmp_path):
    cat = catalog(tmp_path, roles={"team.yml": "name: Team\npath: /team/\ntargets: {ou_paths: [Workloads]}\n"})
    (problem,) = role_path_problems(cat)
    assert "role 'Team' has path /team/, outside role_path /orgiam/" in problem


def test_roles_under_role_path_are_fine(tmp_path):
    assert role_path_problems(catalog(tmp_path)) == []


def test_the_error_lists_every_problem():
    error = BootstrapInputError(["one", "two"])
    assert error.problems == ["one", "two"] and str(error) == "bootstrap cannot start: 2 problems:\n  one\n  two"
