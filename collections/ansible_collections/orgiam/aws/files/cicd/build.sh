#!/usr/bin/env bash
# orgiam's pipeline build: one sync of the organization, as a plan (MODE=plan) or as an apply (MODE=apply).
#
# This script is part of the orgiam release (the collection's files/cicd/build.sh). The pipeline's
# buildspec, which lives in cicd/pipeline.yml and not in the catalog repository, fetches the release the
# bootstrap pinned (ORGIAM_RELEASE_BUCKET/KEY, checked against ORGIAM_RELEASE_SHA256), unpacks it into
# ORGIAM_HOME and runs this script from there. Nothing of the commit runs: the commit supplies the catalog
# (ORGIAM_CATALOG, a directory of YAML and JSON data read by the release's loader) and nothing else. The
# inventory, the Ansible configuration, the playbook and every plugin come from ORGIAM_HOME.
#
# Environment (the CodeBuild project and the pipeline's actions set it; see cicd/pipeline.yml):
#   MODE                    plan: ansible-playbook --check --diff, writes out/plan.json, changes nothing
#                           apply: applies the approved plan (the Plan artifact, CODEBUILD_SRC_DIR_Plan)
#   ORGIAM_HOME             where the release is unpacked (holds ansible_collections/)
#   ORGIAM_CATALOG          the catalog directory, relative to the source (default roles_catalog)
#   ORGIAM_READER_ROLE_ARN  the role that reads the organization (the management account's
#                           orgiam-organization-reader); empty: the build's own role reads it (the
#                           pipeline account is the organization's delegated administrator)
#   ORGIAM_MEMBER_ROLE_NAME the role, with its path, assumed in every account: orgiam/orgiam-planner for
#                           the plan (read only), orgiam/orgiam-deployer for the apply
#   ORGIAM_PREVIEW          change_set or template: how an update is previewed in plan mode (the planner
#                           cannot create change sets: the pipeline's plan uses template)
#   ORGIAM_PLAN_FILE        apply: the saved plan; default $CODEBUILD_SRC_DIR_Plan/plan.json
#   ORGIAM_REQUIRE_PLAN     1: an apply without a saved plan fails (the pipeline sets it)
#   ORGIAM_PLAN_PART        apply: K/N applies part K of N of the plan
#   ORGIAM_VERIFY           tags or live; empty: live for the scheduled run (trigger.py), tags otherwise
#   ORGIAM_EXTRA_ARGS       more ansible-playbook arguments, from the pipeline's definition
#
# Results go to $CODEBUILD_SRC_DIR/out (the build's artifact): report.json, summary.txt, summary.md,
# junit.xml, retry-hosts.txt, the access report (access.html, access.csv, access.json), and plan.json in plan mode.
set -euo pipefail

say() { echo "orgiam: $*"; }
fail() { echo "orgiam: $*" >&2; exit 1; }

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
: "${ORGIAM_HOME:?the release directory (ORGIAM_HOME) is not set}"
: "${CODEBUILD_SRC_DIR:?CODEBUILD_SRC_DIR is not set}"
src="$CODEBUILD_SRC_DIR"
MODE="${MODE:-plan}"
case "$MODE" in
  plan|apply) say "$MODE of commit ${CODEBUILD_RESOLVED_SOURCE_VERSION:-(unknown)} with orgiam $(cat "$ORGIAM_HOME/RELEASE" 2>/dev/null || echo '(unknown release)')" ;;
  *) fail "MODE must be plan or apply, not '$MODE'" ;;
esac

