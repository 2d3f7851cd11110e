"""orgiam's statement in the Organizations delegation policy, merged into a policy others also write; and the
pipeline parameter that is given empty rather than left to its default."""

from __future__ import annotations

from ansible_collections.orgiam.aws.plugins.module_utils.render import bootstrap as R

THEIRS = {"Sid": "Theirs", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::222222222222:root"},
          "Action": "organizations:ListPolicies", "Resource": "*"}


def test_orgiams_statement_reads_the_organization_and_nothing_more():
    statement = R.organization_read_statement("aws-us-gov", "333333333333")
    assert statement["Principal"] == {"AWS": "arn:aws-us-gov:iam::333333333333:root"} and statement["Resource"] == "*"
    assert statement["Sid"] == R.ORGANIZATION_READ_SID
    assert all(a.startswith(("organizations:List", "organizations:Describe")) for a in statement["Action"])
    assert "organizations:ListAccounts" in statement["Action"] and "organizations:ListTagsForResource" in statement["Action"]


def test_orgiams_statement_is_added_or_replaced_and_every_other_one_kept_in_its_place():
    ours = R.organization_read_statement("aws", "333333333333")
    assert R.with_statement(None, ours) == {"Version": "2012-10-17", "Statement": [ours]}
    assert R.with_statement({"Version": "2012-10-17", "Statement": THEIRS}, ours)["Statement"] == [THEIRS, ours]
    old = dict(ours, Action=["organizations:ListAccounts"])
    merged = R.with_statement({"Version": "2012-10-17", "Statement": [old, THEIRS, dict(old)]}, ours)
    assert merged["Statement"] == [ours, THEIRS]  # a duplicate of orgiam's Sid goes
    assert R.orgiam_statement(merged) == ours and R.orgiam_statement({"Statement": [THEIRS]}) is None


def test_statements_compare_as_iam_reads_them():
    ours = R.organization_read_statement("aws", "333333333333")
    assert R.same_statement(ours, dict(ours, Action=list(reversed(ours["Action"]))))
    assert not R.same_statement(ours, dict(ours, Action=ours["Action"] + ["organizations:ListPolicies"]))
    single = dict(ours, Action=["organizations:ListAccounts"])
    assert R.same_statement(single, dict(ours, Action="organizations:ListAccounts"))
    assert not R.same_statement(ours, None) and R.same_statement(None, None)


def test_a_parameter_given_empty_is_not_left_to_its_default():
    template = R.TemplateFile("pipeline.yml", "Resources: {}", {R.READER_ROLE_PARAMETER: {"Type": "String", "Default": "x"},
                                                                 "Other": {"Type": "String", "Default": "y"}})
    known = {R.READER_ROLE_PARAMETER: "", "Other": ""}
    assert R.fill_parameters(template, known) == ({}, [])
    assert R.fill_parameters(template, known, frozenset({R.READER_ROLE_PARAMETER})) == ({R.READER_ROLE_PARAMETER: ""}, [])
