#!/usr/bin/env bash
# make pipeline-demo: orgiam's pipeline in the emulator, from the bootstrap to an applied first run.
#   1. starts its own emulator (any free port) and seeds the demo organization;
#   2. runs playbooks/bootstrap.yml from the management account, as the tutorial does: the deployer and
#      planner roles everywhere, the organization reader, the pipeline in the Deployments account, the
#      orgiam release in its artifact bucket, the events forwarding;
#   3. runs the pipeline once on roles_catalog/, stage by stage, as CodePipeline would
#      (tests/cicd/pipeline_runner.py): the plan as orgiam-sync-plan (read only), the approval (answered
#      yes here, after printing the message a person would read), the apply as orgiam-sync-build.
# The run's artifacts are kept in .orgiam/pipeline-demo/. Nothing outside the emulator is touched.
set -euo pipefail
cd "$(dirname "$0")/.."
export AWS_EC2_METADATA_DISABLED=true
unset AWS_PROFILE AWS_DEFAULT_PROFILE AWS_CONFIG_FILE AWS_SHARED_CREDENTIALS_FILE AWS_ENDPOINT_URL
mkdir -p .orgiam
exec python - "$@" <<'PYTHON'
import os
import shutil
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

from emulator import stacksets
from emulator.server import EmulatorServer
from tests.cicd.conftest import seed_demo
from tests.cicd.pipeline_runner import run_pipeline
from tests.emulated import aws_env

REPO = Path.cwd()
BIN = Path(sys.executable).parent
warnings.simplefilter("ignore")


def main() -> int:
    server = EmulatorServer(port=0)
    server.start()
    stacksets.install()
    try:
        org = seed_demo(server.endpoint_url)
        print(f"== emulator at {server.endpoint_url}: demo organization {org.organization_id}, "
              f"{len(org.accounts)} accounts")
        kept = REPO / ".orgiam" / "pipeline-demo"
        shutil.rmtree(kept, ignore_errors=True)
        kept.mkdir(parents=True)
        repository = kept / "catalog-repository"
        shutil.copytree(REPO / "roles_catalog", repository / "roles_catalog")

        print("\n== bootstrap (playbooks/bootstrap.yml, as the management account)")
        env = dict(aws_env(org.endpoint), ANSIBLE_INVENTORY_ENABLED="orgiam.aws.organization,ansible.builtin.host_list")
        proc = subprocess.run([str(BIN / "ansible-playbook"), "-i", "localhost,", "playbooks/bootstrap.yml",
                               "-e", f"orgiam_catalog_path={repository / 'roles_catalog'}",
                               "-e", f"orgiam_report_dir={kept / 'bootstrap'}"],
                              env=env, capture_output=True, text=True, timeout=600)
        steps = [line for line in proc.stdout.splitlines() if line.strip().startswith("[")]
        print("\n".join(steps) or proc.stdout[-3000:])
        if proc.returncode != 0:
            print(proc.stdout[-4000:] + proc.stderr[-2000:], file=sys.stderr)
            return 1

        def approve(stage: str, action: str, configuration: dict[str, str]) -> bool:
            print(f"\n== {stage}: the approval request a person reads\n   {configuration.get('CustomData')}")
            print("   (approved)")
            return True

        print("\n== the pipeline's first run on the catalog repository")
        with tempfile.TemporaryDirectory(prefix="orgiam-pipeline-") as scratch:
            run = run_pipeline(org, "orgiam-sync", repository, account="Deployments", region="us-east-1",
                               approve=approve, trigger="commit", workspace=kept / "run",
                               environment={"PATH": f"{BIN}:/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8",
                                            "ORGIAM_SKIP_INSTALL": "1", "ORGIAM_HOME": f"{scratch}/release",
                                            "AWS_EC2_METADATA_DISABLED": "true"})
        for stage in run.stages.values():
            roles = [a.session_arn.split("/")[1] for a in stage.actions.values() if a.session_arn]
            print(f"   {stage.name}: {stage.status}" + (f" (as {', '.join(roles)})" if roles else ""))
        if run.status != "Succeeded":
            print(run.describe(), file=sys.stderr)
            return 1
        for name in ("Plan", "Apply"):
            print(f"\n== {name}: {run.action(name).variables.get('ORGIAM_PLAN_SUMMARY', '')}")
        print(f"\nartifacts: {kept.relative_to(REPO)}/run/ (Plan/plan.json, Applied/report.json, ...)")
        return 0
    finally:
        server.stop()


sys.exit(main())
PYTHON