catalog="${ORGIAM_CATALOG:-roles_catalog}"
case "$catalog" in /*|*..*) fail "ORGIAM_CATALOG must be a path inside the repository, not '$catalog'" ;; esac
[ -d "$src/$catalog" ] || fail "the repository has no catalog directory '$catalog' (ORGIAM_CATALOG)"
[ -L "$src/$catalog" ] && fail "the catalog directory '$catalog' is a symbolic link: the pipeline reads only the repository's own files"

# The build's private directory: the generated inventory, the approved plan, the summary variables.
work="${ORGIAM_WORK_DIR:-$ORGIAM_HOME/work}"
rm -rf "$work" && mkdir -p "$work/inventory/group_vars"

# apply: the approved plan, from the Plan artifact (or ORGIAM_PLAN_FILE)
plan_args=()
if [ "$MODE" = apply ]; then
  plan_file="${ORGIAM_PLAN_FILE:-}"
  if [ -z "$plan_file" ] && [ -n "${CODEBUILD_SRC_DIR_Plan:-}" ] && [ -f "$CODEBUILD_SRC_DIR_Plan/plan.json" ]; then
    plan_file="$CODEBUILD_SRC_DIR_Plan/plan.json"
  fi
  if [ -n "$plan_file" ]; then
    [ -f "$plan_file" ] || fail "the saved plan $plan_file does not exist"
    cp "$plan_file" "$work/approved-plan.json"
    say "applying the approved plan $(python -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$work/approved-plan.json") from $plan_file"
    plan_args=(-e "orgiam_plan=$work/approved-plan.json")
    if [ -n "${ORGIAM_PLAN_PART:-}" ]; then plan_args+=(-e "orgiam_plan_part=$ORGIAM_PLAN_PART"); fi
  elif [ "${ORGIAM_REQUIRE_PLAN:-0}" = 1 ]; then
    fail "ORGIAM_REQUIRE_PLAN=1 and no saved plan: the Apply action needs the Plan artifact"
  fi
fi

verify="$(python "$here/trigger.py")" || fail "could not tell how to verify (trigger.py)"

# The inventory is written here, from the pipeline's settings: never taken from the repository.
{
  echo "# written by orgiam's pipeline build (files/cicd/build.sh)"
  echo "plugin: orgiam.aws.organization"
  echo "catalog: '$src/$catalog'"
  if [ -n "${ORGIAM_READER_ROLE_ARN:-}" ]; then echo "assume_role_arn: '$ORGIAM_READER_ROLE_ARN'"; fi
} > "$work/inventory/organization.orgiam.yml"
echo 'ansible_python_interpreter: "{{ ansible_playbook_python }}"' > "$work/inventory/group_vars/all.yml"
if [ -n "${ORGIAM_READER_ROLE_ARN:-}" ]; then
  say "reading the organization through $ORGIAM_READER_ROLE_ARN"
else
  say "reading the organization with the build's own role (delegated administrator)"
fi

# Ansible sees only the release: its configuration, its collections, no path of the repository.
export ANSIBLE_CONFIG="$here/ansible.cfg"
export ANSIBLE_COLLECTIONS_PATH="$ORGIAM_HOME"
export ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false
export ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0 ANSIBLE_LOCAL_TEMP="$work/tmp" ANSIBLE_HOME="$work/ansible"
export ORGIAM_RUN_URL="${CODEBUILD_BUILD_URL:-}"
# reports of an earlier run in the source never reach the artifact
rm -rf "$src/out" && mkdir -p "$src/out"

args=(-i "$work/inventory" orgiam.aws.sync
      -e "orgiam_catalog_path=$src/$catalog" -e "orgiam_report_dir=$src/out")
if [ -n "${ORGIAM_MEMBER_ROLE_NAME:-}" ]; then args+=(-e "orgiam_member_role_name=$ORGIAM_MEMBER_ROLE_NAME"); fi
if [ "$MODE" = plan ]; then
  args+=(--check --diff)
  if [ -n "${ORGIAM_PREVIEW:-}" ]; then args+=(-e "orgiam_preview=$ORGIAM_PREVIEW"); fi
fi
if [ ${#plan_args[@]} -gt 0 ]; then args+=("${plan_args[@]}"); else args+=(-e "orgiam_verify=$verify"); fi
# shellcheck disable=SC2206  # ORGIAM_EXTRA_ARGS comes from the pipeline's definition, split on spaces
extra=(${ORGIAM_EXTRA_ARGS:-})
say "ansible-playbook ${args[*]} ${extra[*]}"
# run away from the source tree, so that no ansible.cfg, group_vars or plugin of the commit is near
cd "$work"
# exit status 2 when an account failed (after all the others were done): the build fails
exec ansible-playbook "${args[@]}" "${extra[@]}"
