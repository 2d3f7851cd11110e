"""CloudFormation's dynamic references in string properties, which moto leaves as they are:

    {{resolve:secretsmanager:<secret name or ARN>[:SecretString[:<json key>[:<version stage>[:<version id>]]]]}}
    {{resolve:ssm:<parameter name>[:<version>]}}   and   {{resolve:ssm-secure:<parameter name>[:<version>]}}

A reference is resolved once its text is final: inside ``Fn::Sub`` (``{{resolve:secretsmanager:${Secret}}}``)
only after the substitution. A secret or parameter that does not exist fails the resource, as in AWS.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from typing import Any

from moto.cloudformation import parsing

_REFERENCE = re.compile(r"\{\{resolve:(secretsmanager|ssm-secure|ssm):([^{}]+)\}\}")


class DynamicReferenceError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = "ValidationError"


def resolve(text: str, account_id: str, region_name: str) -> str:
    def value(match: re.Match[str]) -> str:
        service, reference = match.group(1), match.group(2)
        if "${" in reference:  # the text of an Fn::Sub before its substitution
            return match.group(0)
        if service == "secretsmanager":
            return _secret_value(reference, account_id, region_name)
        return _parameter_value(reference, account_id, region_name)

    return _REFERENCE.sub(value, text)


def _secret_value(reference: str, account_id: str, region_name: str) -> str:
    from moto.secretsmanager.models import secretsmanager_backends

    parts = reference.split(":")
    if parts[0] == "arn" and len(parts) >= 7:
        secret_id, rest = ":".join(parts[:7]), parts[7:]
        region_name, account_id = parts[3] or region_name, parts[4] or account_id
    else:
        secret_id, rest = parts[0], parts[1:]
    rest += [""] * (4 - len(rest))
    value_kind, json_key, version_stage, version_id = rest[:4]
    if value_kind not in ("", "SecretString"):
        raise DynamicReferenceError(f"Invalid dynamic reference {{{{resolve:secretsmanager:{reference}}}}}: "
                                    "only SecretString can be referenced")
    backend = secretsmanager_backends[account_id][region_name]
    try:
        answer = backend.get_secret_value(secret_id, version_id or None, version_stage or None)
    except Exception:
        raise DynamicReferenceError(f"Secrets Manager can't find the specified secret {secret_id}.") from None
    secret_string = answer.get("SecretString")
    if secret_string is None:
        raise DynamicReferenceError(f"The secret {secret_id} has no SecretString.")
    if not json_key:
        return str(secret_string)
    try:
        return str(json.loads(secret_string)[json_key])
    except (ValueError, KeyError, TypeError):
        raise DynamicReferenceError(f"Could not find key {json_key} in the SecretString of {secret_id}.") from None


def _parameter_value(reference: str, account_id: str, region_name: str) -> str:
    from moto.ssm.models import ssm_backends

    name, _, version = reference.partition(":")
    backend = ssm_backends[account_id][region_name]
    try:
        parameter = backend.get_parameter(f"{name}:{version}" if version else name)
    except Exception:
        parameter = None
    if parameter is None:
        raise DynamicReferenceError(f"Parameter {name} not found.")
    return str(parameter.value)


def _resolving(clean_json: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    @functools.wraps(clean_json)
    def resolving_clean_json(resource_json: Any, resources_map: Any) -> Any:
        cleaned = clean_json(resource_json, resources_map)
        if isinstance(cleaned, str) and "{{resolve:" in cleaned:
            account_id = getattr(resources_map, "_account_id", None)
            region_name = getattr(resources_map, "_region_name", None)
            if account_id and region_name:
                return resolve(cleaned, account_id, region_name)
        return cleaned

    resolving_clean_json.__wrapped_by_orgiam__ = True  # type: ignore[attr-defined]
    return resolving_clean_json


def install() -> None:
    if not getattr(parsing.clean_json, "__wrapped_by_orgiam__", False):
        parsing.clean_json = _resolving(parsing.clean_json)
