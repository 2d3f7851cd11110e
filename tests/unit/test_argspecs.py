"""The documentation of orgiam.aws.sync and orgiam.aws.bootstrap says what the code does.

The action plugins validate their arguments against SYNC_SPEC and BOOTSTRAP_SPEC (module_utils/argspecs.py);
the module stubs hold the documentation. Options must agree on names, types, defaults, choices,
elements, aliases and required. RETURN must document every key the action puts into its result
(read from the action's source), and for the main dict results the keys the real data has.
"""

from __future__ import annotations

import ast
import importlib
import os
from types import SimpleNamespace
from typing import Any

import pytest
import yaml

from ansible_collections.orgiam.aws.plugins.module_utils.argspecs import ACCESS_REPORT_SPEC, BOOTSTRAP_SPEC, PROFILES_SPEC, SYNC_SPEC
from ansible_collections.orgiam.aws.plugins.module_utils.model import Kind, Result, Status, Task
from ansible_collections.orgiam.aws.plugins.modules import access_report as access_report_stub
from ansible_collections.orgiam.aws.plugins.modules import bootstrap as bootstrap_stub
from ansible_collections.orgiam.aws.plugins.modules import profiles as profiles_stub
from ansible_collections.orgiam.aws.plugins.modules import sync as sync_stub

ACTIONS = os.path.join(os.path.dirname(os.path.abspath(sync_stub.__file__)), "..", "action")
STUBS = {"sync": (sync_stub, SYNC_SPEC), "bootstrap": (bootstrap_stub, BOOTSTRAP_SPEC),
         "access_report": (access_report_stub, ACCESS_REPORT_SPEC), "profiles": (profiles_stub, PROFILES_SPEC)}
# what every task result may hold and Ansible itself explains
ANSIBLE_KEYS = {"changed", "failed", "msg", "skipped", "invocation"}


def sidecar(stub: Any) -> dict[str, Any]:
    """The module's documentation file beside it (modules/<name>.yml), as ansible-doc reads it."""
    with open(os.path.splitext(stub.__file__)[0] + ".yml", encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def documented_options(stub: Any) -> dict[str, dict[str, Any]]:
    """The module's options with those of its documentation fragments, as ansible-doc merges them."""
    documentation = sidecar(stub)["DOCUMENTATION"]
    options = dict(documentation["options"])
    for fragment in documentation.get("extends_documentation_fragment", []):
        namespace, collection, name = fragment.split(".")
        module = importlib.import_module(f"ansible_collections.{namespace}.{collection}.plugins.doc_fragments.{name}")
        options.update(yaml.safe_load(module.ModuleDocFragment.DOCUMENTATION)["options"])
    return options


def as_documented(spec: dict[str, Any]) -> dict[str, Any]:
    """The attributes of one argument spec entry as DOCUMENTATION spells them (Ansible's defaults filled in)."""
    return {
        "type": spec.get("type", "str"),
        "default": spec.get("default"),
        "choices": spec.get("choices"),
        "elements": spec.get("elements"),
        "aliases": spec.get("aliases", []),
        "required": spec.get("required", False),
    }


def doc_attributes(option: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": option.get("type", "str"),
        "default": option.get("default"),
        "choices": option.get("choices"),
        "elements": option.get("elements"),
        "aliases": option.get("aliases", []),
        "required": option.get("required", False),
    }


@pytest.mark.parametrize("name", sorted(STUBS))
def test_documented_options_are_the_argument_spec(name):
    stub, spec = STUBS[name]
    options = documented_options(stub)
    assert sorted(options) == sorted(spec), f"{name}: documented but not in the spec: {sorted(set(options) - set(spec))}; " \
                                            f"in the spec but not documented: {sorted(set(spec) - set(options))}"
    for option, entry in spec.items():
        assert doc_attributes(options[option]) == as_documented(entry), f"{name}: option {option}"
        assert options[option].get("description"), f"{name}: option {option} has no description"


def test_the_comparison_sees_a_difference():
    """The helpers above tell a wrong default, type, choice or alias from a right one."""
    right = {"type": "list", "elements": "str", "choices": ["a", "b"], "default": ["a"], "aliases": ["x"]}
    assert doc_attributes(dict(right)) == as_documented(right)
    for wrong in ({"default": ["b"]}, {"type": "str"}, {"choices": ["a"]}, {"aliases": []}, {"elements": "int"}, {"required": True}):
        assert doc_attributes(dict(right, **wrong)) != as_documented(right), wrong


@pytest.mark.parametrize("name", sorted(STUBS))
def test_the_stub_builds_its_module_from_the_same_spec(name):
    stub, spec = STUBS[name]
    source = open(stub.__file__, encoding="utf-8").read()
    assert f"argument_spec={name.upper()}_SPEC" in source
    assert sidecar(stub)["DOCUMENTATION"]["module"] == name
    yaml.safe_load(sidecar(stub)["EXAMPLES"])  # valid YAML


def returned_keys(action_file: str) -> set[str]:
    """Every key the action puts into its result: result.update(k=...), dict(result, k=...), result["k"] = ..."""
    tree = ast.parse(open(action_file, encoding="utf-8").read())
    keys: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            updates = isinstance(func, ast.Attribute) and func.attr == "update" and isinstance(func.value, ast.Name) and func.value.id == "result"
            copies = isinstance(func, ast.Name) and func.id == "dict" and node.args and isinstance(node.args[0], ast.Name) and node.args[0].id == "result"
            if updates or copies:
                keys.update(k.arg for k in node.keywords if k.arg)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if (isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name) and target.value.id == "result"
                        and isinstance(target.slice, ast.Constant)):
                    keys.add(target.slice.value)
    return keys - ANSIBLE_KEYS


