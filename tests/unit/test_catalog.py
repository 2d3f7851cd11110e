"""The catalog loader: good catalogs load; every bad one names file, line, field and fix."""

import os
import textwrap

import pytest

from ansible_collections.orgiam.aws.plugins.module_utils.catalog import CatalogError, load_catalog

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def write_catalog(tmp_path, settings="central_account: Security\n", roles=None):
    (tmp_path / "roles").mkdir()
    (tmp_path / "settings.yml").write_text(settings)
    for name, text in (roles or {"ro.yml": "name: ReadOnly\nmanaged_policies: [ReadOnlyAccess]\ntargets:\n  ou_paths: [Workloads]\n"}).items():
        (tmp_path / "roles" / name).write_text(textwrap.dedent(text))
    return str(tmp_path)


def problems_of(path):
    with pytest.raises(CatalogError) as info:
        load_catalog(path)
    return [str(p) for p in info.value.problems]


def test_the_shipped_catalog_loads():
    catalog = load_catalog(os.path.join(REPO, "roles_catalog"))
    assert catalog.settings.central_account == "Security"
    assert {r.name for r in catalog.roles} >= {"ReadOnly"}
    assert all(r.path == "/orgiam/" and r.mfa_required != r.is_machine for r in catalog.roles)
    assert [r.name for r in catalog.roles if r.is_machine] == ["WorkloadDeployer"]  # people never get MFA-less roles


def test_defaults_and_targets(tmp_path):
    path = write_catalog(
        tmp_path,
        roles={
            "a.yml": """
                name: Ops
                targets:
                  ou_paths: [/Workloads/Prod/, {path: Sandbox, recursive: false}]
                  accounts: ["111111111111"]
                  tags: {Environment: [prod, test]}
                  exclude: {accounts: [Payments Prod]}
            """
        },
    )
    role = load_catalog(path).roles[0]
    assert [(t.path, t.recursive) for t in role.include.ou_paths] == [("Workloads/Prod", True), ("Sandbox", False)]
    assert role.include.tags == (("Environment", ("prod", "test")),)
    assert role.exclude.accounts == ("Payments Prod",)
    assert role.max_session_duration == 3600 and role.mfa_required


def test_invalid_yaml_names_file_and_line(tmp_path):
    path = write_catalog(tmp_path, roles={"broken.yml": "name: X\ntargets: [oops\n"})
    (problem,) = problems_of(path)
    assert "roles/broken.yml:" in problem and "not valid YAML" in problem


def test_unknown_key_names_file_line_and_key(tmp_path):
    path = write_catalog(tmp_path, roles={"ro.yml": "name: ReadOnly\nmanaged_policy: [ReadOnlyAccess]\ntargets: {ou_paths: [W]}\n"})
    (problem,) = problems_of(path)
    assert "roles/ro.yml:2" in problem
    assert "unknown key 'managed_policy'" in problem and "managed_policies" in problem


def test_unknown_nested_key_in_targets(tmp_path):
    path = write_catalog(tmp_path, roles={"ro.yml": "name: ReadOnly\ntargets:\n  ou_path: [W]\n"})
    (problem,) = problems_of(path)
    assert "roles/ro.yml:3" in problem and "targets.ou_path" in problem and "ou_paths" in problem


def test_unknown_settings_key(tmp_path):
    path = write_catalog(tmp_path, settings="central_account: Security\nprune_policy: apply\n")
    (problem,) = problems_of(path)
    assert "settings.yml:2" in problem and "unknown key 'prune_policy'" in problem


def test_bad_values_are_explained(tmp_path):
    path = write_catalog(
        tmp_path,
        settings="central_account: Security\nprune: sometimes\n",
        roles={"x.yml": "name: 'bad name!'\nmax_session_duration: 60\ntargets: {}\n"},
    )
    found = " | ".join(problems_of(path))
    assert "settings.yml:2" in found and "'sometimes' is not one of: never, plan, apply" in found
    assert "field 'name'" in found and "field 'max_session_duration'" in found


def test_role_without_targets_is_refused(tmp_path):
    path = write_catalog(tmp_path, roles={"x.yml": "name: X\ntargets: {}\n"})
    (problem,) = problems_of(path)
    assert "targets selects no account" in problem


def test_duplicate_role_names_case_insensitive(tmp_path):
    path = write_catalog(
        tmp_path,
        roles={"a.yml": "name: ReadOnly\ntargets: {ou_paths: [W]}\n", "b.yml": "name: readonly\ntargets: {ou_paths: [W]}\n"},
    )
    (problem,) = problems_of(path)
    assert "roles/b.yml:1" in problem and "already defined at" in problem and "roles/a.yml" in problem


def test_duplicate_yaml_key(tmp_path):
    path = write_catalog(tmp_path, roles={"a.yml": "name: A\nname: B\ntargets: {ou_paths: [W]}\n"})
    (problem,) = problems_of(path)
    assert "roles/a.yml:2" in problem and "appears twice" in problem


