# -*- coding: utf-8 -*-
# Copyright: orgiam developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: organization
short_description: AWS Organization accounts as hosts, OU paths as nested groups
description:
  - Discovers an AWS Organization (OUs, accounts and account tags) with one pass over the Organizations API
    and makes every selected account a host.
  - Each OU becomes a group named V(ou_) followed by its sanitized path (V(Workloads/Prod) becomes
    V(ou_workloads_prod)); the group of an OU is a child of the group of its parent OU, and top-level OU
    groups are children of V(all). Accounts directly under the root are in V(ou_root). Every OU has a
    group, also OUs without accounts and OUs whose accounts are filtered out.
  - Accounts are also grouped by status (V(status_active), V(status_suspended), ...) and the management
    account is in V(management_account).
  - Hosts use C(ansible_connection=local), since work on an account runs on the controller with AWS APIs.
  - Uses a YAML configuration file that ends with C(organization.orgiam.yml) or C(organization.orgiam.yaml).
    A file that names this plugin in its C(plugin) key under another name is not read; a warning names it
    and the name to give it.
  - The caller needs C(organizations:ListRoots), C(organizations:ListOrganizationalUnitsForParent),
    C(organizations:ListAccountsForParent) and C(organizations:ListTagsForResource) in the management
    account or a delegated administrator account.
version_added: 0.1.0
author:
  - orgiam developers
