# -*- coding: utf-8 -*-
# Copyright: orgiam developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""AWS CLI profiles for one person, from the access document (usecases/access.py), and their merge into a
person's own ``~/.aws/config``.

One profile per (account, role) the person may use, named from the account and the role
(``orgiam-payments-prod-readonly``), in the shape the access mode needs:

* ``iam_users``: ``role_arn``, ``source_profile = orgiam-central`` (the person's own access keys in the central
  account, which orgiam never writes), ``mfa_serial`` (the user's device, ``arn:...:mfa/<user>``, the only one
  orgiam's self-service policy lets a user create), ``role_session_name``, ``region``;
* ``saml``: ``role_arn`` and ``source_profile = orgiam-saml-<group>``, the profile the person's SAML tool fills
  with a session of the group's federated role in the central account;
* ``identity_center``: ``sso_session = orgiam`` (one ``[sso-session orgiam]`` section), ``sso_account_id``,
  ``sso_role_name`` (the permission set), ``region``.

The AWS CLI, boto3, aws-vault and awsume read these keys. Every section orgiam writes carries a comment line
``# managed by orgiam profiles ...``: a merge replaces or removes only such sections and keeps every other line
of the file as it was, byte for byte. The source profiles (``orgiam-central``, ``orgiam-saml-*``) are written
once and then left alone, since ``aws configure`` or a SAML tool may add to them.

Plain functions over plain data: no AWS call, no Ansible import.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import re
import tempfile
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

MARKER = "# managed by orgiam profiles"
STUB_MARKER = f"{MARKER}: a source profile, written once and then left to you"
PREFIX = "orgiam"
CENTRAL_PROFILE = "orgiam-central"
SSO_SESSION = "orgiam"
SSO_SCOPES = "sso:account:access"
PLACEHOLDER_USER = "YOUR-USER-NAME"

# (account id, account name, role, tag): what one profile is for; tag tells apart the paths of two modes
ProfileKey = tuple[str, str, str, str]


class ProfilesError(Exception):
    """The person is unknown or the profiles file cannot be used; the message says what to do."""


@dataclass(frozen=True)
class Section:
    """One section of an AWS config file, as orgiam writes it."""

    kind: str  # "profile" or "sso-session"
    name: str
    settings: tuple[tuple[str, str], ...]
    notes: tuple[str, ...] = ()  # comment lines, written after the marker and before the settings
    stub: bool = False  # a source profile: written when absent, never replaced
    account_id: str = ""
    account_name: str = ""
    role: str = ""

    @property
    def header(self) -> str:
        return f"{self.kind} {self.name}"


# ---------------------------------------------------------------------------------------------
# Names
# ---------------------------------------------------------------------------------------------


def slug(text: str) -> str:
    """Lowercase ASCII letters, digits and single hyphens: 'Payments Prod' -> 'payments-prod'."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def base_name(key: ProfileKey, prefix: str = PREFIX) -> str:
    account_id, account_name, role, tag = key
    return "-".join(part for part in (prefix, tag, slug(account_name) or account_id, slug(role) or "role") if part)


def _short_hash(key: ProfileKey) -> str:
    return hashlib.sha256("\0".join(key).encode("utf-8")).hexdigest()[:8]


def profile_names(keys: Iterable[ProfileKey], prefix: str = PREFIX) -> dict[ProfileKey, str]:
    """A unique profile name for every key, the same whatever the order of the keys.

    Names clash when account or role names differ only in case or punctuation ('Payments Prod' and
    'payments-prod'); then every clashing name gets its account id, and a name that still clashes a short
    hash of its key, so that no profile silently takes another's place."""
    unique = sorted(set(keys))
    names = {key: base_name(key, prefix) for key in unique}
    for widen in (lambda key, name: f"{name}-{key[0]}", lambda key, name: f"{name}-{_short_hash(key)}"):
        counts: dict[str, int] = {}
        for name in names.values():
            counts[name] = counts.get(name, 0) + 1
        names = {key: widen(key, name) if counts[name] > 1 else name for key, name in names.items()}
    return names


# ---------------------------------------------------------------------------------------------
# The person and their profiles
# ---------------------------------------------------------------------------------------------


def find_person(document: dict[str, Any], person: str) -> tuple[str, str]:
    """(type, name) of the principal ``person`` names: a user first, then a group; ``user:`` or ``group:``
    in front chooses. Case is ignored when that leaves one match. ProfilesError lists close names."""
    wanted_type, _, wanted = person.partition(":") if person.startswith(("user:", "group:")) else ("", "", person)
    principals = [(str(p["type"]), str(p["name"])) for p in document.get("principals", [])]
    candidates = [p for p in principals if not wanted_type or p[0] == wanted_type]
    for same in (lambda name: name == wanted, lambda name: name.lower() == wanted.lower()):
        found = sorted((p for p in candidates if same(p[1])), key=lambda p: p[0] != "user")
        if found and (len({p[1] for p in found}) == 1):
            return found[0]
    raise ProfilesError(not_found_message(document, person, sorted({p[1] for p in candidates})))


def not_found_message(document: dict[str, Any], person: str, names: list[str]) -> str:
    close = difflib.get_close_matches(person.split(":", 1)[-1], names, n=5, cutoff=0.5)
    close += [n for n in names if person.lower() in n.lower() and n not in close][:5 - len(close)]
    hint = f"did you mean {', '.join(close)}?" if close else (
        f"known: {', '.join(names[:20])}{' ...' if len(names) > 20 else ''}" if names else "the access report lists nobody")
    mode = document.get("mode", "")
    where = {"saml": " (in saml mode people sign in at the identity provider: name their group)",
             "identity_center": " (a user name or group display name of the identity store)"}.get(mode, "")
    return f"orgiam profiles: nobody named {person!r} has access{where}; {hint}"


def rows_of(document: dict[str, Any], principal_type: str, name: str) -> list[dict[str, Any]]:
    return [r for r in document.get("rows", []) if r["principal_type"] == principal_type and r["principal"] == name]


def _partition(arn: str) -> str:
    parts = arn.split(":")
    return parts[1] if len(parts) > 1 and parts[1] else "aws"


def _about(row: dict[str, Any]) -> str:
    where = f"{row['account_name']} ({row['account_id']}{', ' + row['ou_path'] if row.get('ou_path') else ''})"
    return f"{row['role']} in {where}"


def profiles_for(document: dict[str, Any], person: str, region: str, central_profile: str = CENTRAL_PROFILE) -> list[Section]:
    """The sections of ``person``'s profiles, in a stable order: the source profiles or the sso-session first,
    then one profile per (account, role) sorted by name. ProfilesError when nobody is named so."""
    principal_type, name = find_person(document, person)
    rows = rows_of(document, principal_type, name)
    modes = {r["access_mode"] for r in rows}
    by_key: dict[ProfileKey, list[dict[str, Any]]] = {}
    for row in rows:
        tag = "sso" if row["access_mode"] == "identity_center" and len(modes) > 1 else ""
        by_key.setdefault((str(row["account_id"]), str(row["account_name"]), str(row["role"]), tag), []).append(row)
    names = profile_names(by_key)
    user = name if principal_type == "user" else ""
    sources: dict[str, Section] = {}
    profiles = []
    for key in sorted(by_key, key=lambda k: names[k]):
        paths = sorted(by_key[key], key=lambda r: str(r.get("via", "")))
        section, source = _profile(names[key], paths, document, user, region, central_profile)
        profiles.append(section)
        if source is not None:
            sources.setdefault(source.header, source)
    return [sources[h] for h in sorted(sources)] + profiles


def _profile(name: str, paths: list[dict[str, Any]], document: dict[str, Any], user: str, region: str,
             central_profile: str) -> tuple[Section, Section | None]:
    row = paths[0]
    mode = row["access_mode"]
    if mode == "identity_center":
        return _sso_profile(name, row, document, region), _sso_session(document)
    if mode == "saml":
        return _saml_profile(name, paths, user, region)
    return _iam_user_profile(name, paths, document, user, region, central_profile)


def _via(paths: list[dict[str, Any]]) -> str:
    groups = sorted({str(p["via"]) for p in paths if p.get("via")})
    return f"through {', '.join(groups)}" if groups else ""


def _notes(row: dict[str, Any], paths: list[dict[str, Any]]) -> tuple[str, ...]:
    via = _via(paths)
    return (_about(row) + (f", {via}" if via else ""),)


def _common(row: dict[str, Any]) -> dict[str, str]:
    return {"account_id": str(row["account_id"]), "account_name": str(row["account_name"]), "role": str(row["role"])}


def _iam_user_profile(name: str, paths: list[dict[str, Any]], document: dict[str, Any], user: str, region: str,
                      central_profile: str) -> tuple[Section, Section]:
    row = paths[0]
    central = document.get("central_account") or {}
    notes = list(_notes(row, paths))
    settings = [("role_arn", str(row["role_arn"])), ("source_profile", central_profile)]
    if any(p.get("mfa_required") for p in paths):
        device = f"arn:{_partition(str(row['role_arn']))}:iam::{central.get('id', '')}:mfa/{user or PLACEHOLDER_USER}"
        if not user:
            notes.append(f"set your MFA device ARN: replace {PLACEHOLDER_USER} with your IAM user name in "
                         f"{central.get('name', 'the central account')}")
        settings.append(("mfa_serial", device))
    else:
        notes.append("this role does not ask for MFA")
    if user:
        settings.append(("role_session_name", user))
    settings.append(("region", region))
    profile = Section("profile", name, tuple(settings), tuple(notes), **_common(row))
    return profile, central_stub(document, central_profile, region)


def central_stub(document: dict[str, Any], central_profile: str, region: str) -> Section:
    central = document.get("central_account") or {}
    where = f"{central.get('name', 'the central account')} ({central.get('id', '')})"
    notes = (
        f"the source of the orgiam role profiles: your own IAM user's access keys in {where}.",
        "orgiam never writes keys: put yours in ~/.aws/credentials with",
        f"  aws configure --profile {central_profile}",
        "(or keep them in aws-vault: aws-vault add " + central_profile + ").",
        "orgiam gives its users no access keys: an administrator of that account creates yours.",
    )
    return Section("profile", central_profile, (("region", region),), notes, stub=True)


def _saml_profile(name: str, paths: list[dict[str, Any]], user: str, region: str) -> tuple[Section, Section]:
    row = paths[0]
    group = str(row.get("via") or row["principal"])
    source_name = f"{PREFIX}-saml-{slug(group) or _short_hash((group, '', '', ''))}"
    notes = list(_notes(row, paths))
    others = sorted({str(p.get("via") or p["principal"]) for p in paths} - {group})
    if others:
        notes.append(f"also reachable through {', '.join(others)} (source profiles {', '.join(f'{PREFIX}-saml-' + slug(o) for o in others)})")
    settings = [("role_arn", str(row["role_arn"])), ("source_profile", source_name)]
    if user:
        settings.append(("role_session_name", user))
    settings.append(("region", region))
    source_notes = (
        f"the source of the orgiam role profiles of group {group}: a session of its federated role",
        f"  {row['source_role_arn']}",
        "which your SAML tool writes to ~/.aws/credentials under this profile name, for example",
        f"  saml2aws login --role {row['source_role_arn']} --profile {source_name}",
        "(gimme-aws-creds and aws-vault can fill it too). Sessions chained from it last one hour at most.",
    )
    source = Section("profile", source_name, (("region", region),), source_notes, stub=True)
    return Section("profile", name, tuple(settings), tuple(notes), **_common(row)), source


def _sso_session(document: dict[str, Any]) -> Section:
    center = document.get("identity_center") or {}
    settings = (("sso_start_url", str(center.get("start_url", ""))), ("sso_region", str(center.get("region", ""))),
                ("sso_registration_scopes", SSO_SCOPES))
    notes = (f"IAM Identity Center of the organization (instance {center.get('instance_arn', '')}): "
             f"aws sso login --sso-session {SSO_SESSION}",)
    return Section("sso-session", SSO_SESSION, settings, notes)


def _sso_profile(name: str, row: dict[str, Any], document: dict[str, Any], region: str) -> Section:
    settings = (("sso_session", SSO_SESSION), ("sso_account_id", str(row["account_id"])),
                ("sso_role_name", str(row.get("permission_set") or row["role"])), ("region", region))
    return Section("profile", name, settings, _notes(row, [row]), **_common(row))


# ---------------------------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------------------------


def marker_line(section: Section, person: str) -> str:
    return STUB_MARKER if section.stub else f"{MARKER} for {person}"


def render_section(section: Section, person: str, newline: str = "\n") -> str:
    lines = [f"[{section.header}]", marker_line(section, person)]
    lines += [f"# {note}" for note in section.notes]
    lines += [f"{key} = {value}" for key, value in section.settings]
    return newline.join(lines) + newline


def render(sections: list[Section], person: str, title: str = "") -> str:
    """A config fragment: an optional comment heading, then the sections separated by blank lines."""
    head = "".join(f"# {line}\n" if line else "#\n" for line in title.splitlines())
    body = "\n".join(render_section(s, person) for s in sections)
    return head + ("\n" if head and body else "") + body


# ---------------------------------------------------------------------------------------------
# Merging into an existing config file
# ---------------------------------------------------------------------------------------------


@dataclass
class Block:
    """A stretch of a config file: the lines before the first section, or one section.

    For a section orgiam wrote, ``lines`` runs from its header to its last setting and ``trailing`` holds the
    blank and comment lines after it, which belong to whatever follows and stay when the section goes."""

    header: str | None
    lines: list[str]
    trailing: list[str] = field(default_factory=list)
    managed_for: str | None = None  # the person of its marker; None when orgiam did not write it
    stub: bool = False

    @property
    def managed(self) -> bool:
        return self.managed_for is not None or self.stub


@dataclass
class MergeResult:
    text: str
    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # sections of the same name orgiam did not write: left as they are

    @property
    def changed(self) -> bool:
        return bool(self.added or self.replaced or self.removed)


def _header_of(line: str) -> str | None:
    text = line.strip()
    if text.startswith("[") and "]" in text:
        return " ".join(text[1:text.index("]")].split())
    return None


def _is_trivia(line: str) -> bool:
    text = line.strip()
    return not text or text.startswith(("#", ";"))


def parse_blocks(text: str) -> list[Block]:
    """The file cut into blocks; joining every block's lines and trailing lines gives the text back."""
    blocks = [Block(None, [])]
    for line in text.splitlines(keepends=True):
        header = _header_of(line)
        if header is not None:
            blocks.append(Block(header, []))
        blocks[-1].lines.append(line)
    for block in blocks[1:]:
        markers = [line.strip() for line in block.lines if line.strip().startswith(MARKER)]
        if not markers:
            continue
        block.stub = markers[0] == STUB_MARKER
        block.managed_for = None if block.stub else markers[0][len(MARKER):].removeprefix(" for ").strip()
        while len(block.lines) > 1 and _is_trivia(block.lines[-1]) and not block.lines[-1].strip().startswith(MARKER):
            block.trailing.insert(0, block.lines.pop())
    return blocks


def _newline_of(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\n"


def merge(existing: str, sections: list[Section], person: str) -> MergeResult:
    """``existing`` with ``person``'s profiles: orgiam's earlier sections of the same name replaced in place, those
    of this person that are no longer wanted removed, new ones appended; every other line kept as it was.

    A section of the same name that orgiam did not write is kept and orgiam's left out (``kept``); a source
    profile (stub) already in the file is left as it is."""
    newline = _newline_of(existing)
    wanted = {s.header: s for s in sections}
    result = MergeResult("")
    done: set[str] = set()
    out: list[str] = []
    for block in parse_blocks(existing):
        section = wanted.get(block.header) if block.header else None
        if block.header is None or not block.managed or (block.stub and section is None):
            if section is not None and block.header not in done:
                done.add(block.header)
                (result.unchanged if section.stub else result.kept).append(block.header)
            out += block.lines + block.trailing
            continue
        if section is not None and block.header not in done:
            done.add(block.header)
            text = render_section(section, person, newline)
            if block.stub or "".join(block.lines) == text:
                out += block.lines
                result.unchanged.append(block.header)
            else:
                out.append(text)
                result.replaced.append(block.header)
        elif block.managed_for == person or section is not None:
            result.removed.append(str(block.header))  # a role this person lost, or a second copy of one
        else:
            out += block.lines  # another person's profile: theirs to keep
        out += block.trailing
    new = [s for s in sections if s.header not in done]
    text = "".join(out)
    if new:
        if text and not text.endswith(("\n", "\r")):
            text += newline
        if text.strip() and not text.endswith(newline * 2):
            text += newline
        text += newline.join(render_section(s, person, newline) for s in new)
        result.added = [s.header for s in new]
    result.text = text
    return result


# ---------------------------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------------------------


def read_text(path: str) -> str:
    with open(path, encoding="utf-8", newline="") as handle:
        return handle.read()


def write_text(path: str, text: str, mode: int = 0o600) -> None:
    """Replace the file in one step (a config half written would break every AWS command)."""
    directory = os.path.dirname(path) or "."
    os.makedirs(directory, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=directory, prefix=".orgiam-profiles-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def file_name(person: str) -> str:
    """A file name for the person's fragment: their name with anything but [A-Za-z0-9_.@+=,-] made a hyphen."""
    return re.sub(r"[^A-Za-z0-9_.@+=,-]+", "-", person).strip("-.") or "person"


def backup_path(path: str, now: datetime | None = None) -> str:
    """PATH.orgiam-backup-<UTC timestamp>, with a counter when that name is taken."""
    stamp = (now or datetime.now(timezone.utc)).strftime("%Y%m%dT%H%M%SZ")
    candidate = f"{path}.orgiam-backup-{stamp}"
    number = 1
    while os.path.exists(candidate):
        number += 1
        candidate = f"{path}.orgiam-backup-{stamp}-{number}"
    return candidate


def merge_into_file(path: str, sections: list[Section], person: str, write: bool = True,
                    now: datetime | None = None) -> tuple[MergeResult, str, str]:
    """Merge into the file at path: (result, the text before, the backup's path or "").

    The file is backed up byte for byte before it is replaced, and neither happens when nothing changes or
    ``write`` is false (check mode)."""
    before = read_text(path)
    result = merge(before, sections, person)
    backup = ""
    if write and result.changed and result.text != before:
        backup = backup_path(path, now)
        mode = os.stat(path).st_mode & 0o777
        write_text(backup, before, mode)
        write_text(path, result.text, mode)
    return result, before, backup
