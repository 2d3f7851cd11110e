# -*- coding: utf-8 -*-
# Copyright: orgiam developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The access report: who can get into which account, as which role, with MFA or not.

Security reviewers read it as a page (``access.html``), load it into a spreadsheet
(``access.csv``) or a script (``access.json``). The sync and ``playbooks/report.yml`` compute the
data; this module only renders it, so that it stays a pure function over plain data (stdlib only,
no Ansible imports) and the page can be tested in a real browser without AWS.

The data (a dict, JSON-serialisable) is the contract between the two, typed by ``Access`` below::

    {
      "generated_at": "2026-12-01T18:00:00Z", "organization_id": "o-abc",
      "mode": "iam_users" | "saml" | "identity_center", "source": "sync" | "report",
      "central_account": {"id": "...", "name": "Security"},
      "accounts": [{"id": "111122223333", "name": "Payments Prod", "ou_path": "Workloads/Prod",
                    "status": "ACTIVE"}, ...],          # every account, even those nobody can reach
      "principals": [{"type": "group", "name": "platform-engineers", "members": ["alice.platform"]},
                     {"type": "user", "name": "alice.platform", "groups": ["platform-engineers"]}],
      "rows": [{"principal_type": "group" | "user", "principal": "alice.platform",
                "via": "platform-engineers",        # "" when the principal holds the grant itself
                "account_id": "...", "account_name": "...", "ou_path": "Workloads/Prod",
                "role": "ReadOnly", "mfa_required": true,
                "how": "assume-role from Security"}, ...]
    }

One row is one access path. The producer lists a user's paths itself (one row per group it comes
through, ``via`` naming the group): the page, the CSV and the counts show exactly the rows, so the
three never disagree. Accounts at the organization's root have ``ou_path`` "".

The page is one self-contained file: inline CSS and JS, no URL of any kind (a Content-Security-Policy
forbids every fetch), so it opens from disk on a reviewer's laptop or as a CI artifact. The static
markup holds no data at all: the data goes in as JSON inside ``<script type="application/json">``
with ``<``, ``>`` and ``&`` escaped, and the script renders it with ``textContent`` only, so no name
in an organization can inject markup.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import os
import tempfile
from collections.abc import Iterable
from typing import Any, Literal, TypedDict

ROOT_LABEL = "(root)"
CSV_COLUMNS = ("principal_type", "principal", "via", "account_id", "account_name", "ou_path", "role", "mfa_required", "how")
# What a spreadsheet reads as the start of a formula (OWASP's list: = + - @, and tab and CR).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
PRINCIPAL_TYPE_ORDER = {"group": 0, "user": 1}


class CentralAccount(TypedDict):
    """The account that holds the people (IAM users and groups, or the federation)."""

    id: str
    name: str


class AccountEntry(TypedDict):
    """One account of the organization, reachable or not."""

    id: str
    name: str
    ou_path: str
    status: str


class PrincipalEntry(TypedDict, total=False):
    """A group (with its members) or a user (with their groups)."""

    type: Literal["group", "user"]
    name: str
    members: list[str]
    groups: list[str]


class AccessRow(TypedDict):
    """One access path: this principal can assume this role in this account."""

    principal_type: Literal["group", "user"]
    principal: str
    via: str
    account_id: str
    account_name: str
    ou_path: str
    role: str
    mfa_required: bool | None  # None: the identity provider or Identity Center decides at sign-in
    how: str


class Access(TypedDict):
    """The whole report's data: what the sync or the report playbook computed."""

    generated_at: str
    organization_id: str
    mode: Literal["iam_users", "saml", "identity_center"]
    source: Literal["sync", "report"]
    central_account: CentralAccount
    accounts: list[AccountEntry]
    principals: list[PrincipalEntry]
    rows: list[AccessRow]


# ---------------------------------------------------------------------------------------------
# The view: everything the page shows, decided here (sorted, counted) so that it is unit-tested
# in Python and the page's script only draws it.
# ---------------------------------------------------------------------------------------------