def documented_return(stub: Any) -> dict[str, dict[str, Any]]:
    return sidecar(stub)["RETURN"]


@pytest.mark.parametrize("name", sorted(STUBS))
def test_return_documents_every_key_the_action_returns(name):
    stub, _ = STUBS[name]
    returned = returned_keys(os.path.join(ACTIONS, f"{name}.py"))
    # the reading of the action's source found its results (the read-only actions return fewer)
    assert len(returned) >= (5 if name in ("sync", "bootstrap") else 3), returned
    documented = documented_return(stub)
    assert sorted(documented) == sorted(returned)
    for key, entry in documented.items():
        assert entry.get("description") and entry.get("returned") and entry.get("type"), f"{name}: {key}"
        if entry["type"] == "list":
            assert entry.get("elements"), f"{name}: {key} is a list without elements"


def walk_contains(name: str, entry: dict[str, Any]):
    """Every (path, entry) documented under ``contains``, at any depth."""
    for key, sub in (entry.get("contains") or {}).items():
        path = f"{name}.{key}"
        assert sub.get("description") and sub.get("type"), path
        yield path, sub
        yield from walk_contains(path, sub)


# ---- the real data the actions return, built from the engine's own functions ------------------------


def a_result(kind: Kind, name: str, status: Status = Status.PLANNED) -> Result:
    task = Task(key=f"111111111111/us-east-1/{name}", kind=kind, account_id="111111111111", account_name="Payments Prod",
                region="us-east-1", name=name, hostname="payments_prod", ou_path="Workloads/Prod")
    return Result(task=task, status=status)


@pytest.fixture
def sync_result(tmp_path) -> dict[str, Any]:
    from ansible_collections.orgiam.aws.plugins.module_utils.report.report import build_report, write_report

    outcome = SimpleNamespace(members=[a_result(Kind.MEMBER, "orgiam-roles")], central=a_result(Kind.CENTRAL, "orgiam-identity"),
                              check=True, seconds=1.5, total_api_calls=4, plan_id="", failed=[], stale=[])
    from ansible_collections.orgiam.aws.plugins.module_utils.report.access_page import write_access_report

    report = build_report(outcome, 2, [])
    files = write_report(report, str(tmp_path), {"id": "x"})
    access = {"generated_at": "", "organization_id": "o-x", "mode": "iam_users", "source": "sync",
              "central_account": {"id": "222222222222", "name": "Security"}, "accounts": [], "principals": [], "rows": []}
    files.update({f"access_{kind}": path for kind, path in write_access_report(access, str(tmp_path)).items()})
    return {"report": report, "report_files": files}


@pytest.fixture
def bootstrap_result() -> dict[str, Any]:
    from ansible_collections.orgiam.aws.plugins.module_utils.usecases.bootstrap import Outcome

    return {"bootstrap": Outcome(results=[a_result(Kind.STACKSET, "orgiam-deployer")], check=True).to_dict()}


# documented in part on purpose: the central stack's entry has the keys of report.accounts' elements
PARTIAL = {"report.central"}


def assert_contains_match(path: str, entry: dict[str, Any], data: Any) -> None:
    """``entry``'s contains names exactly the keys of ``data`` (a dict, or the first element of a list of dicts),
    at every depth where the data has values; under PARTIAL, only keys the data has."""
    if entry["type"] == "list":
        assert entry.get("elements") == "dict" and data, path
        data = data[0]
    assert isinstance(data, dict), path
    documented = sorted(entry.get("contains") or {})
    if path in PARTIAL:
        assert set(documented) <= set(data), f"{path}: documents keys it does not have: {sorted(set(documented) - set(data))}"
    else:
        assert documented == sorted(data), f"{path}: documented and returned keys differ"
    for key, sub in (entry.get("contains") or {}).items():
        if sub.get("contains") and isinstance(data[key], (dict, list)) and data[key]:
            assert_contains_match(f"{path}.{key}", sub, data[key])


def test_sync_return_describes_the_report_as_it_is(sync_result):
    documented = documented_return(sync_stub)
    assert_contains_match("report", documented["report"], sync_result["report"])
    assert_contains_match("report_files", documented["report_files"], sync_result["report_files"])
    assert_contains_match("report.accounts", documented["report"]["contains"]["accounts"], sync_result["report"]["accounts"])
    assert_contains_match("report.api_calls", documented["report"]["contains"]["api_calls"], sync_result["report"]["api_calls"])
    for path, _ in walk_contains("report", documented["report"]):
        assert path.count(".") <= 3, path


def test_bootstrap_return_describes_bootstrap_json_as_it_is(bootstrap_result):
    documented = documented_return(bootstrap_stub)
    assert_contains_match("bootstrap", documented["bootstrap"], bootstrap_result["bootstrap"])
    assert_contains_match("bootstrap.steps", documented["bootstrap"]["contains"]["steps"], bootstrap_result["bootstrap"]["steps"])


def test_the_dict_results_document_what_they_contain():
    for stub, keys in ((sync_stub, ("report", "report_files")), (bootstrap_stub, ("bootstrap",))):
        documented = documented_return(stub)
        for key in keys:
            assert documented[key]["type"] == "dict" and documented[key].get("contains"), key
        for key, entry in documented.items():
            for path, sub in walk_contains(key, entry):
                if sub["type"] == "list":
                    assert sub.get("elements"), f"{path} is a list without elements"
