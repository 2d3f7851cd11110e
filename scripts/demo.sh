#!/usr/bin/env bash
# make demo: the whole sync against the emulated organization, start to finish.
# Uses an emulator already listening on $ORGIAM_EMULATOR_PORT, or starts one and
# stops it at the end. The sync runs twice: the second run must change nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
port="${ORGIAM_EMULATOR_PORT:-5000}"
export AWS_ENDPOINT_URL="http://127.0.0.1:${port}"
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true ANSIBLE_CONFIG="$PWD/ansible.cfg"
mkdir -p .orgiam
started=""
if python -m emulator is-up --endpoint "$AWS_ENDPOINT_URL"; then
  echo "== using the emulator already listening at $AWS_ENDPOINT_URL"
else
  echo "== starting the emulator at $AWS_ENDPOINT_URL (log: .orgiam/emulator.log)"
  python -m emulator serve --port "$port" --no-seed > .orgiam/emulator.log 2>&1 &
  started=$!
  trap 'kill "$started" 2>/dev/null; wait "$started" 2>/dev/null || true' EXIT
  python -m emulator wait --endpoint "$AWS_ENDPOINT_URL" --timeout 60
fi
python -m emulator seed --endpoint "$AWS_ENDPOINT_URL"

echo; echo "== the organization, as Ansible sees it: ansible-inventory --graph"
ansible-inventory --graph

for run in first second; do
  echo; echo "== ${run} sync: ansible-playbook playbooks/sync.yml"
  ansible-playbook playbooks/sync.yml
  cp out/summary.txt ".orgiam/summary-${run}.txt"
done

echo; echo "== summary of the second run (it must change nothing)"
cat .orgiam/summary-second.txt
if ! grep -q "changes: 0$" .orgiam/summary-second.txt; then
  echo "the second sync changed something: orgiam is not idempotent here" >&2
  exit 1
fi
