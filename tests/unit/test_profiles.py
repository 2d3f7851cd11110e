"""One person's AWS CLI profiles from the access document (module_utils/report/profiles.py): names, the profiles of
each identity mode as botocore reads them, the merge into a config file that keeps what orgiam did not write,
and the documentation of orgiam.aws.profiles and orgiam.aws.access_report against their argument specs."""

from __future__ import annotations

import copy
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import botocore.configloader
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.orgiam.aws.plugins.module_utils.argspecs import ACCESS_REPORT_SPEC, PROFILES_SPEC
from ansible_collections.orgiam.aws.plugins.module_utils.report.profiles import (
    MARKER,
    ProfilesError,
    backup_path,
    file_name,
    find_person,
    merge,
    merge_into_file,
    parse_blocks,
    profile_names,
    profiles_for,
    render,
    slug,
)
from ansible_collections.orgiam.aws.plugins.modules import access_report as access_report_stub
from ansible_collections.orgiam.aws.plugins.modules import profiles as profiles_stub
from tests.unit.test_access_page import DEMO_ACCOUNTS, example_access
from tests.unit.test_argspecs import (
    ACTIONS,
    as_documented,
    doc_attributes,
    documented_options,
    documented_return,
    returned_keys,
    sidecar,
)

CENTRAL = "210987654321"
REGION = "eu-west-1"
ACCOUNT = {name: (account_id, ou) for account_id, name, ou, _ in DEMO_ACCOUNTS}


def iam_users_access() -> dict[str, Any]:
    """The demo's access as usecases/access.py writes it in iam_users mode: role ARNs and access modes filled in."""
    document = example_access()
    for row in document["rows"]:
        row["access_mode"] = "iam_users"
        row["role_arn"] = f"arn:aws:iam::{row['account_id']}:role/orgiam/{row['role']}"
    return document


def saml_access() -> dict[str, Any]:
    document = iam_users_access()
    document["mode"] = "saml"
    document["principals"] = [p for p in document["principals"] if p["type"] == "group"]
    document["rows"] = [r for r in document["rows"] if r["principal_type"] == "group"]
    for row in document["rows"]:
        row.update(access_mode="saml", mfa_required=None,
                   source_role_arn=f"arn:aws:iam::{CENTRAL}:role/orgiam/federated/{row['principal']}")
    return document


def identity_center_access() -> dict[str, Any]:
    document = iam_users_access()
    document["mode"] = "identity_center"
    document["identity_center"] = {"instance_arn": "arn:aws:sso:::instance/ssoins-1234567890abcdef",
                                   "identity_store_id": "d-1234567890", "start_url": "https://d-1234567890.awsapps.com/start",
                                   "region": "us-east-1", "account_id": "123456789012"}
    for row in document["rows"]:
        row.pop("role_arn")
        row.update(access_mode="identity_center", mfa_required=None, permission_set=row["role"])
    return document


def load(text: str, tmp_path: Path) -> dict[str, Any]:
    path = tmp_path / "config"
    path.write_text(text)
    return botocore.configloader.load_config(str(path))


# ---- names -----------------------------------------------------------------------------------------


def test_names_come_from_account_and_role():
    assert slug("Payments Prod") == "payments-prod" and slug("Payments-Test") == "payments-test"
    assert slug("Café  Équipe__1") == "cafe-equipe-1"
    key = ("610000000008", "Payments Prod", "ReadOnly", "")
    assert profile_names([key]) == {key: "orgiam-payments-prod-readonly"}
    assert profile_names([("1", "Data", "ReadOnly", "sso")])[("1", "Data", "ReadOnly", "sso")] == "orgiam-sso-data-readonly"
    assert file_name("platform engineers/eu") == "platform-engineers-eu" and file_name("alice.platform") == "alice.platform"


def test_clashing_names_get_the_account_id():
    a, b = ("111111111111", "Payments Prod", "ReadOnly", ""), ("222222222222", "payments-prod", "ReadOnly", "")
    other = ("333333333333", "Sandbox", "ReadOnly", "")
    names = profile_names([a, b, other])
    assert names == {a: "orgiam-payments-prod-readonly-111111111111", b: "orgiam-payments-prod-readonly-222222222222",
                     other: "orgiam-sandbox-readonly"}


