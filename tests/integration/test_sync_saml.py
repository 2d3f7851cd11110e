"""mode: saml: a SAML provider and federated roles in the central account instead of IAM users."""

from __future__ import annotations

import json

CERTIFICATE = "MIIC" + "A" * 1100  # a stand-in: IAM wants the real metadata, 1,000 characters or more
METADATA = """<?xml version="1.0"?>
<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://adfs.corp.example/adfs/services/trust">
  <IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <KeyDescriptor use="signing">
      <KeyInfo xmlns="http://www.w3.org/2000/09/xmldsig#"><X509Data><X509Certificate>""" + CERTIFICATE + """</X509Certificate></X509Data></KeyInfo>
    </KeyDescriptor>
    <SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://adfs.corp.example/adfs/ls/"/>
  </IDPSSODescriptor>
</EntityDescriptor>
"""


def test_saml_mode_makes_federated_roles_that_member_roles_trust(workspace):
    ws = workspace
    (ws.catalog / "corp-adfs.xml").write_text(METADATA)
    (ws.catalog / "identity.yml").write_text(
        "mode: saml\nsaml: {provider_name: corp-adfs, metadata_file: corp-adfs.xml}\n"
        "groups:\n  - name: platform-engineers\n    grants: [{role: ReadOnly}, {role: SandboxAdmin}]\n"
    )
    run = ws.playbook()
    assert run.returncode == 0, run.output
    iam = ws.client("iam", "Security")
    providers = [p["Arn"] for p in iam.list_saml_providers()["SAMLProviderList"]]
    assert providers == [f"arn:aws:iam::{ws.accounts['Security']}:saml-provider/corp-adfs"]
    federated = sorted(r["RoleName"] for r in iam.list_roles(PathPrefix="/orgiam/federated/")["Roles"])
    assert federated == ["orgiam-ReadOnly-Workloads", "orgiam-SandboxAdmin-Sandbox", "platform-engineers"]
    trust = iam.get_role(RoleName="platform-engineers")["Role"]["AssumeRolePolicyDocument"]
    trust = json.loads(trust) if isinstance(trust, str) else trust
    (statement,) = trust["Statement"]
    assert statement["Principal"] == {"Federated": providers[0]} and statement["Action"] == "sts:AssumeRoleWithSAML"
    attached = iam.list_attached_role_policies(RoleName="platform-engineers", PathPrefix="/orgiam/")["AttachedPolicies"]
    assert [p["PolicyName"] for p in attached] == ["platform-engineers-assume-1"]
    assert iam.list_users(PathPrefix="/orgiam/")["Users"] == []  # people come from the IdP

    member = ws.client("iam", "Payments Prod").get_role(RoleName="ReadOnly")["Role"]["AssumeRolePolicyDocument"]
    member = json.loads(member) if isinstance(member, str) else member
    assert member["Statement"][0]["Condition"] == {
        "ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{ws.accounts['Security']}:role/orgiam/federated/*"}
    }
