"""The accounts' tags are read only when something uses them (inventory option account_tags: auto).

One ListTagsForResource per account is most of a walk's calls, and Organizations' request rate is low: the
demo catalog targets no role by tag, so its inventory reads none; a role that targets by tag, or
``account_tags: always``, reads them all, and the sync targets by them.
"""

from __future__ import annotations

import json

from tests.emulated import BIN, calls, clear_calls


def inventory(ws) -> tuple[dict, int]:
    clear_calls(ws.endpoint)
    run = ws.run(str(BIN / "ansible-inventory"), "-i", str(ws.inventory), "--list")
    assert run.returncode == 0, run.output
    tag_calls = sum(1 for c in calls(ws.endpoint) if c["operation"] == "ListTagsForResource")
    return json.loads(run.stdout), tag_calls


def plain(value):
    return value.get("__ansible_unsafe", value) if isinstance(value, dict) else value


def test_a_catalog_that_does_not_use_tags_costs_no_tag_call(workspace):
    found, tag_calls = inventory(workspace)
    assert tag_calls == 0
    hostvars = found["_meta"]["hostvars"]  # --list gives each host the group variables of all too
    assert all(h["orgiam_account_tags_read"] is False for h in hostvars.values())
    assert all(h["account_tags"] == {} for h in hostvars.values())


def test_a_role_that_targets_by_tag_reads_every_accounts_tags_and_gets_them(workspace):
    ws = workspace
    ws.write_role("by-tag.yml", "name: CostViewer\nmanaged_policies: [ReadOnlyAccess]\n"
                                "targets: {tags: {Environment: [prod]}}\n")
    found, tag_calls = inventory(ws)
    accounts = len(found["_meta"]["hostvars"])
    assert tag_calls >= accounts > 0
    assert all(h["orgiam_account_tags_read"] is True for h in found["_meta"]["hostvars"].values())
    prod = [name for name, h in found["_meta"]["hostvars"].items()
            if plain((h["account_tags"] or {}).get("Environment")) == "prod"]
    assert prod
    run = ws.playbook("--check")
    assert run.returncode == 0, run.output
    planned = {a["account_name"] for a in json.loads((ws.out / "plan.json").read_text())["tasks"]
               if "CostViewer" in a.get("roles", [])}
    assert planned and len(planned) == len(prod)


def test_always_and_never_decide_whatever_is_used(workspace):
    ws = workspace
    config = ws.inventory / "organization.orgiam.yml"
    base = config.read_text()
    config.write_text(base + "account_tags: always\n")
    found, tag_calls = inventory(ws)
    assert tag_calls >= len(found["_meta"]["hostvars"]) > 0
    config.write_text(base + "account_tags: never\n")
    found, tag_calls = inventory(ws)
    assert tag_calls == 0 and all(h["account_tags"] == {} for h in found["_meta"]["hostvars"].values())
    config.write_text(base + "account_tags: never\ntag_filters: {Environment: prod}\n")
    run = ws.run(str(BIN / "ansible-inventory"), "-i", str(ws.inventory), "--list")
    assert run.returncode != 0 and "'never' does not read the tags that 'tag_filters' selects by" in run.output