keys = st.lists(st.tuples(st.sampled_from(["111111111111", "222222222222", "333333333333"]),
                          st.sampled_from(["Payments Prod", "payments-prod", "PAYMENTS_PROD", "Ünïcode", "x", "Data"]),
                          st.sampled_from(["ReadOnly", "readonly", "Admin", "Read-Only"]),
                          st.sampled_from(["", "sso"])), max_size=12)


@given(keys, st.randoms())
def test_names_are_unique_safe_and_the_same_in_any_order(chosen, random):
    names = profile_names(chosen)
    assert len(set(names.values())) == len(names) == len(set(chosen))
    assert all(name.startswith("orgiam-") and all(c.isascii() and (c.isalnum() or c == "-") for c in name)
               and name == name.lower() for name in names.values())
    shuffled = list(chosen)
    random.shuffle(shuffled)
    assert profile_names(shuffled) == names


# ---- the person ------------------------------------------------------------------------------------------


def test_a_person_is_a_user_first_then_a_group_and_unknown_names_list_close_ones():
    document = iam_users_access()
    assert find_person(document, "alice.platform") == ("user", "alice.platform")
    assert find_person(document, "Alice.Platform") == ("user", "alice.platform")
    assert find_person(document, "platform-engineers") == ("group", "platform-engineers")
    assert find_person(document, "group:platform-engineers") == ("group", "platform-engineers")
    with pytest.raises(ProfilesError, match=r"nobody named 'alice'.*did you mean .*alice\.platform"):
        find_person(document, "alice")
    with pytest.raises(ProfilesError, match="user:platform-engineers"):
        find_person(document, "user:platform-engineers")
    with pytest.raises(ProfilesError, match="identity provider: name their group"):
        find_person(saml_access(), "alice.platform")


# ---- each mode's profiles as botocore reads them ----------------------------------------------------------


def test_iam_users_profiles_of_a_user(tmp_path):
    sections = profiles_for(iam_users_access(), "bob.payments", REGION)
    text = render(sections, "bob.payments", "bob's profiles")
    profiles = load(text, tmp_path)["profiles"]
    workloads = [n for n, (_, ou) in ACCOUNT.items() if ou.startswith("Workloads")]
    assert sorted(profiles) == sorted(["orgiam-central"] + [f"orgiam-{slug(n)}-readonly" for n in workloads])
    prod = profiles["orgiam-payments-prod-readonly"]
    assert prod == {"role_arn": "arn:aws:iam::610000000008:role/orgiam/ReadOnly", "source_profile": "orgiam-central",
                    "mfa_serial": f"arn:aws:iam::{CENTRAL}:mfa/bob.payments", "role_session_name": "bob.payments",
                    "region": REGION}
    assert profiles["orgiam-central"] == {"region": REGION}  # a stub: no keys, ever
    assert "aws configure --profile orgiam-central" in text
    # both groups that give bob ReadOnly in Payments Prod are named, in one profile
    assert "through orgiam-ReadOnly-Workloads, payments-prod-readers" in text
    assert text.count(f"{MARKER} for bob.payments") == len(profiles) - 1


def test_iam_users_profiles_of_a_group_ask_for_the_mfa_device_and_a_role_without_mfa_has_none(tmp_path):
    text = render(profiles_for(iam_users_access(), "platform-engineers", REGION), "platform-engineers")
    profiles = load(text, tmp_path)["profiles"]
    assert profiles["orgiam-sandbox-alice-sandboxadmin"]["mfa_serial"] == f"arn:aws:iam::{CENTRAL}:mfa/YOUR-USER-NAME"
    assert "role_session_name" not in profiles["orgiam-sandbox-alice-sandboxadmin"]
    assert "# set your MFA device ARN: replace YOUR-USER-NAME" in text
    carol = load(render(profiles_for(iam_users_access(), "carol.audit", REGION), "carol.audit"), tmp_path)["profiles"]
    assert "mfa_serial" not in carol["orgiam-log-archive-readonly"]


def test_saml_profiles_chain_from_the_groups_source_profile(tmp_path):
    text = render(profiles_for(saml_access(), "payments-prod-readers", REGION), "payments-prod-readers")
    profiles = load(text, tmp_path)["profiles"]
    assert profiles == {
        "orgiam-saml-payments-prod-readers": {"region": REGION},
        "orgiam-payments-prod-readonly": {"role_arn": "arn:aws:iam::610000000008:role/orgiam/ReadOnly",
                                          "source_profile": "orgiam-saml-payments-prod-readers", "region": REGION},
    }
    assert f"arn:aws:iam::{CENTRAL}:role/orgiam/federated/payments-prod-readers" in text
    assert "saml2aws login" in text


