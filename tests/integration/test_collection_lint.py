"""ansible-lint from the repository root with no argument and nothing in the environment, as a person
or an editor runs it: .ansible-lint says what is linted (the playbooks, the collection, the molecule
scenario, the inventories and the catalog) and what is not Ansible content (CloudFormation templates,
the buildspec). Its syntax checks use the repository's ansible.cfg and default inventory, which needs
no AWS credentials under --syntax-check."""

from __future__ import annotations

import os
import subprocess

from tests.integration.conftest import BIN, REPO


def test_ansible_lint_with_no_argument_passes_the_production_profile():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "AWS_"))}
    env.update(PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}", NO_COLOR="1")
    proc = subprocess.run([str(BIN / "ansible-lint")], cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-8000:]
    assert "Profile 'production' was required, and it passed" in output, output[-3000:]
    assert "0 failure(s), 0 warning(s)" in output, output[-3000:]