options:
  plugin:
    description: Token that ensures this is a source file for this plugin.
    required: true
    type: str
    choices: ['orgiam.aws.organization']
  account_tags:
    description:
      - Whether the accounts' tags are read, one C(organizations:ListTagsForResource) call per account (at 1,000
        accounts, most of the walk's calls, and Organizations' request rate is low).
      - V(auto) reads them when something uses them - O(tag_filters), a C(keyed_groups), C(compose),
        C(groups) or C(hostnames) entry that names them, a catalog role that targets or excludes by tag - or when
        the inventory names no O(catalog) (its hosts are then for other playbooks, which may use C(account_tags)).
        Otherwise every host's C(account_tags) is empty, and C(orgiam_account_tags_read) is false.
      - V(always) and V(never) decide whatever is used.
    type: str
    choices: [auto, always, never]
    default: auto
  regions:
    description:
      - Accepted for compatibility with the amazon.aws inventory plugins. Organizations is a global
        service; the first region given only selects the API endpoint's partition. O(region) wins over it.
    type: list
    elements: str
    default: []
  hostnames:
    description:
      - How hosts are named.
      - V(name) is the account name, lowercased, with every character other than C([a-z0-9_]) replaced by
        C(_), repeats collapsed and C(_) stripped from the ends (V(Prod - Payments) becomes
        V(prod_payments)). When two accounts of the organization give the same name, every one of them
        gets C(_<account id>) appended, whether or not it is filtered out, so that names do not change
        with the filters. A name with no usable character becomes C(account_<account id>).
      - V(id) is the 12-digit account id.
      - V(name_id) is the sanitized name, C(_) and the account id, for every account.
    type: str
    choices: ['name', 'id', 'name_id']
    default: name
  catalog:
    description:
      - Path of the orgiam catalog directory, relative to the directory of this inventory file unless
        absolute. When set, it is checked before any AWS call (it must exist), and its absolute path is
        published as the group variable C(orgiam_catalog_path) on V(all).
      - After discovery, before any host is added, the OU paths and accounts the catalog names (role targets,
        identity.yml's grant scopes, the central account) are checked against the organization, with the closest
        names for a typo; the central account must also be among the accounts this inventory's filters keep.
    type: str
extends_documentation_fragment:
  - orgiam.aws.account_filters
  - inventory_cache
  - constructed
  - amazon.aws.boto3
  - amazon.aws.common.plugins
  - amazon.aws.region.plugins
  - amazon.aws.assume_role.plugins
notes:
  - Host variables are C(account_id), C(account_name), C(account_email), C(account_arn),
    C(account_status), C(ou_path) (empty for accounts under the root), C(ou_id) (the root id for those),
    C(account_tags), C(is_management_account) and C(ansible_connection=local).
  - Group variables on V(all) are C(orgiam_management_account_id), C(orgiam_organization_id),
    C(orgiam_ou_paths) (every OU path of the organization, filtered or not), C(orgiam_root_id),
    C(orgiam_ou_ids) (OU path to OU id, where organization policies attach), C(orgiam_ou_groups)
    (OU path to group name), C(orgiam_discovered_at) (when the organization was read) and
    C(orgiam_inventory_from_cache) (true when it came from the inventory cache; orgiam.aws.sync then
    plans but refuses to write until the organization is read again, with C(--flush-cache)).
  - When two OU paths sanitize to the same group name (C(Workloads/Prod) and a top OU named
    C(Workloads Prod), or a top OU named C(Root)), each of those groups gets the OU id appended.
  - The cache holds the discovered organization before filtering, so changing a filter does not need a
    new discovery.
  - The endpoint also comes from the C(AWS_ENDPOINT_URL) environment variable, which botocore reads itself.
  - Under C(ansible-playbook --syntax-check) (which ansible-lint runs) the organization is not read and no host is
    added, so no AWS credentials are needed.
"""

EXAMPLES = r"""
# inventories/prod/organization.orgiam.yml: every active account of the organization
plugin: orgiam.aws.organization

---

# Workloads accounts only, without the sandbox, grouped by the Owner tag
plugin: orgiam.aws.organization
include_ou_paths:
  - Workloads
exclude_ou_paths:
  - Workloads/Sandbox
exclude_accounts:
  - "123456789012"
  - legacy-billing
tag_filters:
  Environment: [prod, staging]
  Owner: "*"
keyed_groups:
  - key: account_tags.Owner | default('none')
    prefix: owner
compose:
  region: "'eu-west-1'"
groups:
  payments: "'payments' in account_name"

---

# From a delegated administrator account, reading the organization through a role, cached for 5 minutes
plugin: orgiam.aws.organization
assume_role_arn: arn:aws:iam::111111111111:role/OrgReadOnly
hostnames: name_id
catalog: ../../roles_catalog
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: .orgiam/inventory-cache
cache_timeout: 300
"""

import json
import os
import re
from datetime import datetime, timezone
from typing import Any

from ansible import context
from ansible.errors import AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable

from ansible_collections.orgiam.aws.plugins.module_utils.catalog import CatalogError, load_catalog
from ansible_collections.orgiam.aws.plugins.module_utils.catalog.yamlsource import SourceError
from ansible_collections.orgiam.aws.plugins.module_utils.model import Account
from ansible_collections.orgiam.aws.plugins.module_utils.resolve import check_references, find_account
from ansible_collections.orgiam.aws.plugins.module_utils.aws.errors import AwsAccessError
from ansible_collections.orgiam.aws.plugins.module_utils.aws.organizations import explain_read_denied
from ansible_collections.orgiam.aws.plugins.module_utils.aws.session import DEFAULT_REGION, AwsClients, AwsSettings
from ansible_collections.orgiam.aws.plugins.module_utils.organization import (
    MANAGEMENT_GROUP,
    ROOT_GROUP,
    OrganizationFilterError,
    assign_host_names,
    discover_organization,
    filter_accounts,
    ou_group_names,
    ou_paths,
    status_group_name,
    unmatched_account_exclusions,
)

try:
    import botocore.exceptions

    AWS_ERRORS: tuple[type[BaseException], ...] = (
        AwsAccessError,
        botocore.exceptions.BotoCoreError,
        botocore.exceptions.ClientError,
    )
except ImportError:  # pragma: no cover - AwsClients reports the missing SDK
    AWS_ERRORS = (AwsAccessError,)

# Credential options may be templates ("{{ lookup('env', 'X') }}"), as in amazon.aws.
TEMPLATABLE_OPTIONS = ("access_key", "secret_key", "session_token", "profile", "endpoint_url", "assume_role_arn", "region", "regions")
# Status groups that always exist, so that playbooks can name them in any organization.
ALWAYS_STATUS_GROUPS = ("ACTIVE", "SUSPENDED")
FILTER_OPTIONS = ("include_ou_paths", "exclude_ou_paths", "exclude_accounts", "tag_filters", "include_suspended")


# How much of a wrongly named YAML file is read to see whether it is meant for this plugin.
PEEK_BYTES = 65536
NAMES_THIS_PLUGIN = re.compile(r"""^\s*["']?plugin["']?\s*:\s*["']?orgiam\.aws\.organization["']?\s*(?:[,#}]|$)""", re.MULTILINE)


def names_this_plugin(path: str) -> bool:
    """Whether the YAML (or JSON) file at ``path`` has ``plugin: orgiam.aws.organization``; never raises."""
    if not path.endswith((".yml", ".yaml", ".json")):
        return False
    try:
        with open(path, "rb") as source:
            head = source.read(PEEK_BYTES).decode("utf-8", errors="replace")
    except OSError:
        return False
    return bool(NAMES_THIS_PLUGIN.search(head.replace("{", "\n").replace(",", "\n")))


def suggested_name(path: str) -> str:
    """``inv/prod.yml`` -> ``inv/prod.organization.orgiam.yml``; ``inv/organization.yml`` -> ``inv/organization.orgiam.yml``."""
    folder, name = os.path.split(path)
    stem, extension = os.path.splitext(name)
    if extension not in (".yml", ".yaml"):
        extension = ".yml"
    stem = stem.removesuffix(".orgiam")
    suffix = ".orgiam" if stem.endswith("organization") else ".organization.orgiam"
    return os.path.join(folder, stem + suffix + extension)


class CatalogProblem(AnsibleParserError):
    """A catalog problem, shown once.

    ansible-core shows a failed inventory source as a summary line, then the error's chain; when the error has a
    source context (the inventory file's Origin, which ansible-core adds otherwise), the chain is not folded and every
    catalog problem is printed twice. The problems name their own files and lines, so this error has no source
    context of its own, and ansible-core folds the chain into the one line.
    """

    @property
    def _formatted_source_context(self) -> str | None:
        return None


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    NAME = "orgiam.aws.organization"
    INVENTORY_FILE_SUFFIXES = ("organization.orgiam.yml", "organization.orgiam.yaml")

    def verify_file(self, path: str) -> bool:
        if not super().verify_file(path):
            return False
        if path.endswith(self.INVENTORY_FILE_SUFFIXES):
            return True
        if names_this_plugin(path):
            # Ansible says only "Unable to parse" (the reason shows at -vvv): say what to rename it to.
            self.display.warning(
                f"{path} says 'plugin: {self.NAME}', but that plugin reads only files whose name ends with "
                f"{' or '.join(self.INVENTORY_FILE_SUFFIXES)}, so Ansible does not read this one: "
                f"rename it to {suggested_name(path)}"
            )
        return False

    # -- options ---------------------------------------------------------------

    def _option(self, name: str) -> Any:
        value = self.get_option(name)
        if name in TEMPLATABLE_OPTIONS and value:
            if isinstance(value, list):
                return [self.templar.template(v) if self.templar.is_template(v) else v for v in value]
            if self.templar.is_template(value):
                return self.templar.template(value)
        return value

    def _aws_settings(self) -> AwsSettings:
        profile = self._option("profile") or None
        access_key = self._option("access_key") or None
        secret_key = self._option("secret_key") or None
        session_token = self._option("session_token") or None
        if profile and (access_key or secret_key or session_token):
            raise AnsibleParserError(
                "Passing both a profile and access tokens is not supported: set either aws_profile "
                "(AWS_PROFILE) or aws_access_key/aws_secret_key (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)"
            )
        regions = self._option("regions") or []
        region = self._option("region") or (regions[0] if regions else None)
        return AwsSettings(
            region=region or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION,
            profile=profile,
            access_key=access_key,
            secret_key=secret_key,
            session_token=session_token,
            endpoint_url=self._option("endpoint_url") or None,
            assume_role_arn=self._option("assume_role_arn") or None,
            session_name="orgiam-inventory",
        )

    # -- discovery -------------------------------------------------------------

    def _discover(self, with_tags: bool = True) -> dict[str, Any]:
        settings = self._aws_settings()
        endpoint = settings.endpoint_url or os.environ.get("AWS_ENDPOINT_URL")
        caller = ""
        try:
            clients = AwsClients(settings)
            caller = clients.caller_account_id()  # fails fast on a dead endpoint or missing credentials
            org = discover_organization(clients.client("organizations"), include_account_tags=with_tags)
        except AWS_ERRORS as exc:
            # One line for the user; the cause is an AWS condition, not a bug. Denied: which account, and what to do.
            raise AnsibleParserError(str(explain_read_denied(exc, caller, endpoint))) from None
        self.display.vv(
            f"orgiam.aws.organization: {len(org['accounts'])} accounts in {len(org['ous'])} OUs "
            f"discovered with {clients.call_log.total()} API calls"
        )
        return org

    def _organization(self, path: str, cache: bool, with_tags: bool = True) -> dict[str, Any]:
        cache_key = self.get_cache_key(path)
        use_cache = bool(self.get_option("cache"))
        if use_cache and cache:
            try:
                cached = dict(self._cache[cache_key])
                # a walk without tags does not answer for tags; one with them answers for both
                if cached.get("account_tags_read", True) or not with_tags:
                    cached["from_cache"] = True  # a sync that writes refuses it (it never acts on stale data)
                    return cached
            except KeyError:
                pass  # expired or never written
        org = self._discover(with_tags)
        org["discovered_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        if use_cache:
            self._cache[cache_key] = org
        return dict(org, from_cache=False)

    def _tags_wanted(self, catalog: Any) -> bool:
        """Whether to read the accounts' tags (one ListTagsForResource per account): always or never as the
        ``account_tags`` option says; with ``auto``, when the inventory's options or the catalog use them."""
        choice = str(self.get_option("account_tags") or "auto")
        if choice == "never" and self.get_option("tag_filters"):
            raise AnsibleParserError("field 'account_tags': 'never' does not read the tags that 'tag_filters' selects "
                                     "by, so no account would match: remove one of the two")
        if choice in ("always", "never"):
            return choice == "always"
        if self.get_option("tag_filters"):
            return True
        options = json.dumps([self.get_option(name) for name in ("keyed_groups", "compose", "groups", "hostnames")],
                             default=str)
        if "tags" in options:
            return True
        if catalog is None:  # an inventory of its own, for playbooks of people's: its hosts keep their tags
            return True
        return any(role.include.tags or role.exclude.tags for role in catalog.roles)

    # -- catalog hook ----------------------------------------------------------

    def _catalog_path(self, inventory_path: str) -> str | None:
        catalog = self.get_option("catalog")
        if not catalog:
            return None
        base = os.path.dirname(os.path.abspath(inventory_path))
        return os.path.normpath(os.path.join(base, os.path.expanduser(str(catalog))))

    def _load_catalog(self, catalog_path: str, inventory_path: str) -> Any:
        """Before any AWS call: load and check the catalog on its own (schema, semantics).

        A bad catalog fails here, so it costs no AWS call at all.
        """
        if not os.path.exists(catalog_path):
            raise AnsibleParserError(f"catalog {catalog_path} (option 'catalog' in {inventory_path}) does not exist")
        try:
            return load_catalog(catalog_path)
        except CatalogError as exc:
            raise CatalogProblem(str(exc)) from None

    def _check_catalog(self, catalog: Any, catalog_path: str, org: dict[str, Any], inventory_path: str,
                       selected: list[dict[str, Any]] | None = None) -> None:
        """After discovery, before hosts are added: check the catalog against the organization
        (OU paths, accounts and the central account it names). ``org`` is the unfiltered dict from
        module_utils.organization.discover_organization (possibly from the cache); ``selected`` the accounts
        the inventory's filters keep, which must hold the central account."""
        accounts = [
            Account(
                id=str(a["id"]),
                name=str(a["name"]),
                ou_path=str(a.get("ou_path") or ""),
                status=str(a.get("status", "ACTIVE")),
                is_management=bool(a.get("is_management")),
            )
            for a in org["accounts"]
        ]
        problems = check_references(catalog, accounts, [ou["path"] for ou in org["ous"]])
        central = find_account(catalog.settings.central_account, accounts)
        if not problems and central is not None and selected is not None and central.id not in {a["id"] for a in selected}:
            problems.append(self._central_filtered_out(central, catalog, org, inventory_path))
        if problems:
            raise CatalogProblem(str(CatalogError(problems)))

    def _central_filtered_out(self, central: Account, catalog: Any, org: dict[str, Any], inventory_path: str) -> SourceError:
        """The central account exists but this inventory's filters leave it out: name the filter, not settings.yml."""
        culprits = []
        for option in FILTER_OPTIONS:
            value = self.get_option(option)
            if not value or option == "include_suspended":
                continue
            try:
                alone = filter_accounts(org, include_suspended=True, **{option: value})
            except OrganizationFilterError:
                continue
            if central.id not in {a["id"] for a in alone}:
                culprits.append(f"{option}: {value}")
        where = f"OU {central.ou_path}" if central.ou_path else "the root"
        which = "; ".join(culprits) or ", ".join(o for o in FILTER_OPTIONS if self.get_option(o))
        return SourceError(
            inventory_path,
            f"the inventory's filter ({which}) leaves out the central account '{central.name}' ({central.id}, in {where}) "
            f"that {catalog.settings.source} names; orgiam deploys the central groups there, so it must be in the inventory: "
            "widen the filter (add its OU to include_ou_paths, or remove it from the exclusions)",
            field_path=culprits[0].split(":")[0] if culprits else "")

    # -- inventory -------------------------------------------------------------

    def parse(self, inventory: Any, loader: Any, path: str, cache: bool = True) -> None:
        super().parse(inventory, loader, path, cache)
        self._read_config_data(path)
        if context.CLIARGS.get("syntax"):
            # ansible-playbook --syntax-check (and ansible-lint, which runs it) needs no host: no credentials, no AWS call
            self.display.vv(f"orgiam.aws.organization: {path} not read for --syntax-check")
            return

        catalog_path = self._catalog_path(path)
        catalog = self._load_catalog(catalog_path, path) if catalog_path else None
        org = self._organization(path, cache, self._tags_wanted(catalog))

        exclude_accounts = self.get_option("exclude_accounts")
        try:
            selected = filter_accounts(
                org,
                include_ou_paths=self.get_option("include_ou_paths"),
                exclude_ou_paths=self.get_option("exclude_ou_paths"),
                exclude_accounts=exclude_accounts,
                tag_filters=self.get_option("tag_filters"),
                include_suspended=self.get_option("include_suspended"),
            )
            host_names = assign_host_names(org["accounts"], self.get_option("hostnames"))
        except OrganizationFilterError as exc:
            raise AnsibleParserError(f"{path}: {exc}") from None
        if catalog_path:
            self._check_catalog(catalog, catalog_path, org, path, selected)
        for entry in unmatched_account_exclusions(org, exclude_accounts):
            self.display.warning(f"{path}: exclude_accounts entry '{entry}' matches no account of the organization")

        self._populate(org, selected, host_names, catalog_path)

    def _populate(
        self, org: dict[str, Any], selected: list[dict[str, Any]], host_names: dict[str, str], catalog_path: str | None
    ) -> None:
        inventory = self.inventory
        groups = ou_group_names(org)

        inventory.add_group(ROOT_GROUP)
        inventory.add_child("all", ROOT_GROUP)
        # Parents before children: OUs are sorted by path, so a parent path comes first.
        for ou in sorted(org["ous"], key=lambda o: o["path"].count("/")):
            group = inventory.add_group(groups[ou["path"]])
            parent_path = ou["path"].rpartition("/")[0]
            inventory.add_child(groups[parent_path] if parent_path else "all", group)
        inventory.add_group(MANAGEMENT_GROUP)
        for status in ALWAYS_STATUS_GROUPS:
            inventory.add_group(status_group_name(status))

        all_vars = {
            "orgiam_management_account_id": org["management_account_id"],
            "orgiam_organization_id": org["organization_id"],
            "orgiam_ou_paths": ou_paths(org),
            # where organization policies are attached (roles_catalog/policies/): the root and every OU by path
            "orgiam_root_id": org.get("root_id", ""),
            "orgiam_account_tags_read": bool(org.get("account_tags_read", True)),
            "orgiam_ou_ids": {ou["path"]: ou["id"] for ou in org.get("ous", [])},
            "orgiam_ou_groups": {path: group for path, group in groups.items() if path},
            # where the accounts came from: a run that writes refuses the inventory cache
            "orgiam_inventory_from_cache": bool(org.get("from_cache", False)),
            "orgiam_discovered_at": str(org.get("discovered_at", "")),
        }
        if catalog_path:
            all_vars["orgiam_catalog_path"] = catalog_path
        for key, value in all_vars.items():
            inventory.set_variable("all", key, value)

        strict = self.get_option("strict")
        for account in selected:
            host = host_names[account["id"]]
            inventory.add_host(host, group=groups.get(account["ou_path"], ROOT_GROUP))
            inventory.add_child(inventory.add_group(status_group_name(account["status"])), host)
            if account["is_management"]:
                inventory.add_child(MANAGEMENT_GROUP, host)
            hostvars = {
                "account_id": account["id"],
                "account_name": account["name"],
                "account_email": account["email"],
                "account_arn": account["arn"],
                "account_status": account["status"],
                "ou_path": account["ou_path"],
                "ou_id": account["ou_id"],
                "account_tags": dict(account["tags"]),
                "is_management_account": account["is_management"],
                "ansible_connection": "local",
            }
            for key, value in hostvars.items():
                inventory.set_variable(host, key, value)
            self._set_composite_vars(self.get_option("compose"), hostvars, host, strict=strict)
            self._add_host_to_composed_groups(self.get_option("groups"), hostvars, host, strict=strict)
            self._add_host_to_keyed_groups(self.get_option("keyed_groups"), hostvars, host, strict=strict)
