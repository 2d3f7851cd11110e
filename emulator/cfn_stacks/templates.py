"""Templates as CloudFormation takes them: size limits, where a TemplateURL points, references between
resources (for the order of operations and for the errors CloudFormation answers before it starts)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlparse

from moto.cloudformation.exceptions import ValidationError
from moto.cloudformation.models import ChangeSet, Stack
from moto.cloudformation.utils import get_stack_from_s3_url

TEMPLATE_BODY_MAX_BYTES = 51_200
TEMPLATE_URL_MAX_BYTES = 1_000_000
PSEUDO_PARAMETERS = frozenset({
    "AWS::AccountId", "AWS::NotificationARNs", "AWS::NoValue", "AWS::Partition", "AWS::Region",
    "AWS::StackId", "AWS::StackName", "AWS::URLSuffix",
})
_SUB_VARIABLE = re.compile(r"\$\{([^!}][^}]*)\}")


def _json_first(parse: Any) -> Any:
    """moto reads every template as YAML first, which takes seconds for a large JSON template."""

    def parse_template(template: str) -> Any:
        if isinstance(template, str) and template.lstrip().startswith("{"):
            try:
                return json.loads(template)
            except ValueError:
                pass  # YAML in flow style: moto's parser takes it
        return parse(template)

    parse_template.__wrapped_by_orgiam__ = True  # type: ignore[attr-defined]
    return parse_template


def _change_set_parse_template(self: Any) -> None:
    self.template_dict = Stack.parse_template(self.template)


def install() -> None:
    if not getattr(Stack.parse_template, "__wrapped_by_orgiam__", False):
        Stack.parse_template = staticmethod(_json_first(Stack.parse_template))  # type: ignore[method-assign]
    ChangeSet._parse_template = _change_set_parse_template  # type: ignore[method-assign]


def parse_template(text: Any) -> dict[str, Any]:
    """A template body as moto reads it (YAML, which includes JSON), or CloudFormation's format error."""
    if isinstance(text, dict):
        return text
    try:
        template = Stack.parse_template(text)
    except Exception:
        template = None
    if not isinstance(template, dict):
        raise ValidationError(message="Template format error: unsupported structure.")
    if "Resources" not in template:
        raise ValidationError(message="Template format error: At least one Resources member must be defined.")
    return template


def check_body_size(body: str) -> None:
    if len(body.encode("utf-8")) > TEMPLATE_BODY_MAX_BYTES:
        raise ValidationError(message=(
            "1 validation error detected: Value at 'templateBody' failed to satisfy constraint: "
            f"Member must have length less than or equal to {TEMPLATE_BODY_MAX_BYTES}"
        ))


def template_from_url(url: str, account_id: str, partition: str) -> str:
    """The template a TemplateURL names, from the emulator's S3 (any account whose bucket has that name)."""
    parsed = urlparse(url)
    if parsed.scheme not in ("https", "http") or not parsed.netloc:
        raise ValidationError(message="TemplateURL must be a supported URL.")
    try:
        body = get_stack_from_s3_url(url, account_id=account_id, partition=partition)
    except Exception:  # no such bucket or key: moto answers with S3's error or fails on a missing key
        raise ValidationError(message="TemplateURL must reference a valid S3 object to which you have access.")
    if len(body.encode("utf-8")) > TEMPLATE_URL_MAX_BYTES:
        raise ValidationError(message=f"Template may not exceed {TEMPLATE_URL_MAX_BYTES} bytes in size.")
    return body


def references(node: Any) -> set[str]:
    """Names a template fragment refers to: ``Ref``, ``Fn::GetAtt`` and ``${Name}`` in ``Fn::Sub``."""
    found: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, list):
            for item in value:
                walk(item)
            return
        if not isinstance(value, dict):
            return
        for key, inner in value.items():
            if key == "Ref" and isinstance(inner, str):
                found.add(inner)
            elif key == "Fn::GetAtt":
                target = inner[0] if isinstance(inner, list) and inner else inner
                if isinstance(target, str):
                    found.add(target.split(".", 1)[0])
            elif key == "Fn::Sub":
                text, variables = (inner[0], inner[1]) if isinstance(inner, list) and len(inner) == 2 else (inner, {})
                if isinstance(text, str):
                    for name in _SUB_VARIABLE.findall(text):
                        name = name.strip().split(".", 1)[0]
                        if not isinstance(variables, dict) or name not in variables:
                            found.add(name)
                else:
                    walk(text)
                walk(variables)
            else:
                walk(inner)

    walk(node)
    return found


def depends_on(resource: dict[str, Any]) -> list[str]:
    value = resource.get("DependsOn") or []
    return [value] if isinstance(value, str) else [str(v) for v in value]


def dependency_order(resources: dict[str, Any]) -> list[str]:
    """Logical ids with every resource after those it depends on or refers to (template order otherwise)."""
    order: list[str] = []
    state: dict[str, str] = {}

    def visit(name: str) -> None:
        if name in state:
            return
        state[name] = "visiting"
        body = resources[name] if isinstance(resources[name], dict) else {}
        wanted = depends_on(body) + sorted(references({k: v for k, v in body.items() if k != "DependsOn"}))
        for dependency in wanted:
            if dependency in resources and dependency != name:
                visit(dependency)
        state[name] = "done"
        order.append(name)

    for name in resources:
        visit(name)
    return order


def check_references(template: dict[str, Any]) -> None:
    """CloudFormation's answer before it starts, for a reference to something the template lacks."""
    resources = template.get("Resources") or {}
    if not isinstance(resources, dict):
        return
    known = set(resources) | set(template.get("Parameters") or {}) | PSEUDO_PARAMETERS
    for block, entries in (("Resources", resources), ("Outputs", template.get("Outputs") or {})):
        if not isinstance(entries, dict):
            continue
        missing: set[str] = set()
        for body in entries.values():
            if not isinstance(body, dict):
                continue
            if block == "Resources":
                missing.update(name for name in depends_on(body) if name not in resources)
            missing.update(name for name in references({k: v for k, v in body.items() if k != "DependsOn"})
                           if name not in known)
        if missing:
            raise ValidationError(message=(
                f"Template format error: Unresolved resource dependencies [{', '.join(sorted(missing))}] "
                f"in the {block} block of the template"
            ))


def in_order(names: Iterable[str], order: list[str]) -> list[str]:
    wanted = set(names)
    return [name for name in order if name in wanted]
