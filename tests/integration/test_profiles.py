"""playbooks/profiles.yml against the emulated demo organization: after a sync, a person's profiles are written,
botocore's own config loader reads every one of them with the role ARN, source profile and MFA device that the
deployed stacks give, and a merge into an existing config keeps what orgiam did not write.

Identity Center's profiles are checked on an access document in tests/unit/test_profiles.py.
"""

from __future__ import annotations

import os
from pathlib import Path

import botocore.configloader
import botocore.session

from tests.emulated import BIN, REPO, Run, Workspace
from tests.integration.test_sync import SANDBOX, WORKLOADS
from tests.integration.test_sync_saml import METADATA

SUFFIX = {name: name.lower().replace(" ", "-") for name in WORKLOADS + SANDBOX}


def profiles_playbook(ws: Workspace, *extra: str) -> Run:
    return ws.run(str(BIN / "ansible-playbook"), "-i", str(ws.inventory), str(REPO / "playbooks" / "profiles.yml"),
                  "-e", f"orgiam_profiles_dir={ws.out / 'profiles'}", *extra)


def load_profiles(path: Path) -> dict[str, dict[str, str]]:
    """The profiles as botocore reads them (what the AWS CLI and boto3 would use)."""
    return botocore.configloader.load_config(str(path))["profiles"]


def test_a_users_profiles_are_what_botocore_reads_and_match_the_deployed_roles(workspace):
    ws = workspace
    sync = ws.playbook()
    assert sync.returncode == 0, sync.output
    run = profiles_playbook(ws, "-e", "person=alice.platform")
    assert run.returncode == 0, run.output
    path = ws.out / "profiles" / "alice.platform.config"
    profiles = load_profiles(path)
    central = ws.accounts["Security"]
    expected = {f"orgiam-{SUFFIX[a]}-readonly": (a, "ReadOnly") for a in WORKLOADS}
    expected |= {f"orgiam-{SUFFIX[a]}-sandboxadmin": (a, "SandboxAdmin") for a in SANDBOX}
    assert sorted(profiles) == sorted([*expected, "orgiam-central"])
    assert "aws_access_key_id" not in path.read_text() and "aws_secret_access_key" not in path.read_text()
    for name, (account, role) in expected.items():
        profile = profiles[name]
        assert profile["role_arn"] == f"arn:aws:iam::{ws.accounts[account]}:role/orgiam/{role}", name
        assert profile["source_profile"] == "orgiam-central"
        assert profile["mfa_serial"] == f"arn:aws:iam::{central}:mfa/alice.platform"
        assert profile["role_session_name"] == "alice.platform" and profile["region"] == "us-east-1"
        # the role really exists where the profile points
        ws.client("iam", account).get_role(RoleName=role)
    # a botocore session resolves a profile through the file, as the AWS CLI does with AWS_CONFIG_FILE
    os.environ["AWS_CONFIG_FILE"] = str(path)
    try:
        session = botocore.session.Session(profile="orgiam-payments-prod-readonly")
        assert session.get_scoped_config()["source_profile"] == "orgiam-central"
        assert session.get_config_variable("region") == "us-east-1"
    finally:
        del os.environ["AWS_CONFIG_FILE"]
    assert "orgiam-payments-prod-readonly: ReadOnly in Payments Prod" in run.output

    # bob reaches ReadOnly in Payments Prod through two groups: one profile for it
    bob = profiles_playbook(ws, "-e", "person=bob.payments")
    assert bob.returncode == 0, bob.output
    bob_profiles = load_profiles(ws.out / "profiles" / "bob.payments.config")
    assert sorted(bob_profiles) == sorted([f"orgiam-{SUFFIX[a]}-readonly" for a in WORKLOADS] + ["orgiam-central"])

    # a group's profiles: the MFA device is the member's own, so a placeholder says to set it
    group = profiles_playbook(ws, "-e", "person=payments-prod-readers")
    assert group.returncode == 0, group.output
    group_path = ws.out / "profiles" / "payments-prod-readers.config"
    group_profiles = load_profiles(group_path)
    assert sorted(group_profiles) == ["orgiam-central", "orgiam-payments-prod-readonly"]
    assert group_profiles["orgiam-payments-prod-readonly"]["mfa_serial"] == f"arn:aws:iam::{central}:mfa/YOUR-USER-NAME"
    assert "# set your MFA device ARN" in group_path.read_text()

    # nobody of that name: the close names are listed
    unknown = profiles_playbook(ws, "-e", "person=alice")
    assert unknown.returncode != 0 and "alice.platform" in unknown.output and "nobody named 'alice'" in unknown.output


