"""Loading catalog YAML is bounded and names the file: alias bombs, loops, depth, encodings, tags, keys."""

from __future__ import annotations

import json
import time

import pytest

from ansible_collections.orgiam.aws.plugins.module_utils.catalog import load_catalog
from ansible_collections.orgiam.aws.plugins.module_utils.catalog.yamlsource import (
    MAX_ALIAS_VALUES,
    SourceError,
    closest,
    did_you_mean,
    listing,
    load_yaml_file,
    load_yaml_text,
)


def billion_laughs(levels: int = 9) -> str:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, levels):
        lines.append(f"a{level}: &a{level} [" + ", ".join([f"*a{level - 1}"] * 10) + "]")
    return "\n".join(lines) + "\n"


def test_an_alias_bomb_is_refused_at_the_alias_that_crosses_the_bound_without_expanding_it():
    started = time.monotonic()
    with pytest.raises(SourceError) as raised:
        load_yaml_text(billion_laughs(), "roles/bomb.yml")
    assert time.monotonic() - started < 1.0  # 10**9 values were never built
    error = raised.value
    assert error.file == "roles/bomb.yml" and error.line == 5  # the tenth *a3 on line 5 crosses 100,000
    assert "alias bomb" in error.message and f"{MAX_ALIAS_VALUES:,}" in error.message


def test_aliases_within_the_bound_load_as_copies():
    doc = load_yaml_text("shared: &s {ou_paths: [Workloads]}\ntargets: *s\nagain: [*s, *s]\n", "x.yml")
    assert doc.data["targets"] == {"ou_paths": ["Workloads"]} and doc.data["again"] == [doc.data["shared"]] * 2


def test_an_alias_loop_and_deep_nesting_are_refused_with_the_line():
    with pytest.raises(SourceError, match="contains it") as raised:
        load_yaml_text("name: x\nloop: &l [1, *l]\n", "x.yml")
    assert raised.value.line == 2
    with pytest.raises(SourceError, match="nest more than"):
        load_yaml_text("a: " + "[" * 500 + "]" * 500 + "\n", "x.yml")


def test_a_file_that_is_not_utf8_is_named_with_its_line(tmp_path):
    path = tmp_path / "settings.yml"
    path.write_bytes("central_account: Security\nrole_path: /équipe/\n".encode("latin-1"))
    with pytest.raises(SourceError) as raised:
        load_yaml_file(str(path), "roles_catalog/settings.yml")
    assert raised.value.file == "roles_catalog/settings.yml" and raised.value.line == 2
    assert "not UTF-8" in raised.value.message and "0xe9" in raised.value.message


def test_a_utf8_byte_order_mark_is_fine(tmp_path):
    path = tmp_path / "settings.yml"
    path.write_bytes("\ufeffcentral_account: Sécurité\n".encode("utf-8"))
    assert load_yaml_file(str(path)).data == {"central_account": "Sécurité"}


def test_timestamps_stay_the_text_written_so_a_policy_with_a_date_loads(tmp_path):
    # before: YAML made a datetime of it and canonical JSON raised TypeError (a traceback)
    (tmp_path / "roles").mkdir()
    (tmp_path / "settings.yml").write_text("central_account: Security\n")
    (tmp_path / "roles" / "r.yml").write_text(
        "name: Temp\ninline_policies:\n  until:\n    Statement:\n      - Effect: Deny\n        Action: '*'\n"
        "        Resource: '*'\n        Condition: {DateGreaterThan: {aws:CurrentTime: 2030-01-01T00:00:00Z}}\n"
        "targets: {ou_paths: [Workloads]}\n")
    role = load_catalog(str(tmp_path)).roles[0]
    assert json.loads(role.inline_policies[0][1])["Statement"][0]["Condition"] == {
        "DateGreaterThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}}


@pytest.mark.parametrize("text, expected", [
    ("name: !Ref Role\n", "YAML tag !Ref"),
    ("name: !!python/object:os.system x\n", "YAML tag"),
    ("tags: !!set {a, b}\n", "YAML tag"),
    ("1: one\n", "quote it"),
    ("on: x\n", "read as bool"),
    ("? [a]\n: b\n", "plain value"),
])
def test_tags_and_keys_that_are_not_plain_text_are_refused(text, expected):
    with pytest.raises(SourceError, match=expected.replace("!", ".").replace("(", r"\(")):
        load_yaml_text(text, "x.yml")


def test_suggestions_and_capped_listings():
    names = [f"Team {i:04d} Prod" for i in range(1000)] + ["Payments Prod"]
    assert did_you_mean("Payments Prd", names) == "; did you mean 'Payments Prod'?"
    assert did_you_mean("zzz", names) == ""
    shown = listing("Team 0042 Prd", names)
    assert shown.startswith("Team 0042 Prod") and shown.endswith("(and 991 more)") and shown.count(",") == 9
    assert listing("x", ["b", "a"]) == "a, b" and listing("x", []) == "(none)"
    assert closest("workloads", ["Workloads", "Sandbox"]) == ["Workloads"]
