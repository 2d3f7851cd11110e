"""Property: whatever YAML a catalog holds, load_catalog returns a Catalog or raises CatalogError naming a file.

Hypothesis writes arbitrary content into settings.yml, role files and identity.yml: mappings with the keys the
schemas know and random ones, nested lists and scalars of every YAML type, policy-shaped documents, and raw
text that is seldom YAML at all. Never another exception (a traceback): each problem has a file and a message.
Examples are bounded (and derandomized, so CI sees the same ones) to stay within a few seconds; to explore
further with fresh random examples: ORGIAM_PROPERTY_EXAMPLES=5000 pytest tests/badinput/test_properties.py
"""

from __future__ import annotations

import os
import tempfile

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.orgiam.aws.plugins.module_utils.catalog import Catalog, CatalogError, load_catalog

SETTINGS_KEYS = ["central_account", "member_role_name", "stack_prefix", "role_path", "prune", "concurrency",
                 "stack_timeout_seconds", "template_bucket", "notify_topic_arn", "pipeline"]
ROLE_KEYS = ["name", "description", "path", "managed_policies", "inline_policies", "customer_managed_policies",
             "external_id", "assumable_by", "permissions_boundary", "max_session_duration", "mfa_required", "tags",
             "targets", "waivers", "roles", "ou_paths", "accounts", "exclude", "management_account", "recursive"]
IDENTITY_KEYS = ["mode", "default_groups", "groups", "users", "saml", "name", "grants", "role", "scope", "console",
                 "provider_name", "metadata_file"]
STATEMENT_KEYS = ["Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Condition", "Principal"]
WORDS = ["ReadOnly", "Security", "Workloads", "Allow", "Deny", "s3:GetObject", "s3:GetObjekt", "*", "iam_users", "saml",
         "StringEquals", "StringEqual", "aws:team", "allow-not-action", "ReadOnlyAccess", "orgiam-x", "Rôle", "🔒", ""]

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-10, 100_000), st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(WORDS), st.text(max_size=12), st.dates(), st.binary(max_size=4),
)


def mapping(keys: list[str], values: st.SearchStrategy) -> st.SearchStrategy:
    key = st.one_of(st.sampled_from(keys), st.text(max_size=8), st.integers(0, 9), st.booleans(), st.none())
    return st.dictionaries(key, values, max_size=5)


def values(keys: list[str]) -> st.SearchStrategy:
    return st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4), mapping(keys, inner)), max_leaves=12)


statement = mapping(STATEMENT_KEYS, values(STATEMENT_KEYS + ["StringEquals", "Bool", "aws:SecureTransport"]))
policy = st.fixed_dictionaries({"Version": st.sampled_from(["2012-10-17", "2008", 1]), "Statement": st.lists(statement, max_size=3)})
role = st.one_of(
    mapping(ROLE_KEYS, values(ROLE_KEYS)),
    st.fixed_dictionaries({"name": st.one_of(st.sampled_from(WORDS), st.text(max_size=70)),
                           "targets": st.one_of(mapping(ROLE_KEYS, values(ROLE_KEYS)), st.just({"ou_paths": ["Workloads"]})),
                           "inline_policies": st.dictionaries(st.sampled_from(["p", "q", "bad name"]), st.one_of(policy, statement), max_size=2)}),
    values(ROLE_KEYS),
)
settings_doc = st.one_of(
    mapping(SETTINGS_KEYS, values(SETTINGS_KEYS)),
    st.fixed_dictionaries({"central_account": st.sampled_from(WORDS)}, optional={"stack_prefix": scalars, "prune": scalars}),
)
identity_doc = st.one_of(st.none(), mapping(IDENTITY_KEYS, values(IDENTITY_KEYS)))


def as_file(document: object, raw: str | None) -> str:
    if raw is not None:
        return raw
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False)


EXPLORE = os.environ.get("ORGIAM_PROPERTY_EXAMPLES")


@settings(max_examples=int(EXPLORE or 150), deadline=None, derandomize=not EXPLORE, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(
    settings_doc=settings_doc,
    roles=st.lists(role, min_size=0, max_size=3),
    identity=identity_doc,
    raw=st.one_of(st.none(), st.none(), st.text(max_size=60)),
    raw_target=st.sampled_from(["settings.yml", "roles/r0.yml", "identity.yml"]),
)
def test_load_catalog_returns_a_catalog_or_a_catalog_error_naming_a_file(settings_doc, roles, identity, raw, raw_target):
    with tempfile.TemporaryDirectory() as directory:
        os.mkdir(os.path.join(directory, "roles"))
        files = {"settings.yml": as_file(settings_doc, None)}
        for index, document in enumerate(roles):
            files[f"roles/r{index}.yml"] = as_file(document, None)
        if identity is not None:
            files["identity.yml"] = as_file(identity, None)
        if raw is not None:
            files[raw_target] = raw
        for relative, text in files.items():
            with open(os.path.join(directory, relative), "w", encoding="utf-8") as handle:
                handle.write(text)
        try:
            catalog = load_catalog(directory)
        except CatalogError as error:
            assert error.problems
            for problem in error.problems:
                assert problem.message.strip() and problem.file.strip()
            assert "Traceback" not in str(error)
            return
        assert isinstance(catalog, Catalog) and catalog.roles
