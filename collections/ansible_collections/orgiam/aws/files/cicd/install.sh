#!/usr/bin/env bash
# Install what the orgiam release needs to run, from the release itself (files/cicd/install.sh).
#
# The release (ORGIAM_HOME) holds ansible_collections/orgiam/aws and ansible_collections/amazon/aws,
# and requirements-runtime.txt: the Python packages, each pinned with its hashes. pip refuses any file
# whose hash differs (--require-hashes). ORGIAM_SKIP_INSTALL=1 keeps the packages already installed (a
# prepared build image, or the test harness).
set -euo pipefail
: "${ORGIAM_HOME:?the release directory (ORGIAM_HOME) is not set}"
if [ "${ORGIAM_SKIP_INSTALL:-0}" = 1 ]; then
  echo "orgiam: ORGIAM_SKIP_INSTALL=1, using the installed packages of $(command -v python)"
else
  python -m pip install --disable-pip-version-check --no-input --quiet --require-hashes \
    -r "$ORGIAM_HOME/requirements-runtime.txt"
  # CodeBuild's Python is a pyenv one: new commands (ansible-playbook) need their shims
  if command -v pyenv >/dev/null 2>&1; then pyenv rehash; fi
fi
python --version
# the first line only, read whole (head would close the pipe early, and pipefail fail the install)
version="$(ansible-playbook --version)" && echo "${version%%$'\n'*}"
