"""ansible-lint (production profile) on the playbooks and the collection, as `make lint` runs it."""

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def test_ansible_lint_passes_on_the_production_profile():
    env = dict(os.environ)
    env.update(
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        ANSIBLE_INVENTORY=str(REPO / "tests" / "fixtures" / "static-inventory.yml"),
        ANSIBLE_INVENTORY_ENABLED="ansible.builtin.yaml",
        NO_COLOR="1",
    )
    proc = subprocess.run(
        [str(BIN / "ansible-lint"), "playbooks", "collections/ansible_collections/orgiam/aws"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-6000:]