def ou_label(ou_path: str) -> str:
    """What a reader sees for an OU path; the root has no path of its own."""
    return ou_path or ROOT_LABEL


def account_sort_key(account: dict[str, Any]) -> tuple[str, str, str]:
    """Columns go by OU path, then account name (case-insensitive), the id breaking ties."""
    return (str(account.get("ou_path", "")), str(account.get("name", "")).casefold(), str(account.get("id", "")))


def row_sort_key(row: dict[str, Any]) -> tuple[Any, ...]:
    """The CSV's order: groups before users, by principal, then by where and what."""
    return (
        PRINCIPAL_TYPE_ORDER.get(str(row.get("principal_type", "")), 2),
        str(row.get("principal", "")).casefold(),
        str(row.get("principal", "")),
        str(row.get("ou_path", "")),
        str(row.get("account_name", "")).casefold(),
        str(row.get("account_id", "")),
        str(row.get("role", "")),
        str(row.get("via", "")),
    )


def sorted_accounts(access: dict[str, Any]) -> list[dict[str, Any]]:
    """Every account as a column: those listed, plus any a row names that the list lacks.

    A row for an unlisted account would otherwise vanish from the matrix while the CSV keeps it.
    """
    accounts = {str(a["id"]): dict(a) for a in access.get("accounts", [])}
    for row in access.get("rows", []):
        accounts.setdefault(str(row["account_id"]), {
            "id": str(row["account_id"]), "name": row.get("account_name", ""),
            "ou_path": row.get("ou_path", ""), "status": "UNKNOWN",
        })
    return sorted(accounts.values(), key=account_sort_key)


def ou_groups(accounts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The OU header row: consecutive accounts of one OU path share one spanning cell."""
    groups: list[dict[str, Any]] = []
    for account in accounts:
        path = str(account.get("ou_path", ""))
        if groups and groups[-1]["ou_path"] == path:
            groups[-1]["count"] += 1
        else:
            groups.append({"ou_path": path, "label": ou_label(path), "count": 1})
    return groups


def ou_options(accounts: Iterable[dict[str, Any]]) -> list[dict[str, str]]:
    """The OU filter's choices: every OU path and its parents (Workloads for Workloads/Prod).

    A parent OU that holds no account directly is still a useful filter: it shows its children.
    The root is offered (value "/") only when some account sits there.
    """
    paths: set[str] = set()
    has_root = False
    for account in accounts:
        path = str(account.get("ou_path", ""))
        if not path:
            has_root = True
            continue
        parts = path.split("/")
        paths.update("/".join(parts[:i]) for i in range(1, len(parts) + 1))
    options = [{"value": "/", "label": ROOT_LABEL}] if has_root else []
    return options + [{"value": p, "label": p} for p in sorted(paths)]


def principals_in_order(access: dict[str, Any]) -> list[dict[str, Any]]:
    """The matrix's rows: groups by name, then users by name; principals only rows name included."""
    known: dict[tuple[str, str], dict[str, Any]] = {}
    for principal in access.get("principals", []):
        known[(str(principal["type"]), str(principal["name"]))] = dict(principal)
    for row in access.get("rows", []):
        key = (str(row["principal_type"]), str(row["principal"]))
        known.setdefault(key, {"type": key[0], "name": key[1]})
    return sorted(known.values(), key=lambda p: (PRINCIPAL_TYPE_ORDER.get(p["type"], 2), p["name"].casefold(), p["name"]))


def principal_detail(principal: dict[str, Any]) -> str:
    """The line under a principal's name: what kind it is and how it relates to the others."""
    if principal["type"] == "group":
        members = principal.get("members", [])
        return f"group · {len(members)} member{'' if len(members) == 1 else 's'}"
    groups = principal.get("groups", [])
    return "user · " + (", ".join(sorted(groups)) if groups else "no group")


def cells_of(rows: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, list[dict[str, Any]]]]:
    """Each principal's grants per account: {(type, name): {account_id: [grant, ...]}}."""
    cells: dict[tuple[str, str], dict[str, list[dict[str, Any]]]] = {}
    for row in rows:
        key = (str(row["principal_type"]), str(row["principal"]))
        grant = {"role": row["role"], "mfa_required": None if row["mfa_required"] is None else bool(row["mfa_required"]), "via": row.get("via", ""), "how": row.get("how", "")}
        cells.setdefault(key, {}).setdefault(str(row["account_id"]), []).append(grant)
    for by_account in cells.values():
        for grants in by_account.values():
            grants.sort(key=lambda g: (g["role"], g["via"]))
    return cells


