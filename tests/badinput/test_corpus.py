"""Every case of the bad-input corpus (cases.py) is refused before any AWS call, with the file, the field and the fix.

For each case: the good catalog BASE is written, the case's files over it, then the catalog is loaded and, where
the case needs the organization, resolved against a fixed in-memory one and its member templates measured. The
case must fail at its stage with a CatalogError naming the file and holding each expected fragment, without a
traceback, and without any AWS client made or API called (both are made to fail the test).
"""

from __future__ import annotations

import os
from pathlib import Path

import boto3
import botocore.client
import botocore.session
import pytest

from ansible_collections.orgiam.aws.plugins.module_utils.catalog import CatalogError, load_catalog
from ansible_collections.orgiam.aws.plugins.module_utils.render.limits import template_problems
from ansible_collections.orgiam.aws.plugins.module_utils.resolve import resolve
from tests.badinput.cases import BASE, CASES, ORGANIZATION, OU_PATHS, Case

REPO = Path(__file__).resolve().parents[2]


class AwsCalled(AssertionError):
    pass


@pytest.fixture(autouse=True)
def no_aws(monkeypatch):
    """Any boto3/botocore client or API call fails the test."""
    def refuse(*args, **kwargs):
        raise AwsCalled("an AWS client was made or called while checking the catalog")

    monkeypatch.setattr(boto3.Session, "client", refuse)
    monkeypatch.setattr(boto3, "client", refuse)
    monkeypatch.setattr(botocore.session.Session, "create_client", refuse)
    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", refuse)


def write(directory: Path, files: dict[str, str | bytes | None]) -> str:
    merged: dict[str, str | bytes | None] = dict(BASE)
    merged.update(files)
    (directory / "roles").mkdir(parents=True, exist_ok=True)
    for relative, content in merged.items():
        target = directory / relative
        if content is None:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8")
    return str(directory)


def run_case(case: Case, directory: Path) -> CatalogError:
    path = write(directory, case.files)
    if case.stage == "load":
        with pytest.raises(CatalogError) as raised:
            load_catalog(path)
        return raised.value
    catalog = load_catalog(path)  # must load: the problem is one only the organization shows
    accounts = case.accounts if case.accounts is not None else ORGANIZATION
    ou_paths = sorted(set(OU_PATHS) | {a.ou_path for a in accounts if a.ou_path})
    if case.stage == "resolve":
        with pytest.raises(CatalogError) as raised:
            resolve(catalog, accounts, ou_paths, case.organization_id)
        return raised.value
    assert case.stage == "limits", case.stage
    problems = template_problems(catalog, resolve(catalog, accounts, ou_paths, case.organization_id))
    assert problems, "the member templates were expected to be over CloudFormation's limits"
    return CatalogError(problems)


def test_the_corpus_has_at_least_100_distinct_cases():
    ids = [case.id for case in CASES]
    assert len(ids) == len(set(ids)), "case ids must be unique"
    assert len(CASES) >= 100
    contents = [tuple(sorted((k, v if isinstance(v, (str, bytes)) else repr(v)) for k, v in c.files.items())) + (repr(c.accounts),)
                for c in CASES]
    assert len(contents) == len(set(contents)), "two cases make the same change"


def test_the_base_catalog_is_good(tmp_path):
    """Each case fails because of its own change: without it the catalog loads, resolves and fits."""
    catalog = load_catalog(write(tmp_path, {}))
    resolution = resolve(catalog, ORGANIZATION, OU_PATHS)
    assert template_problems(catalog, resolution) == []


def test_the_shipped_catalog_still_loads():
    catalog = load_catalog(str(REPO / "roles_catalog"))
    assert catalog.roles


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input_is_refused_before_any_aws_call(case: Case, tmp_path):
    error = run_case(case, tmp_path / "catalog")
    text = str(error)
    assert "Traceback" not in text
    assert error.problems and all(p.message and p.file for p in error.problems)
    shown = text.replace(str(tmp_path / "catalog") + os.sep, "")
    assert case.file in shown, f"the error does not name {case.file!r}:\n{shown}"
    for fragment in case.expect:
        assert fragment in shown, f"missing {fragment!r} in:\n{shown}"
