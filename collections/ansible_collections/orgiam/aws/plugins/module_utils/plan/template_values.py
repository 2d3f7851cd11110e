# -*- coding: utf-8 -*-
# Copyright: orgiam developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A CloudFormation template as CloudFormation makes it in one account: parameters, pseudo parameters,
``Fn::Sub``, conditions and the other functions it evaluates before it creates anything, resolved.

Pure. ``resolve_template`` takes a template as data (``render/bootstrap.py`` ``parse_template`` reads the
YAML, short forms made long), the stack's parameter values (the template's defaults fill the rest), and
the account, region and partition. It returns the template with

- ``Ref`` to a parameter or a pseudo parameter replaced by its value (``AWS::NoValue`` removes the
  property or list item it stands for);
- ``Fn::Sub`` (``"text"`` and ``["text", {vars}]``), ``Fn::Join``, ``Fn::Select``, ``Fn::Split``,
  ``Fn::FindInMap`` and ``Fn::Base64`` evaluated wherever their arguments are known;
- ``Fn::If`` evaluated, and with it the ``Conditions`` (``Fn::Equals``, ``Fn::And``, ``Fn::Or``,
  ``Fn::Not``, ``Condition``); resources and outputs whose ``Condition`` is false left out, the others
  without their ``Condition``, and no ``Conditions`` section;
- ``Ref`` and ``Fn::GetAtt`` to resources, and whatever depends on them (a ``${Resource}`` in a
  ``Fn::Sub``), left as they are: only CloudFormation knows what it made. ``plan/drift.py``
  ``expected_state`` resolves the references it needs (a role's name, a managed policy's ARN).

Why here, in ``plan/``, and not in ``render/``: ``render/`` makes the templates orgiam deploys; this
evaluates a template that is deployed (or about to be), the way CloudFormation does in one account, so
that ``plan/drift.py`` can say what each resource must be there: it is the first half of that comparison,
and pure like the rest of ``plan/``. (``module_utils/resolve.py`` already names another step: which roles
each account gets.)

