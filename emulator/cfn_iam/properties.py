"""Reading CloudFormation IAM resource properties into the shapes moto's IAM backend takes."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

Properties = dict[str, Any]


def policy_document(document: Any) -> str:
    """A policy document as IAM stores it: JSON text (templates give dicts or strings)."""
    return document if isinstance(document, str) else json.dumps(document)


def same_document(left: str, right: str) -> bool:
    """Two policy documents are the same when they parse to the same JSON (whitespace and key order aside)."""
    try:
        return bool(json.loads(left) == json.loads(right))
    except ValueError:
        return left == right


def string_list(value: Any) -> list[str]:
    """A list of names or ARNs, in template order, without repeats."""
    if value is None:
        return []
    items = [value] if isinstance(value, str) else list(value)
    return list(dict.fromkeys(str(item) for item in items))


def inline_policies(properties: Properties) -> dict[str, str]:
    """``Policies``: policy name -> document."""
    return {str(p["PolicyName"]): policy_document(p["PolicyDocument"]) for p in properties.get("Policies") or []}


def tags(properties: Properties) -> dict[str, str]:
    """``Tags``: key -> value."""
    return {str(t["Key"]): str(t["Value"]) for t in properties.get("Tags") or []}


def tag_list(tag_map: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in tag_map.items()]


def as_bool(value: Any, default: bool = False) -> bool:
    if value is None:
        return default
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)


def path(properties: Properties) -> str:
    return str(properties.get("Path") or "/")


def removed(old: Iterable[str], new: Iterable[str]) -> list[str]:
    """What ``old`` had and ``new`` does not, in ``old``'s order."""
    keep = set(new)
    return [item for item in old if item not in keep]
