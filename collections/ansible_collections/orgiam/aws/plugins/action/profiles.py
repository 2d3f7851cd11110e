# -*- coding: utf-8 -*-
# Copyright: orgiam developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller-side action for orgiam.aws.profiles: one person's AWS CLI profiles, from the access document read
from what is deployed (or from a saved access.json), written as a fragment or merged into their config file
(module_utils/report/profiles.py). It only reads AWS."""

from __future__ import annotations

import json
import os
from typing import Any

from ansible.utils.display import Display

from ansible_collections.orgiam.aws.plugins.module_utils.argspecs import PROFILES_SPEC
from ansible_collections.orgiam.aws.plugins.module_utils.aws.errors import AwsAccessError
from ansible_collections.orgiam.aws.plugins.module_utils.aws.session import region_from_environment
from ansible_collections.orgiam.aws.plugins.module_utils.catalog import CatalogError
from ansible_collections.orgiam.aws.plugins.module_utils.report.profiles import (
    ProfilesError,
    Section,
    file_name,
    find_person,
    merge_into_file,
    profiles_for,
    read_text,
    render,
    write_text,
)
from ansible_collections.orgiam.aws.plugins.plugin_utils.action import OrgiamAction
from ansible_collections.orgiam.aws.plugins.plugin_utils.inventory import (
    OrganizationInputError,
    organization_from_task_vars,
    read_access,
    settings_for,
)

display = Display()


class ActionModule(OrgiamAction):
    SPEC = PROFILES_SPEC
    NAME = "orgiam.aws.profiles"

    def run_orgiam(self, result: dict[str, Any], args: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
        person = str(args["person"] or "").strip()
        if not person:
            return dict(result, failed=True, msg="orgiam profiles: name the person: -e person=<user name or group name>")
        try:
            document, home_region = self.access_document(args, task_vars)
            sections = profiles_for(document, person, str(args["profile_region"] or home_region), str(args["central_profile"]))
            principal_type, name = find_person(document, person)
        except (OrganizationInputError, ProfilesError) as exc:
            return dict(result, failed=True, msg=str(exc))
        except (AwsAccessError, CatalogError) as exc:
            return dict(result, failed=True, msg=f"orgiam profiles: who has access could not be read: {exc}")
        except (OSError, ValueError) as exc:  # a saved access file that is missing or not JSON
            return dict(result, failed=True, msg=f"orgiam profiles: {args['access_file']} cannot be used: {exc}")
        check = bool(self._task.check_mode)
        if args["profiles_file"]:
            path = os.path.expanduser(str(args["profiles_file"]))
            if os.path.exists(path) and not args["merge"]:
                return dict(result, failed=True, msg=(
                    f"orgiam profiles: {path} exists; nothing was written. Pass -e profiles_merge=true to merge into it "
                    "(it is backed up first; only the sections orgiam wrote are replaced), or leave profiles_file out "
                    "to write a fragment under out/profiles/"))
        else:
            path = os.path.join(os.path.expanduser(str(args["profiles_dir"])), file_name(name) + ".config")
        outcome = self.write(path, sections, name, principal_type, bool(args["merge"]), check)
        for line in self.lines(outcome, sections, name, path, check):
            display.display(line)
        result.update(
            changed=outcome["changed"],
            profiles_file=path,
            backup_file=outcome["backup"],
            person={"type": principal_type, "name": name},
            mode=document.get("mode", ""),
            profiles=[{"profile": s.name, "account_id": s.account_id, "account_name": s.account_name, "role": s.role}
                      for s in sections if s.kind == "profile" and not s.stub],
            sections_added=outcome["added"],
            sections_replaced=outcome["replaced"],
            sections_removed=outcome["removed"],
            sections_kept=outcome["kept"],
        )
        if self._task.diff and outcome["changed"]:
            result["diff"] = {"before": outcome["before"], "after": outcome["after"],
                              "before_header": path, "after_header": path}
        return result

    def access_document(self, args: dict[str, Any], task_vars: dict[str, Any]) -> tuple[dict[str, Any], str]:
        """The access document and the region for the profiles: from the saved file, else read from AWS."""
        if args["access_file"]:
            with open(os.path.expanduser(str(args["access_file"])), encoding="utf-8") as handle:
                return json.load(handle), region_from_environment(args.get("region"))
        organization = organization_from_task_vars(task_vars, os.path.expanduser(str(args["catalog"])), writes=False)
        settings = settings_for(self.aws_settings, args, organization)
        return read_access(settings, organization, source="profiles"), settings.region

    @staticmethod
    def write(path: str, sections: list[Section], person: str, principal_type: str, merge: bool,
              check: bool) -> dict[str, Any]:
        """Write the fragment, a new file, or merge into the existing one (nothing is written in check mode)."""
        headers = [s.header for s in sections]
        if merge and os.path.exists(path):
            merged, before, backup = merge_into_file(path, sections, person, write=not check)
            return {"changed": merged.changed and merged.text != before, "before": before, "after": merged.text,
                    "backup": backup, "added": merged.added, "replaced": merged.replaced, "removed": merged.removed,
                    "kept": merged.kept}
        what = "user" if principal_type == "user" else "group"
        title = (f"AWS CLI profiles of {what} {person}, written by orgiam from what is deployed:\n"
                 f"  ansible-playbook playbooks/profiles.yml -e person={person}\n"
                 "Include it in ~/.aws/config (copy it there, or merge with -e profiles_file=~/.aws/config "
                 "-e profiles_merge=true).")
        text = render(sections, person, title)
        before = read_text(path) if os.path.exists(path) else ""
        if not check and text != before:
            write_text(path, text, 0o600)
        return {"changed": text != before, "before": before, "after": text, "backup": "", "added": headers,
                "replaced": [], "removed": [], "kept": []}

    @staticmethod
    def lines(outcome: dict[str, Any], sections: list[Section], person: str, path: str, check: bool) -> list[str]:
        profiles = [s for s in sections if s.kind == "profile" and not s.stub]
        verb = "would write" if check else "wrote"
        lines = [f"orgiam profiles: {len(profiles)} profile(s) for {person}; {verb} {path}"
                 + ("" if outcome["changed"] else " (already up to date)")]
        lines += [f"  {s.name}: {s.role} in {s.account_name} ({s.account_id})" for s in profiles]
        if outcome["backup"]:
            lines.append(f"  the file as it was: {outcome['backup']}")
        lines += [f"  removed [{header}]: {person} no longer has that access" for header in outcome["removed"]]
        lines += [f"  kept your own [{header}]: orgiam's profile of that name was not written" for header in outcome["kept"]]
        if not profiles:
            lines.append(f"  {person} has no access path today")
        return lines