def test_identity_center_profiles_use_one_sso_session(tmp_path):
    text = render(profiles_for(identity_center_access(), "alice.platform", REGION), "alice.platform")
    config = load(text, tmp_path)
    assert config["sso_sessions"] == {"orgiam": {"sso_start_url": "https://d-1234567890.awsapps.com/start",
                                                 "sso_region": "us-east-1", "sso_registration_scopes": "sso:account:access"}}
    assert config["profiles"]["orgiam-payments-prod-readonly"] == {
        "sso_session": "orgiam", "sso_account_id": "610000000008", "sso_role_name": "ReadOnly", "region": REGION}
    assert len(config["profiles"]) == 7  # 5 Workloads accounts with ReadOnly, 2 sandboxes with SandboxAdmin
    assert "role_arn" not in text and "source_profile" not in text


def test_both_modes_at_once_keep_apart(tmp_path):
    """identity_center with keep_iam_users: the same role through IAM and through a permission set."""
    document = iam_users_access()
    center = identity_center_access()
    document["identity_center"] = center["identity_center"]
    document["rows"] += center["rows"]
    profiles = load(render(profiles_for(document, "alice.platform", REGION), "alice.platform"), tmp_path)["profiles"]
    assert profiles["orgiam-payments-prod-readonly"]["source_profile"] == "orgiam-central"
    assert profiles["orgiam-sso-payments-prod-readonly"]["sso_session"] == "orgiam"


# ---- merge --------------------------------------------------------------------------------------------------

MINE = ("# my laptop's config\n"
        "[default]\nregion = eu-west-1\noutput = json\n\n"
        "; a profile of my own\n[profile mine]\nrole_arn = arn:aws:iam::111111111111:role/Mine\nsource_profile = default\n")


def test_merge_adds_to_a_hand_written_config_and_keeps_it_byte_for_byte(tmp_path):
    sections = profiles_for(iam_users_access(), "alice.platform", REGION)
    result = merge(MINE, sections, "alice.platform")
    assert result.text.startswith(MINE) and result.changed and not result.removed
    profiles = load(result.text, tmp_path)["profiles"]
    assert profiles["default"] == {"region": "eu-west-1", "output": "json"} and "mine" in profiles
    assert len(profiles) == 2 + 1 + 7
    again = merge(result.text, sections, "alice.platform")
    assert again.text == result.text and not again.changed


def test_merge_replaces_in_place_removes_lost_roles_and_never_touches_other_sections(tmp_path):
    document = iam_users_access()
    sections = profiles_for(document, "alice.platform", REGION)
    first = merge(MINE, sections, "alice.platform").text
    # between runs the person adds a comment before their own profile at the end, and keys to orgiam-central
    edited = first.replace("[profile orgiam-central]\n", "[profile orgiam-central]\noutput = text\n") + \
        "\n# added later\n[profile later]\nregion = us-west-2\n"
    # alice loses SandboxAdmin, and Payments Prod's ReadOnly profile changes (another role path)
    lost = copy.deepcopy(document)
    lost["rows"] = [r for r in lost["rows"] if r["role"] != "SandboxAdmin"]
    for row in lost["rows"]:
        if row["account_name"] == "Payments Prod":
            row["role_arn"] = row["role_arn"].replace("/orgiam/", "/orgiam/v2/")
    result = merge(edited, profiles_for(lost, "alice.platform", REGION), "alice.platform")
    assert sorted(result.removed) == ["profile orgiam-sandbox-alice-sandboxadmin", "profile orgiam-sandbox-bob-sandboxadmin"]
    assert result.replaced == ["profile orgiam-payments-prod-readonly"] and not result.added
    profiles = load(result.text, tmp_path)["profiles"]
    assert not [name for name in profiles if "sandboxadmin" in name]
    assert profiles["orgiam-payments-prod-readonly"]["role_arn"].endswith("/orgiam/v2/ReadOnly")
    assert profiles["orgiam-central"]["output"] == "text"  # a source profile is the person's once written
    assert result.text.startswith(MINE) and result.text.endswith("\n# added later\n[profile later]\nregion = us-west-2\n")
    # the order of the file is kept: the replaced profile sits where it was
    order = [b.header for b in parse_blocks(result.text) if b.header]
    assert order.index("profile orgiam-payments-prod-readonly") < order.index("profile later")