A template this cannot evaluate (an unknown condition, a ``Transform``, a parameter without value or
default) raises :class:`TemplateValueError`.
"""

from __future__ import annotations

import base64
import re
from typing import Any

_SUB = re.compile(r"\$\{([^}]*)\}")
NO_VALUE = object()  # what Ref AWS::NoValue stands for: the property or item is left out
URL_SUFFIX = {"aws-cn": "amazonaws.com.cn", "aws-iso": "c2s.ic.gov", "aws-iso-b": "sc2s.sgov.gov"}
# sections kept as they are; "Conditions" is evaluated away, resources and outputs are resolved
_RESOLVED = ("Resources", "Outputs")
_DROPPED = ("Conditions",)


class TemplateValueError(ValueError):
    """The template cannot be evaluated as CloudFormation would (says why)."""


def url_suffix(partition: str) -> str:
    return URL_SUFFIX.get(partition, "amazonaws.com")


def pseudo_parameters(account_id: str, region: str, partition: str = "aws", stack_name: str = "",
                      stack_id: str = "") -> dict[str, Any]:
    """The pseudo parameters known in one account and region (``AWS::StackName``/``StackId`` when given)."""
    known: dict[str, Any] = {
        "AWS::AccountId": account_id,
        "AWS::Region": region,
        "AWS::Partition": partition,
        "AWS::URLSuffix": url_suffix(partition),
        "AWS::NoValue": NO_VALUE,
    }
    if stack_name:
        known["AWS::StackName"] = stack_name
    if stack_id:
        known["AWS::StackId"] = stack_id
    return known


def parameter_values(template: dict[str, Any], given: dict[str, str]) -> dict[str, Any]:
    """The value of every parameter the template declares: the one given, else its default.

    List types (``CommaDelimitedList``, ``List<...>``) become lists, as ``Ref`` gives them. A parameter whose
    value CloudFormation does not show (``NoEcho``, shown as ``****``) or resolves elsewhere (SSM parameter
    types) is left out: a ``Ref`` to it stays as written."""
    values: dict[str, Any] = {}
    for name, spec in (template.get("Parameters") or {}).items():
        spec = spec if isinstance(spec, dict) else {}
        kind = str(spec.get("Type", "String"))
        if name in given:
            raw = given[name]
        elif "Default" in spec:
            raw = _text(spec["Default"])
        else:
            raise TemplateValueError(f"parameter {name} has no value and no default")
        if kind.startswith("AWS::SSM::Parameter::") or (spec.get("NoEcho") and raw == "****"):
            continue
        raw = _text(raw)
        if kind == "CommaDelimitedList" or kind.startswith("List<"):
            values[name] = [item.strip() for item in raw.split(",")]
        else:
            values[name] = raw
    return values


def resolve_template(
    template: dict[str, Any],
    parameters: dict[str, str],
    account_id: str,
    region: str,
    partition: str = "aws",
    stack_name: str = "",
    stack_id: str = "",
) -> dict[str, Any]:
    """The template as CloudFormation makes it in ``account_id`` and ``region`` (see the module's text)."""
    if template.get("Transform"):
        raise TemplateValueError(f"the template has a Transform ({template['Transform']}); only CloudFormation expands it")
    resolver = _Resolver(template, parameter_values(template, parameters),
                         pseudo_parameters(account_id, region, partition, stack_name, stack_id))
    resolved: dict[str, Any] = {}
    for section, content in template.items():
        if section in _DROPPED:
            continue
        if section in _RESOLVED and isinstance(content, dict):
            resolved[section] = resolver.section(content)
        else:
            resolved[section] = content
    return resolved


def evaluated_conditions(template: dict[str, Any], parameters: dict[str, str], account_id: str, region: str,
                         partition: str = "aws") -> dict[str, bool]:
    """Every condition of the template, evaluated in one account and region (for people and tests)."""
    resolver = _Resolver(template, parameter_values(template, parameters), pseudo_parameters(account_id, region, partition))
    return {name: resolver.condition(name) for name in (template.get("Conditions") or {})}


def is_resolved(value: Any) -> bool:
    """Whether ``value`` holds no intrinsic function any more (no ``Ref``, no ``Fn::...``)."""
    if isinstance(value, list):
        return all(is_resolved(item) for item in value)
    if isinstance(value, dict):
        if len(value) == 1 and _is_function(next(iter(value))):
            return False
        return all(is_resolved(item) for item in value.values())
    return True


def _is_function(key: Any) -> bool:
    return isinstance(key, str) and (key == "Ref" or key.startswith("Fn::"))


def _text(value: Any) -> str:
    """A scalar as CloudFormation reads it: YAML's true/false are the strings "true"/"false"."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _scalar(value: Any) -> str | None:
    """A value usable inside a string (Fn::Sub, Fn::Join, Fn::Equals), or None when it is not one."""
    if isinstance(value, str):
        return value
    if isinstance(value, (bool, int, float)):
        return _text(value)
    return None


class _Resolver:
    def __init__(self, template: dict[str, Any], values: dict[str, Any], pseudo: dict[str, Any]) -> None:
        self.values = values
        self.pseudo = pseudo
        self.mappings = template.get("Mappings") or {}
        self.definitions = template.get("Conditions") or {}
        self.conditions: dict[str, bool] = {}
        self.evaluating: set[str] = set()
        self.functions = {
            "Ref": self.ref,
            "Fn::Sub": self.sub,
            "Fn::If": self.if_,
            "Fn::Join": self.join,
            "Fn::Select": self.select,
            "Fn::Split": self.split,
            "Fn::FindInMap": self.find_in_map,
            "Fn::Base64": self.base64,
            "Fn::GetAtt": lambda argument, node: node,  # a resource's attribute: only CloudFormation knows it
        }

    # --- sections ---

    def section(self, entries: dict[str, Any]) -> dict[str, Any]:
        """Resources or Outputs: those whose condition is false left out, the others resolved."""
        kept = {}
        for logical_id, entry in entries.items():
            if not isinstance(entry, dict):
                kept[logical_id] = entry
                continue
            if "Condition" in entry and not self.condition(entry["Condition"]):
                continue
            kept[logical_id] = self.resolve({key: value for key, value in entry.items() if key != "Condition"})
        return kept

    # --- conditions ---

    def condition(self, name: Any) -> bool:
        if not isinstance(name, str) or name not in self.definitions:
            raise TemplateValueError(f"condition {name!r} is not defined in Conditions")
        if name not in self.conditions:
            if name in self.evaluating:
                raise TemplateValueError(f"condition {name} refers to itself")
            self.evaluating.add(name)
            try:
                self.conditions[name] = self.truth(self.definitions[name], name)
            finally:
                self.evaluating.discard(name)
        return self.conditions[name]

    def truth(self, node: Any, where: str) -> bool:
        if isinstance(node, bool):
            return node
        if isinstance(node, dict) and len(node) == 1:
            (function, argument), = node.items()
            if function == "Condition":
                return self.condition(argument)
            if function == "Fn::Equals" and isinstance(argument, list) and len(argument) == 2:
                left, right = (_scalar(self.resolve(side)) for side in argument)
                if left is None or right is None:
                    raise TemplateValueError(f"condition {where}: Fn::Equals of values that are not known before deployment")
                return left == right
            if function in ("Fn::And", "Fn::Or") and isinstance(argument, list) and argument:
                found = [self.truth(item, where) for item in argument]
                return all(found) if function == "Fn::And" else any(found)
            if function == "Fn::Not" and isinstance(argument, list) and len(argument) == 1:
                return not self.truth(argument[0], where)
        raise TemplateValueError(f"condition {where}: cannot evaluate {node!r}")

    # --- values ---

    def resolve(self, node: Any) -> Any:
        if isinstance(node, list):
            items = [self.resolve(item) for item in node]
            return [item for item in items if item is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            (function, argument), = node.items()
            handler = self.functions.get(function)
            if handler is not None:
                return handler(argument, node)
            if _is_function(function):  # one CloudFormation evaluates after creating (Fn::ImportValue, ...)
                return {function: self.resolve(argument)}
        resolved = {key: self.resolve(value) for key, value in node.items()}
        return {key: value for key, value in resolved.items() if value is not NO_VALUE}

    def ref(self, argument: Any, node: dict[str, Any]) -> Any:
        if isinstance(argument, str):
            if argument in self.values:
                return self.values[argument]
            if argument in self.pseudo:
                return self.pseudo[argument]
        return node  # a resource (or a value CloudFormation does not show)

    def sub(self, argument: Any, node: dict[str, Any]) -> Any:
        if isinstance(argument, str):
            text, variables = argument, {}
        elif isinstance(argument, list) and 1 <= len(argument) <= 2 and isinstance(argument[0], str):
            text = argument[0]
            variables = argument[1] if len(argument) == 2 else {}
            if not isinstance(variables, dict):
                return node
        else:
            return node
        local = {name: self.resolve(value) for name, value in variables.items()}
        kept: dict[str, Any] = {}  # variables whose value is not known: they stay in the Fn::Sub
        plain, escaped, unresolved = [], [], False
        position = 0
        for match in _SUB.finditer(text):
            plain.append(text[position:match.start()])
            escaped.append(text[position:match.start()])
            position = match.end()
            name = match.group(1)
            if name.startswith("!"):  # ${!Literal} is the text ${Literal}
                plain.append("${" + name[1:] + "}")
                escaped.append(match.group(0))
                continue
            value = self._sub_value(name, local)
            if value is None:
                unresolved = True
                plain.append(match.group(0))
                escaped.append(match.group(0))
                if name in local:
                    kept[name] = local[name]
                continue
            plain.append(value)
            escaped.append(value.replace("${", "${!"))
        plain.append(text[position:])
        escaped.append(text[position:])
        if not unresolved:
            return "".join(plain)
        remaining = "".join(escaped)
        return {"Fn::Sub": [remaining, kept] if kept else remaining}

    def _sub_value(self, name: str, local: dict[str, Any]) -> str | None:
        if name in local:
            return _scalar(local[name])
        if name in self.values:
            return _scalar(self.values[name])
        if name in self.pseudo and self.pseudo[name] is not NO_VALUE:
            return _scalar(self.pseudo[name])
        return None  # a resource, or its attribute (${Role.Arn})

    def if_(self, argument: Any, node: dict[str, Any]) -> Any:
        if not (isinstance(argument, list) and len(argument) == 3):
            raise TemplateValueError(f"Fn::If takes [condition, value if true, value if false], not {argument!r}")
        return self.resolve(argument[1] if self.condition(argument[0]) else argument[2])

    def join(self, argument: Any, node: dict[str, Any]) -> Any:
        resolved = self.resolve(argument)
        if isinstance(resolved, list) and len(resolved) == 2 and isinstance(resolved[0], str) and isinstance(resolved[1], list):
            parts = [_scalar(item) for item in resolved[1]]
            if all(part is not None for part in parts):
                return resolved[0].join(part for part in parts if part is not None)
        return {"Fn::Join": resolved}

    def select(self, argument: Any, node: dict[str, Any]) -> Any:
        resolved = self.resolve(argument)
        if isinstance(resolved, list) and len(resolved) == 2 and isinstance(resolved[1], list) and is_resolved(resolved[1]):
            try:
                index = int(resolved[0])
            except (TypeError, ValueError):
                return {"Fn::Select": resolved}
            if 0 <= index < len(resolved[1]):
                return resolved[1][index]
            raise TemplateValueError(f"Fn::Select: index {index} is outside a list of {len(resolved[1])}")
        return {"Fn::Select": resolved}

    def split(self, argument: Any, node: dict[str, Any]) -> Any:
        resolved = self.resolve(argument)
        if isinstance(resolved, list) and len(resolved) == 2 and isinstance(resolved[0], str) and isinstance(resolved[1], str):
            return resolved[1].split(resolved[0])
        return {"Fn::Split": resolved}

    def find_in_map(self, argument: Any, node: dict[str, Any]) -> Any:
        resolved = self.resolve(argument)
        if isinstance(resolved, list) and len(resolved) == 3 and all(isinstance(key, str) for key in resolved):
            mapping, top, second = resolved
            try:
                return self.resolve(self.mappings[mapping][top][second])
            except (KeyError, TypeError):
                raise TemplateValueError(f"Fn::FindInMap: {mapping}/{top}/{second} is not in Mappings") from None
        return {"Fn::FindInMap": resolved}

    def base64(self, argument: Any, node: dict[str, Any]) -> Any:
        resolved = self.resolve(argument)
        if isinstance(resolved, str):
            return base64.b64encode(resolved.encode()).decode()
        return {"Fn::Base64": resolved}