def test_inline_policy_documents_are_checked(tmp_path):
    path = write_catalog(
        tmp_path,
        roles={
            "a.yml": """
                name: A
                inline_policies:
                  ok: {Version: "2012-10-17", Statement: [{Effect: Allow, Action: "s3:GetObject", Resource: "*"}]}
                  bad: {Statement: [{Effect: Maybe, Principal: "*", Resource: "*"}]}
                targets: {ou_paths: [W]}
            """
        },
    )
    found = " | ".join(problems_of(path))
    assert "inline_policies.bad.Statement.0.Effect" in found
    assert "needs Action or NotAction" in found and "cannot name a Principal" in found
    assert "inline_policies.ok" not in found


def test_missing_settings_and_missing_directory(tmp_path):
    (tmp_path / "roles").mkdir()
    (problem,) = problems_of(str(tmp_path))
    assert "settings.yml" in problem and "central_account" in problem
    (problem,) = problems_of(str(tmp_path / "nope"))
    assert "does not exist" in problem


def test_a_file_with_a_list_of_roles(tmp_path):
    path = write_catalog(tmp_path, roles={"many.yml": "roles:\n  - {name: A, targets: {ou_paths: [W]}}\n  - {name: B, targets: {accounts: ['1']}}\n"})
    assert [r.name for r in load_catalog(path).roles] == ["A", "B"]


def test_policy_references_are_checked_with_a_suggestion(tmp_path):
    path = write_catalog(tmp_path, roles={"x.yml": """
        name: X
        managed_policies: [ReadOnlyAcess, job-function/ViewOnlyAccess, service-role/ViewOnlyAccess, "arn:aws:iam::123456789012:policy/team/Mine", "arn:bad"]
        permissions_boundary: NoSuchBoundary
        targets: {ou_paths: [W]}
    """})
    found = " | ".join(problems_of(path))
    assert "'ReadOnlyAcess' is not an AWS managed policy in orgiam's list; did you mean 'ReadOnlyAccess'?" in found
    assert "lives at path /job-function/, not /service-role/" in found
    assert "'arn:bad' is not a policy ARN" in found and "field 'permissions_boundary'" in found
    assert "Mine" not in found and "managed_policies.1" not in found


NEWER_THAN_THE_LIST = "OrgiamTestPolicyFromTheFuture"


def test_a_full_policy_arn_passes_whether_or_not_the_list_knows_it(tmp_path):
    from ansible_collections.orgiam.aws.plugins.module_utils.catalog.loader import check_policy_reference
    from ansible_collections.orgiam.aws.plugins.module_utils.catalog.managed_policies import AWS_MANAGED_POLICY_PATHS

    assert NEWER_THAN_THE_LIST not in AWS_MANAGED_POLICY_PATHS
    arns = [
        f"arn:aws:iam::aws:policy/{NEWER_THAN_THE_LIST}",
        f"arn:aws:iam::aws:policy/service-role/{NEWER_THAN_THE_LIST}",
        f"arn:aws-us-gov:iam::aws:policy/job-function/{NEWER_THAN_THE_LIST}",
        "arn:aws-cn:iam::aws:policy/ReadOnlyAccess",
        "arn:aws:iam::123456789012:policy/team/Mine",
    ]
    assert [check_policy_reference(arn) for arn in arns] == [None] * len(arns)
    # through the loader too, as managed_policies and as permissions_boundary
    path = write_catalog(tmp_path, roles={"x.yml": f"""
        name: X
        managed_policies: {arns!r}
        permissions_boundary: arn:aws:iam::aws:policy/{NEWER_THAN_THE_LIST}
        targets: {{ou_paths: [W]}}
    """})
    assert load_catalog(path).roles[0].managed_policies == tuple(arns)


def test_a_bare_name_missing_from_the_list_names_the_lists_date_source_and_the_arn_to_write(tmp_path):
    from ansible_collections.orgiam.aws.plugins.module_utils.catalog import managed_policies

    path = write_catalog(tmp_path, roles={"x.yml": f"""
        name: X
        managed_policies: [{NEWER_THAN_THE_LIST}, job-function/{NEWER_THAN_THE_LIST}, ViewOnlyAcces]
        targets: {{ou_paths: [W]}}
    """})
    bare, with_path, typo = problems_of(path)
    for problem in (bare, with_path, typo):
        assert f"generated {managed_policies.GENERATED_AT} from {managed_policies.SOURCE}" in problem
        assert "If it is an AWS managed policy newer than the list, write its full ARN" in problem
    assert "managed_policies.0" in bare and "did you mean" not in bare
    assert f"arn:aws:iam::aws:policy/{NEWER_THAN_THE_LIST} (with the policy's path" in bare
    assert f"arn:aws:iam::aws:policy/job-function/{NEWER_THAN_THE_LIST};" in with_path
    assert "did you mean 'ViewOnlyAccess'?" in typo and "arn:aws:iam::aws:policy/ViewOnlyAcces " in typo


