"""What a user sees when the inventory file is not named for orgiam.aws.organization, and what
``ansible-playbook --syntax-check`` needs of the inventory (nothing from AWS).

The plugin reads only files named ``*organization.orgiam.yml`` or ``.yaml``. A file that says
``plugin: orgiam.aws.organization`` under another name is skipped by Ansible with "Unable to parse"
alone (the reason only shows at -vvv); the plugin adds a warning naming the file and its new name.
No AWS call is needed for any of this: the environment has no credentials.
"""

from __future__ import annotations

import json

import pytest

from tests.integration.conftest import REPO, run

HINT = "says 'plugin: orgiam.aws.organization', but that plugin reads only files whose name ends with"


def without(env: dict[str, str], *names: str) -> dict[str, str]:
    return {k: v for k, v in env.items() if k not in names}


@pytest.fixture
def repo_config_env(base_env) -> dict[str, str]:
    """The repository's ansible.cfg as it is (orgiam's plugin and host_list only, unparsed is failed)."""
    return dict(without(base_env, "ANSIBLE_INVENTORY_ENABLED", "ANSIBLE_INVENTORY_UNPARSED_FAILED",
                        "ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED"), ANSIBLE_CONFIG=str(REPO / "ansible.cfg"))


@pytest.fixture
def ansible_defaults_env(base_env) -> dict[str, str]:
    """Ansible's own defaults (the auto, yaml, ini ... plugins), as in a project without orgiam's ansible.cfg."""
    return without(base_env, "ANSIBLE_INVENTORY_ENABLED", "ANSIBLE_INVENTORY_UNPARSED_FAILED",
                   "ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED")


YAML_CASES = [
    ("prod.yml", "---\nplugin: orgiam.aws.organization\nregions: [us-east-1]\n", "prod.organization.orgiam.yml"),
    ("organization.yaml", "plugin: 'orgiam.aws.organization'  # the org\n", "organization.orgiam.yaml"),
]
# Ansible's auto plugin only looks at .yml and .yaml files; with orgiam's plugin enabled by name, the plugin sees them all
JSON_CASE = ("inventory.json", json.dumps({"regions": ["us-east-1"], "plugin": "orgiam.aws.organization"}),
             "inventory.organization.orgiam.yml")


@pytest.mark.parametrize(("config", "name", "text", "renamed"),
                         [("repo_config_env", *case) for case in [*YAML_CASES, JSON_CASE]]
                         + [("ansible_defaults_env", *case) for case in YAML_CASES])
def test_a_wrongly_named_file_gets_a_hint_naming_the_file_and_the_fix(tmp_path, request, config, name, text, renamed):
    source = tmp_path / name
    source.write_text(text)
    proc = run(["ansible-inventory", "-i", str(source), "--list"], request.getfixturevalue(config), cwd=tmp_path)
    output = proc.stdout + proc.stderr
    assert f"{source} {HINT}" in output, output
    assert f"rename it to {tmp_path / renamed}" in output, output
    assert output.count(HINT) == 1, output


def test_the_hint_is_only_for_files_that_name_this_plugin(tmp_path, ansible_defaults_env):
    other = tmp_path / "hosts.yml"
    other.write_text("all:\n  hosts:\n    web1:\n  vars:\n    note: plugin orgiam.aws.organization is not used here\n")
    commented = tmp_path / "old.yml"
    commented.write_text("# plugin: orgiam.aws.organization\nall:\n  hosts:\n    web2:\n")
    proc = run(["ansible-inventory", "-i", str(other), "-i", str(commented), "--list"], ansible_defaults_env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "web1" in proc.stdout and "web2" in proc.stdout
    assert HINT not in proc.stdout + proc.stderr


def test_a_rightly_named_file_has_no_hint(tmp_path, repo_config_env, dead_endpoint):
    """Named right, it is read (and here fails on the dead endpoint, which is the plugin's own error)."""
    source = tmp_path / "prod.organization.orgiam.yml"
    source.write_text("plugin: orgiam.aws.organization\n")
    env = dict(repo_config_env, AWS_ENDPOINT_URL=dead_endpoint, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
    proc = run(["ansible-inventory", "-i", str(source), "--list"], env, cwd=tmp_path)
    assert HINT not in proc.stdout + proc.stderr
    assert "cannot discover the AWS Organization" in proc.stderr, proc.stderr


@pytest.mark.parametrize("playbook", ["playbooks/sync.yml", "playbooks/bootstrap.yml"])
def test_syntax_check_needs_no_aws_credentials(repo_config_env, playbook):
    """ansible-lint runs ansible-playbook --syntax-check with the repository's default inventory (inventories/demo)."""
    proc = run(["ansible-playbook", "--syntax-check", playbook], repo_config_env, cwd=REPO)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"playbook: {playbook}" in proc.stdout
    assert "cannot discover" not in proc.stderr and "[ERROR]" not in proc.stderr, proc.stderr
