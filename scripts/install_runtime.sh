#!/usr/bin/env bash
# Install what orgiam needs to run, and nothing it needs only to be tested, into one virtualenv.
#
# Stable entry point (`make runtime VENV=DIR` runs it; the CodeBuild pipeline runs its two steps):
#
#     bash scripts/install_runtime.sh DIR      # DIR: a venv, created with python3.11 when missing
#
# which is exactly
#
#     DIR/bin/python -m pip install --require-hashes -r requirements/runtime.txt
#     DIR/bin/python scripts/install_collections.py       # amazon.aws, into DIR's site-packages
#
# PYTHON (default python3.11) is the interpreter a missing venv is created with. Both steps are
# idempotent: run again, they change nothing.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
venv="${1:?usage: $0 VENV_DIR}"
python="${PYTHON:-python3.11}"

if [[ ! -x "$venv/bin/python" ]]; then
  command -v "$python" >/dev/null || { echo "orgiam needs $python (Python 3.11) on PATH" >&2; exit 1; }
  "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
  --require-hashes -r "$repo/requirements/runtime.txt"
"$venv/bin/python" "$repo/scripts/install_collections.py"