def summarize(access: dict[str, Any]) -> dict[str, Any]:
    """The counts at the top of the page: what a reviewer asks first."""
    rows = access.get("rows", [])
    principals = principals_in_order(access)
    central = access.get("central_account") or {}
    return {
        "people": sum(1 for p in principals if p["type"] == "user"),
        "groups": sum(1 for p in principals if p["type"] == "group"),
        "accounts_total": len(sorted_accounts(access)),
        "accounts_reached": len({str(r["account_id"]) for r in rows}),
        "roles": sorted({str(r["role"]) for r in rows}),
        "paths": len(rows),
        "paths_without_mfa": sum(1 for r in rows if r["mfa_required"] is False),
        "generated_at": access.get("generated_at", ""),
        "organization_id": access.get("organization_id", ""),
        "mode": access.get("mode", ""),
        "source": access.get("source", ""),
        "central_account": {"id": central.get("id", ""), "name": central.get("name", "")},
    }


def build_view(access: dict[str, Any]) -> dict[str, Any]:
    """Everything the page draws, sorted and counted; the page's script adds no logic of its own."""
    accounts = sorted_accounts(access)
    rows = access.get("rows", [])
    reached = {str(r["account_id"]) for r in rows}
    cells = cells_of(rows)
    return {
        "summary": summarize(access),
        "ou_options": ou_options(accounts),
        "ou_groups": ou_groups(accounts),
        "accounts": [
            {"id": str(a["id"]), "name": a.get("name", ""), "ou_path": a.get("ou_path", ""),
             "status": a.get("status", ""), "reached": str(a["id"]) in reached}
            for a in accounts
        ],
        "principals": [
            {"type": p["type"], "name": p["name"], "detail": principal_detail(p),
             "related": sorted(p.get("members", []) if p["type"] == "group" else p.get("groups", [])),
             "cells": cells.get((p["type"], p["name"]), {})}
            for p in principals_in_order(access)
        ],
        "without_mfa": sorted((r for r in rows if r["mfa_required"] is False), key=row_sort_key),
    }


# ---------------------------------------------------------------------------------------------
# HTML
# ---------------------------------------------------------------------------------------------