def test_merge_into_an_existing_config_keeps_what_orgiam_did_not_write(workspace):
    ws = workspace
    assert ws.playbook().returncode == 0
    config = ws.root / "aws-config"
    mine = "# my own\n[default]\nregion = eu-west-1\n\n[profile mine]\nrole_arn = arn:aws:iam::111111111111:role/Mine\nsource_profile = default\n"
    config.write_text(mine)
    refused = profiles_playbook(ws, "-e", "person=alice.platform", "-e", f"profiles_file={config}")
    assert refused.returncode != 0 and "profiles_merge=true" in refused.output
    assert config.read_text() == mine

    merged = profiles_playbook(ws, "-e", "person=alice.platform", "-e", f"profiles_file={config}", "-e", "profiles_merge=true")
    assert merged.returncode == 0, merged.output
    assert config.read_text().startswith(mine)  # every line of the person's own, byte for byte
    backups = sorted(ws.root.glob("aws-config.orgiam-backup-*"))
    assert len(backups) == 1 and backups[0].read_text() == mine
    profiles = load_profiles(config)
    assert profiles["default"] == {"region": "eu-west-1"} and "mine" in profiles
    assert "orgiam-sandbox-alice-sandboxadmin" in profiles

    # alice leaves platform-engineers' sandbox grant: SandboxAdmin goes from her file, her own profiles stay
    identity = ws.catalog / "identity.yml"
    identity.write_text(identity.read_text().replace("      - role: SandboxAdmin\n", "", 1))
    assert ws.playbook().returncode == 0
    again = profiles_playbook(ws, "-e", "person=alice.platform", "-e", f"profiles_file={config}", "-e", "profiles_merge=true")
    assert again.returncode == 0, again.output
    profiles = load_profiles(config)
    assert not [name for name in profiles if "sandboxadmin" in name]
    assert profiles["default"] == {"region": "eu-west-1"} and "mine" in profiles and "orgiam-payments-prod-readonly" in profiles
    assert "removed [profile orgiam-sandbox-alice-sandboxadmin]: alice.platform no longer has that access" in again.output
    assert config.read_text().startswith(mine)
    assert len(sorted(ws.root.glob("aws-config.orgiam-backup-*"))) == 2

    # nothing changed since: no write, no backup
    same = profiles_playbook(ws, "-e", "person=alice.platform", "-e", f"profiles_file={config}", "-e", "profiles_merge=true")
    assert same.returncode == 0 and "already up to date" in same.output
    assert len(sorted(ws.root.glob("aws-config.orgiam-backup-*"))) == 2


def test_saml_profiles_chain_from_the_groups_federated_role(workspace):
    ws = workspace
    (ws.catalog / "corp-adfs.xml").write_text(METADATA)
    (ws.catalog / "identity.yml").write_text(
        "mode: saml\nsaml: {provider_name: corp-adfs, metadata_file: corp-adfs.xml}\n"
        "groups:\n  - name: platform-engineers\n    grants: [{role: ReadOnly}, {role: SandboxAdmin}]\n"
    )
    assert ws.playbook().returncode == 0
    run = profiles_playbook(ws, "-e", "person=platform-engineers")
    assert run.returncode == 0, run.output
    path = ws.out / "profiles" / "platform-engineers.config"
    profiles = load_profiles(path)
    source = "orgiam-saml-platform-engineers"
    assert sorted(profiles) == sorted([source] + [f"orgiam-{SUFFIX[a]}-readonly" for a in WORKLOADS]
                                      + [f"orgiam-{SUFFIX[a]}-sandboxadmin" for a in SANDBOX])
    readonly = profiles["orgiam-payments-prod-readonly"]
    assert readonly["role_arn"] == f"arn:aws:iam::{ws.accounts['Payments Prod']}:role/orgiam/ReadOnly"
    assert readonly["source_profile"] == source and "mfa_serial" not in readonly
    federated = f"arn:aws:iam::{ws.accounts['Security']}:role/orgiam/federated/platform-engineers"
    ws.client("iam", "Security").get_role(RoleName="platform-engineers")
    assert federated in path.read_text()  # the source profile names the role the SAML tool must fill it for


IDENTITY_CENTER = """mode: identity_center
default_groups: false
groups:
  - name: platform-engineers
    grants: [{role: ReadOnly}, {role: SandboxAdmin}]
  - name: payments-prod-readers
    grants:
      - role: ReadOnly
        scope: {accounts: [Payments Prod]}
"""


def test_identity_center_profiles_use_the_sso_session_and_the_permission_sets(workspace):
    ws = workspace
    (ws.catalog / "identity.yml").write_text(IDENTITY_CENTER)
    sync = ws.playbook()
    assert sync.returncode == 0, sync.output
    run = profiles_playbook(ws, "-e", "person=bob.payments")
    assert run.returncode == 0, run.output
    config = botocore.configloader.load_config(str(ws.out / "profiles" / "bob.payments.config"))
    (session,) = config["sso_sessions"].values()
    assert session["sso_registration_scopes"] == "sso:account:access" and session["sso_start_url"].startswith("https://")
    assert config["profiles"] == {"orgiam-payments-prod-readonly": {
        "sso_session": "orgiam", "sso_account_id": ws.accounts["Payments Prod"], "sso_role_name": "ReadOnly",
        "region": "us-east-1"}}
    alice = profiles_playbook(ws, "-e", "person=alice.platform")
    assert alice.returncode == 0, alice.output
    profiles = load_profiles(ws.out / "profiles" / "alice.platform.config")
    assert sorted(profiles) == sorted([f"orgiam-{SUFFIX[a]}-readonly" for a in WORKLOADS]
                                      + [f"orgiam-{SUFFIX[a]}-sandboxadmin" for a in SANDBOX])