def test_the_policy_list_is_json_with_its_provenance_next_to_the_module():
    import datetime
    import json

    from ansible_collections.orgiam.aws.plugins.module_utils.catalog import managed_policies

    path = os.path.join(os.path.dirname(managed_policies.__file__), "aws_managed_policies.json")
    assert managed_policies.PATH == path
    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    assert list(data) == ["source", "generated_at", "count", "policies"]
    assert data["count"] == len(data["policies"]) > 1000
    assert datetime.date.fromisoformat(data["generated_at"]) and managed_policies.GENERATED_AT == data["generated_at"]
    assert managed_policies.SOURCE == data["source"] and ("moto" in data["source"] or "IAM" in data["source"])
    assert dict(managed_policies.AWS_MANAGED_POLICY_PATHS) == data["policies"]
    assert managed_policies.AWS_MANAGED_POLICY_PATHS["ReadOnlyAccess"] == "/"
    assert managed_policies.AWS_MANAGED_POLICY_PATHS["ViewOnlyAccess"] == "/job-function/"
    with pytest.raises(TypeError):
        managed_policies.AWS_MANAGED_POLICY_PATHS["Mine"] = "/"  # type: ignore[index]


def test_a_broken_policy_list_is_refused_and_says_what_to_do(tmp_path):
    from ansible_collections.orgiam.aws.plugins.module_utils.catalog.managed_policies import load_policy_list, parse_policy_list

    good = {"source": "test", "generated_at": "2026-01-01", "count": 1, "policies": {"A": "/"}}
    assert parse_policy_list(good).paths == {"A": "/"}
    with pytest.raises(ValueError, match="count says 2 but policies holds 1"):
        parse_policy_list(dict(good, count=2))
    with pytest.raises(ValueError, match="missing generated_at"):
        parse_policy_list({k: v for k, v in good.items() if k != "generated_at"})
    with pytest.raises(ValueError, match="map each policy name to its path"):
        parse_policy_list(dict(good, policies={"A": "job-function"}))
    with pytest.raises(ImportError, match="reinstall the orgiam.aws collection"):
        load_policy_list(str(tmp_path / "absent.json"))
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(ImportError, match="broken.json"):
        load_policy_list(str(tmp_path / "broken.json"))


def test_the_update_script_writes_the_list_from_moto_with_its_version(tmp_path):
    import importlib.util
    import json

    import moto

    from ansible_collections.orgiam.aws.plugins.module_utils.catalog import managed_policies

    spec = importlib.util.spec_from_file_location("update_aws_managed_policies", os.path.join(REPO, "scripts", "update_aws_managed_policies.py"))
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    assert os.path.samefile(script.TARGET, managed_policies.PATH)

    target = tmp_path / "list.json"
    assert script.main(["--offline", "--output", str(target)]) == 0
    written = managed_policies.load_policy_list(str(target))
    assert written.source.startswith(f"moto {moto.__version__}'s bundled copy")
    assert len(written.paths) > 1000 and written.paths["ViewOnlyAccess"] == "/job-function/"
    if managed_policies.SOURCE == written.source:  # the shipped list claims to be this moto's: it must be
        assert dict(written.paths) == dict(managed_policies.AWS_MANAGED_POLICY_PATHS)
        assert json.loads(target.read_text())["count"] == len(managed_policies.AWS_MANAGED_POLICY_PATHS)


def test_customer_managed_policies_external_id_and_quotas(tmp_path):
    # real actions, so that only the size is wrong: Resource ARNs make it long
    big = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
                                                   "Resource": [f"arn:aws:s3:::bucket-{i:05d}/*" for i in range(300)]}]}
    import json as _json
    path = write_catalog(tmp_path, roles={"x.yml": f"""
        name: X
        external_id: vendor-1234
        customer_managed_policies:
          huge: {_json.dumps(big)}
        targets: {{ou_paths: [W]}}
    """})
    (problem,) = problems_of(path)
    assert "customer_managed_policies.huge" in problem and "more than IAM's 6144" in problem


def test_assumable_by_adds_the_role_to_an_explicit_group(tmp_path):
    path = write_catalog(tmp_path, roles={"x.yml": "name: X\nassumable_by: [ops]\ntargets: {ou_paths: [W]}\n"})
    (tmp_path / "identity.yml").write_text("groups:\n  - {name: ops, grants: [{role: X, scope: {ou_paths: [W/Prod]}}]}\n")
    group = next(g for g in load_catalog(path).identity.groups if g.name == "ops")
    assert [(g.role, g.scope.everywhere) for g in group.grants] == [("X", False), ("X", True)]
    (tmp_path / "identity.yml").write_text("default_groups: true\n")
    (problem,) = problems_of(path)
    assert "assumable_by group 'ops'" in problem