def json_for_script(data: Any) -> str:
    """JSON that cannot end its <script> element early nor open a comment or CDATA section.

    ``</script>`` in a name would close the element; ``<!--`` would change how the parser reads
    it. Escaping every ``<``, ``>`` and ``&`` as a JSON unicode escape keeps the value intact for
    ``JSON.parse`` while no markup character remains; ``ensure_ascii`` also escapes U+2028/U+2029.
    """
    text = json.dumps(data, ensure_ascii=True, sort_keys=True, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _csp_hash(text: str) -> str:
    """The CSP source that allows exactly this inline script or style and nothing else."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


def render_html(access: dict[str, Any]) -> str:
    """The access report as one self-contained HTML page (see the module's docstring)."""
    policy = "; ".join((
        "default-src 'none'",
        f"script-src {_csp_hash(PAGE_SCRIPT)}",
        f"style-src {_csp_hash(PAGE_STYLE)}",
        "img-src data:",
        "base-uri 'none'",
        "form-action 'none'",
    ))
    return PAGE_TEMPLATE.format(
        policy=policy, style=PAGE_STYLE, script=PAGE_SCRIPT, data=json_for_script(build_view(access)),
    )


# ---------------------------------------------------------------------------------------------
# CSV and files
# ---------------------------------------------------------------------------------------------


def csv_safe(value: Any) -> str:
    """A cell a spreadsheet shows as text: one that would start a formula gets a leading apostrophe.

    A name such as ``=HYPERLINK(...)`` in the organization must not run when a reviewer opens
    the file (CSV injection).
    """
    text = "true" if value is True else "false" if value is False else "at sign-in" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def render_csv(access: dict[str, Any]) -> str:
    """The access paths as CSV, one row per path, sorted like the page (groups, then users)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in sorted(access.get("rows", []), key=row_sort_key):
        writer.writerow([csv_safe(row.get(column, "")) for column in CSV_COLUMNS])
    return buffer.getvalue()


def _write_atomically(path: str, text: str) -> None:
    """Replace the file in one step, so a reviewer's open or a CI upload never reads half of it."""
    directory = os.path.dirname(path) or "."
    fd, temporary = tempfile.mkstemp(dir=directory, prefix=".access-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def write_access_report(access: dict[str, Any], directory: str) -> dict[str, str]:
    """Write access.html, access.csv and access.json into directory; return {"html"|"csv"|"json": path}."""
    os.makedirs(directory, exist_ok=True)
    paths = {kind: os.path.join(directory, f"access.{kind}") for kind in ("html", "csv", "json")}
    _write_atomically(paths["html"], render_html(access))
    _write_atomically(paths["csv"], render_csv(access))
    _write_atomically(paths["json"], json.dumps(access, indent=2, sort_keys=True) + "\n")
    return paths


# ---------------------------------------------------------------------------------------------
# The page's markup, style and script. No data in here: only the JSON block carries it.
# ---------------------------------------------------------------------------------------------

PAGE_STYLE = """
:root {
  --ink: #1d2430; --muted: #5b6676; --line: #d7dde5; --head: #eef2f6; --ou: #e2e8f0;
  --ok: #1f6f3f; --ok-bg: #e3f4ea; --warn: #8a1c1c; --warn-bg: #fde4e4; --gap: #f6f7f9;
  --principal-w: 14rem; --col-w: 7.75rem;
}
* { box-sizing: border-box; }
body { margin: 0; font: 13px/1.35 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: var(--ink); background: #fff; }
header.top { padding: 14px 20px 6px; }
h1 { font-size: 18px; margin: 0 0 2px; }
#meta { margin: 0; color: var(--muted); }
#summary { display: flex; flex-wrap: wrap; gap: 8px; margin: 10px 0 0; padding: 0; }
#summary div { border: 1px solid var(--line); border-radius: 6px; padding: 6px 12px; min-width: 8rem; background: #fafbfc; }
#summary dt { color: var(--muted); font-size: 11px; text-transform: uppercase; letter-spacing: .04em; }
#summary dd { margin: 0; font-size: 18px; font-weight: 600; }
#summary div.alert { border-color: #e9a3a3; background: var(--warn-bg); }
#summary div.alert dd { color: var(--warn); }
#summary dd small { font-size: 12px; font-weight: 400; color: var(--muted); }
.controls { display: flex; flex-wrap: wrap; align-items: center; gap: 14px; padding: 8px 20px; border-top: 1px solid var(--line); border-bottom: 1px solid var(--line); background: #fafbfc; }
.controls label { font-weight: 600; }
.controls select, .controls input { font: inherit; margin-left: 6px; padding: 3px 6px; border: 1px solid #b8c2cf; border-radius: 4px; }
.controls input { width: 14rem; }
#shown-count { color: var(--muted); }
.legend { margin-left: auto; color: var(--muted); }
.matrix-wrap { overflow: auto; max-height: calc(100vh - 12px); margin: 0 20px 12px; border: 1px solid var(--line); }
table { border-collapse: separate; border-spacing: 0; }
th, td { border-right: 1px solid var(--line); border-bottom: 1px solid var(--line); vertical-align: top; text-align: left; padding: 4px 6px; }
thead th { position: sticky; top: 0; z-index: 2; background: var(--head); }
thead tr.ou-row th { background: var(--ou); font-weight: 600; white-space: nowrap; height: 26px; }
/* a wide OU's name stays in sight while its accounts scroll under it */
.ou-label { position: sticky; left: calc(var(--principal-w) + 6px); display: inline-block; }
thead tr.account-row th { top: var(--ou-row-h, 26px); font-weight: 400; width: var(--col-w); min-width: var(--col-w); max-width: var(--col-w); }
thead th.corner { left: 0; z-index: 4; width: var(--principal-w); min-width: var(--principal-w); vertical-align: bottom; color: var(--muted); font-weight: 400; }
.acct-name { display: block; font-weight: 600; overflow-wrap: anywhere; }
.acct-id { display: block; font: 11px ui-monospace, "DejaVu Sans Mono", monospace; color: var(--muted); }
.acct-note { display: inline-block; margin: 2px 3px 0 0; font-size: 10px; text-transform: uppercase; letter-spacing: .03em; color: var(--muted); border: 1px solid var(--line); border-radius: 3px; padding: 0 3px; background: #fff; }
tbody th { position: sticky; left: 0; z-index: 1; background: #fff; font-weight: 400; width: var(--principal-w); min-width: var(--principal-w); max-width: var(--principal-w); }
.p-name { display: block; font-weight: 600; overflow-wrap: anywhere; }
.p-detail { display: block; font-size: 11px; color: var(--muted); overflow-wrap: anywhere; }
tbody tr.first-user > * { border-top: 2px solid #9aa6b5; }
tbody tr:hover > * { background-color: #f3f7fc; }
td.unreached, th.unreached { background-image: repeating-linear-gradient(135deg, transparent 0 6px, var(--gap) 6px 12px); }
thead th.unreached { background-color: var(--head); }
.grant { display: flex; flex-wrap: wrap; align-items: baseline; gap: 0 4px; }
.grant + .grant { margin-top: 3px; }
.role { font-weight: 600; }
.mfa { font-size: 10px; font-weight: 700; border-radius: 3px; padding: 0 3px; letter-spacing: .02em; }
.mfa.yes { color: var(--ok); background: var(--ok-bg); }
.mfa.no { color: #fff; background: var(--warn); }
.mfa.idp { color: #334; background: #e3e7f3; }
.via { flex-basis: 100%; font-size: 11px; color: var(--muted); }
#no-match { margin: 0 20px 12px; color: var(--muted); }
#no-mfa { margin: 0 20px 20px; }
#no-mfa summary { cursor: pointer; font-weight: 600; }
#no-mfa ul { margin: 6px 0; padding-left: 20px; }
"""

PAGE_SCRIPT = """
"use strict";
(function () {
  const view = JSON.parse(document.getElementById("access-data").textContent);
  const summary = view.summary;

  function el(tag, props, text) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(props || {})) {
      if (name === "className") { node.className = value; } else { node.setAttribute(name, value); }
    }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  function ouLabel(path) { return path === "" ? "(root)" : path; }

  function drawSummary() {
    const central = summary.central_account;
    document.title = "Access report \\u00b7 " + (summary.organization_id || "organization");
    document.getElementById("meta").textContent = [
      "organization " + (summary.organization_id || "?"),
      "central account " + (central.name || "?") + (central.id ? " (" + central.id + ")" : ""),
      "mode " + summary.mode,
      "source " + summary.source,
      "generated " + summary.generated_at,
    ].join(" \\u00b7 ");
    const facts = [
      ["people", "People", String(summary.people), ""],
      ["groups", "Groups", String(summary.groups), ""],
      ["accounts", "Accounts reached", String(summary.accounts_reached), " / " + summary.accounts_total],
      ["roles", "Roles", String(summary.roles.length), summary.roles.length ? " " + summary.roles.join(", ") : ""],
      ["paths", "Access paths", String(summary.paths), ""],
      ["no-mfa", "Paths without MFA", String(summary.paths_without_mfa), ""],
    ];
    const list = document.getElementById("summary");
    for (const [key, label, value, extra] of facts) {
      const box = el("div", {"data-summary": key});
      if (key === "no-mfa" && summary.paths_without_mfa > 0) { box.className = "alert"; }
      box.appendChild(el("dt", {}, label));
      const dd = el("dd", {"data-value": value}, value);
      if (extra) { dd.appendChild(el("small", {}, extra)); }
      box.appendChild(dd);
      list.appendChild(box);
    }
  }

  function drawFilter() {
    const select = document.getElementById("ou-filter");
    for (const option of view.ou_options) {
      select.appendChild(el("option", {value: option.value}, option.label));
    }
  }

  function drawHead(thead) {
    const ouRow = el("tr", {className: "ou-row"});
    const corner = el("th", {className: "corner", rowspan: "2", scope: "col"}, "principal \\u2193 / account \\u2192");
    ouRow.appendChild(corner);
    for (const group of view.ou_groups) {
      const th = el("th", {className: "ou-head", colspan: String(group.count), scope: "colgroup",
                           "data-ou-path": group.ou_path, title: group.label});
      th.appendChild(el("span", {className: "ou-label"}, group.label));
      ouRow.appendChild(th);
    }
    const accountRow = el("tr", {className: "account-row"});
    for (const account of view.accounts) {
      const th = el("th", {scope: "col", "data-account-id": account.id, "data-ou-path": account.ou_path,
                           "data-account-name": account.name, title: ouLabel(account.ou_path) + " / " + account.name});
      if (!account.reached) { th.className = "unreached"; }
      th.appendChild(el("span", {className: "acct-name"}, account.name));
      th.appendChild(el("span", {className: "acct-id"}, account.id));
      if (account.status && account.status !== "ACTIVE") { th.appendChild(el("span", {className: "acct-note"}, account.status)); }
      if (!account.reached) { th.appendChild(el("span", {className: "acct-note"}, "no access")); }
      accountRow.appendChild(th);
    }
    thead.appendChild(ouRow);
    thead.appendChild(accountRow);
  }

  function drawGrant(grant) {
    const line = el("div", {className: "grant", title: grant.how});
    line.appendChild(el("span", {className: "role"}, grant.role));
    const mfa = grant.mfa_required === null ? ["mfa idp", "MFA AT SIGN-IN"]
      : grant.mfa_required ? ["mfa yes", "MFA"] : ["mfa no", "NO MFA"];
    line.appendChild(el("span", {className: mfa[0], title: grant.mfa_required === null
      ? "MFA is the identity provider's (or Identity Center's) to ask at sign-in" : ""}, mfa[1]));
    if (grant.via) { line.appendChild(el("span", {className: "via"}, "via " + grant.via)); }
    return line;
  }

  function drawBody(tbody) {
    let seenUser = false;
    for (const principal of view.principals) {
      const tr = el("tr", {"data-principal": principal.name, "data-principal-type": principal.type});
      if (principal.type === "user" && !seenUser) { tr.className = "first-user"; seenUser = true; }
      const th = el("th", {scope: "row", title: principal.related.join(", ")});
      th.appendChild(el("span", {className: "p-name"}, principal.name));
      th.appendChild(el("span", {className: "p-detail"}, principal.detail));
      tr.appendChild(th);
      for (const account of view.accounts) {
        const td = el("td", {"data-account-id": account.id, "data-ou-path": account.ou_path});
        if (!account.reached) { td.className = "unreached"; }
        for (const grant of principal.cells[account.id] || []) { td.appendChild(drawGrant(grant)); }
        tr.appendChild(td);
      }
      tbody.appendChild(tr);
    }
  }

  function drawWithoutMfa() {
    const box = document.getElementById("no-mfa");
    if (!view.without_mfa.length) { box.hidden = true; return; }
    box.querySelector("summary").textContent = "Access paths without MFA (" + view.without_mfa.length + ")";
    const list = box.querySelector("ul");
    for (const row of view.without_mfa) {
      list.appendChild(el("li", {"data-principal": row.principal, "data-account-id": row.account_id},
        row.principal_type + " " + row.principal + (row.via ? " (via " + row.via + ")" : "") + " \\u2192 " +
        row.role + " in " + row.account_name + " (" + row.account_id + ", " + ouLabel(row.ou_path) + "): " + row.how));
    }
  }

  function ouMatches(path, selected) {
    if (selected === "*") { return true; }
    if (selected === "/") { return path === ""; }
    return path === selected || path.startsWith(selected + "/");
  }

  function updateCount() {
    const accounts = document.querySelectorAll("#matrix thead th[data-account-id]:not([hidden])").length;
    const principals = document.querySelectorAll("#matrix tbody tr[data-principal]:not([hidden])").length;
    document.getElementById("shown-count").textContent =
      "showing " + accounts + " of " + view.accounts.length + " accounts, " +
      principals + " of " + view.principals.length + " principals";
  }

  function applyOuFilter() {
    const selected = document.getElementById("ou-filter").value;
    for (const node of document.querySelectorAll("#matrix [data-ou-path]")) {
      node.hidden = !ouMatches(node.getAttribute("data-ou-path"), selected);
    }
    document.querySelector(".matrix-wrap").scrollLeft = 0;  // the chosen OU's first column in sight
    updateCount();
  }

  function applySearch() {
    const query = document.getElementById("person-search").value.trim().toLowerCase();
    let shown = 0;
    for (const tr of document.querySelectorAll("#matrix tbody tr[data-principal]")) {
      const match = query === "" || tr.getAttribute("data-principal").toLowerCase().includes(query);
      tr.hidden = !match;
      if (match) { shown += 1; }
    }
    document.getElementById("no-match").hidden = shown > 0;
    updateCount();
  }

  function stickSecondHeaderRow() {
    const ouRow = document.querySelector("#matrix thead tr.ou-row");
    if (ouRow) { document.documentElement.style.setProperty("--ou-row-h", ouRow.getBoundingClientRect().height + "px"); }
  }

  const started = performance.now();
  drawSummary();
  drawFilter();
  const table = document.getElementById("matrix");
  drawHead(table.querySelector("thead"));
  drawBody(table.querySelector("tbody"));
  drawWithoutMfa();
  document.getElementById("ou-filter").addEventListener("change", applyOuFilter);
  const search = document.getElementById("person-search");
  search.addEventListener("input", applySearch);
  search.addEventListener("keydown", (event) => {
    if (event.key === "Escape") { search.value = ""; applySearch(); }
  });
  applyOuFilter();
  applySearch();
  stickSecondHeaderRow();
  document.body.setAttribute("data-render-ms", String(Math.round(performance.now() - started)));
  document.body.setAttribute("data-ready", "true");
})();
"""

PAGE_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="{policy}">
<link rel="icon" href="data:,">
<title>Access report</title>
<style>{style}</style>
</head>
<body>
<header class="top">
<h1>Who can get into which account, as what</h1>
<p id="meta"></p>
<dl id="summary"></dl>
</header>
<section class="controls" aria-label="filters">
<label for="ou-filter">OU<select id="ou-filter"><option value="*">all</option></select></label>
<label for="person-search">Person or group<input id="person-search" type="search" placeholder="name contains&hellip;" autocomplete="off" spellcheck="false"></label>
<span id="shown-count" aria-live="polite"></span>
<span class="legend"><span class="mfa yes">MFA</span> MFA required &nbsp; <span class="mfa no">NO MFA</span> no MFA needed &nbsp; <span class="mfa idp">MFA AT SIGN-IN</span> the identity provider or Identity Center asks &nbsp; hatched: nobody can reach the account</span>
</section>
<div class="matrix-wrap"><table id="matrix"><thead></thead><tbody></tbody></table></div>
<p id="no-match" hidden>No person or group matches the search.</p>
<details id="no-mfa" open><summary></summary><ul></ul></details>
<script type="application/json" id="access-data">{data}</script>
<script>{script}</script>
</body>
</html>
"""