def test_merge_keeps_a_hand_written_profile_of_the_same_name_and_other_peoples_profiles():
    own = "[profile orgiam-payments-prod-readonly]\nrole_arn = arn:aws:iam::610000000008:role/Custom\n"
    bobs = render(profiles_for(iam_users_access(), "bob.payments", REGION), "bob.payments")
    bob_only = "\n".join(block for block in bobs.split("\n\n") if "orgiam-data-platform-dev-readonly" in block)
    result = merge(own + "\n" + bob_only, profiles_for(saml_access(), "payments-prod-readers", REGION), "payments-prod-readers")
    assert result.kept == ["profile orgiam-payments-prod-readonly"]
    assert result.text.startswith(own + "\n" + bob_only)  # bob's profile is bob's: another person's merge keeps it
    assert result.added == ["profile orgiam-saml-payments-prod-readers"]


def test_merge_keeps_windows_line_ends():
    crlf = MINE.replace("\n", "\r\n")
    result = merge(crlf, profiles_for(iam_users_access(), "carol.audit", REGION), "carol.audit")
    assert result.text.startswith(crlf) and "\n" not in result.text.replace("\r\n", "")


def test_merge_into_a_file_backs_it_up_first_and_only_when_it_changes(tmp_path):
    path = tmp_path / "config"
    path.write_text(MINE)
    os.chmod(path, 0o600)
    sections = profiles_for(iam_users_access(), "alice.platform", REGION)
    now = datetime(2026, 12, 1, 18, 0, 0, tzinfo=timezone.utc)
    result, before, backup = merge_into_file(str(path), sections, "alice.platform", write=False, now=now)
    assert result.changed and backup == "" and path.read_text() == MINE  # check mode: nothing written
    result, before, backup = merge_into_file(str(path), sections, "alice.platform", now=now)
    assert backup == f"{path}.orgiam-backup-20261201T180000Z" and Path(backup).read_text() == MINE == before
    assert path.read_text() == result.text and oct(path.stat().st_mode & 0o777) == "0o600"
    _, _, second = merge_into_file(str(path), sections, "alice.platform", now=now)
    assert second == ""  # nothing changed: no write and no backup
    assert backup_path(str(path), now) == f"{path}.orgiam-backup-20261201T180000Z-2"


# ---- documentation of the two actions ----------------------------------------------------------------------

STUBS = {"profiles": (profiles_stub, PROFILES_SPEC), "access_report": (access_report_stub, ACCESS_REPORT_SPEC)}


@pytest.mark.parametrize("name", sorted(STUBS))
def test_documented_options_are_the_argument_spec(name):
    stub, spec = STUBS[name]
    options = documented_options(stub)
    assert sorted(options) == sorted(spec)
    for option, entry in spec.items():
        assert doc_attributes(options[option]) == as_documented(entry), f"{name}: option {option}"
        assert options[option].get("description"), option
    source = open(stub.__file__, encoding="utf-8").read()
    assert f"argument_spec={name.upper()}_SPEC" in source and sidecar(stub)["DOCUMENTATION"]["module"] == name


@pytest.mark.parametrize("name", sorted(STUBS))
def test_return_documents_every_key_the_action_returns(name):
    stub, _ = STUBS[name]
    returned = returned_keys(os.path.join(ACTIONS, f"{name}.py"))
    documented = documented_return(stub)
    assert sorted(documented) == sorted(returned)
    for key, entry in documented.items():
        assert entry.get("description") and entry.get("returned") and entry.get("type"), key


def test_access_report_summary_is_documented_as_it_is():
    from ansible_collections.orgiam.aws.plugins.action.access_report import access_summary

    summary = access_summary(iam_users_access())
    assert sorted(documented_return(access_report_stub)["access_summary"]["contains"]) == sorted(summary)
    assert summary["paths_without_mfa"] == 1 and summary["paths_mfa_at_sign_in"] == 0
    assert access_summary(saml_access())["paths_mfa_at_sign_in"] == len(saml_access()["rows"])
