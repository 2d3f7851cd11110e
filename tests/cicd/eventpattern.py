"""EventBridge event pattern matching, for testing rules without AWS (moto's TestEventPattern is a stub).

Semantics, as EventBridge documents them:

- every field of the pattern must match (AND); a pattern object nests into the event object;
- a leaf is an array of matchers, any of which may match (OR); an event value that is an array matches
  when any of its elements does;
- matchers: a string, number (compared as numbers), boolean or null equal to the value; and the objects
  ``prefix``, ``suffix``, ``equals-ignore-case``, ``anything-but`` (a value, a list, or a ``prefix``,
  ``suffix`` or ``equals-ignore-case`` object), ``numeric`` (``[op, value, ...]``), ``exists``
  (true/false), ``cidr`` and ``wildcard``;
- ``exists: false`` matches a field that is absent; every other matcher needs the field present;
- ``$or``: an array of patterns, any of which may match, in place of fields of the enclosing object.

``validate`` rejects what EventBridge rejects: a leaf that is not an array, an empty array, an unknown
matcher.
"""

from __future__ import annotations

import ipaddress
import operator
import re
from typing import Any

_MISSING = object()
_NUMERIC_OPERATORS = {"<": operator.lt, "<=": operator.le, "=": operator.eq, ">=": operator.ge, ">": operator.gt}
_MATCHERS = ("prefix", "suffix", "equals-ignore-case", "anything-but", "numeric", "exists", "cidr", "wildcard")


class InvalidEventPattern(ValueError):
    pass


def validate(pattern: Any, path: str = "") -> None:
    if not isinstance(pattern, dict) or not pattern:
        raise InvalidEventPattern(f"{path or 'pattern'}: must be a non-empty object")
    for key, value in pattern.items():
        where = f"{path}.{key}" if path else key
        if key == "$or":
            if not isinstance(value, list) or len(value) < 2:
                raise InvalidEventPattern(f"{where}: $or takes an array of two patterns or more")
            for index, alternative in enumerate(value):
                validate(alternative, f"{where}[{index}]")
        elif isinstance(value, dict):
            validate(value, where)
        elif isinstance(value, list):
            if not value:
                raise InvalidEventPattern(f"{where}: empty arrays are not allowed")
            for matcher in value:
                if isinstance(matcher, dict):
                    if len(matcher) != 1 or next(iter(matcher)) not in _MATCHERS:
                        raise InvalidEventPattern(f"{where}: unknown matcher {matcher}")
                elif isinstance(matcher, list):
                    raise InvalidEventPattern(f"{where}: a matcher cannot be an array")
        else:
            raise InvalidEventPattern(f"{where}: must be an object or an array")


def matches(pattern: dict[str, Any], event: dict[str, Any]) -> bool:
    """Whether ``event`` matches ``pattern`` (``validate`` it first for EventBridge's errors)."""
    return _object_matches(pattern, event)


def _object_matches(pattern: dict[str, Any], value: Any) -> bool:
    node = value if isinstance(value, dict) else {}
    for key, expected in pattern.items():
        if key == "$or":
            if not any(_object_matches(alternative, node) for alternative in expected):
                return False
            continue
        actual = node.get(key, _MISSING)
        if isinstance(expected, dict):
            if not _object_matches(expected, actual if actual is not _MISSING else {}):
                return False
        elif not _leaf_matches(expected, actual):
            return False
    return True


def _leaf_matches(matchers: list[Any], actual: Any) -> bool:
    if isinstance(actual, list):
        values = actual
    elif actual is _MISSING:
        values = []
    else:
        values = [actual]
    for matcher in matchers:
        if isinstance(matcher, dict) and "exists" in matcher:
            present = actual is not _MISSING and not isinstance(actual, dict)
            if present == bool(matcher["exists"]):
                return True
            continue
        if any(_value_matches(matcher, value) for value in values):
            return True
    return False


def _equal(expected: Any, value: Any) -> bool:
    if isinstance(expected, bool) or isinstance(value, bool):
        return isinstance(expected, bool) and isinstance(value, bool) and expected == value
    if isinstance(expected, (int, float)) and isinstance(value, (int, float)):
        return float(expected) == float(value)
    return type(expected) is type(value) and expected == value


def _string_test(kind: str, expected: Any, value: Any) -> bool:
    if not isinstance(value, str):
        return False
    if isinstance(expected, dict) and "equals-ignore-case" in expected:
        expected, value = str(expected["equals-ignore-case"]).lower(), value.lower()
    if kind == "prefix":
        return value.startswith(expected)
    if kind == "suffix":
        return value.endswith(expected)
    return value.lower() == str(expected).lower()  # equals-ignore-case


def _value_matches(matcher: Any, value: Any) -> bool:
    if not isinstance(matcher, dict):
        return _equal(matcher, value)
    kind, expected = next(iter(matcher.items()))
    if kind in ("prefix", "suffix", "equals-ignore-case"):
        return _string_test(kind, expected, value)
    if kind == "anything-but":
        if isinstance(expected, dict):
            inner_kind, inner = next(iter(expected.items()))
            options = inner if isinstance(inner, list) else [inner]
            return isinstance(value, str) and not any(_string_test(inner_kind, o, value) for o in options)
        options = expected if isinstance(expected, list) else [expected]
        return not any(_equal(option, value) for option in options)
    if kind == "numeric":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        pairs = list(zip(expected[::2], expected[1::2]))
        return all(_NUMERIC_OPERATORS[op](float(value), float(bound)) for op, bound in pairs)
    if kind == "cidr":
        try:
            return ipaddress.ip_address(value) in ipaddress.ip_network(expected, strict=False)
        except (TypeError, ValueError):
            return False
    if kind == "wildcard":
        # only * is special (EventBridge has no ? or [...] in wildcards)
        regex = ".*".join(re.escape(part) for part in str(expected).split("*"))
        return isinstance(value, str) and re.fullmatch(regex, value, re.S) is not None
    raise InvalidEventPattern(f"unknown matcher {matcher}")
