# -*- coding: utf-8 -*-
# Copyright: orgiam developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Load YAML files into plain data while remembering the line of every value.

Errors about the catalog must name the file and the line; the standard safe
loader forgets lines, so this composes the node tree and walks it once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

Path = tuple[Any, ...]


class SourceError(Exception):
    """A problem with an input file: where it is and what to do."""

    def __init__(self, file: str, message: str, line: int | None = None, field_path: str = "") -> None:
        self.file = file
        self.line = line
        self.field_path = field_path
        self.message = message
        where = file + (f":{line}" if line else "")
        what = f"field '{field_path}': " if field_path else ""
        super().__init__(f"{where}: {what}{message}")


@dataclass
class SourceDoc:
    file: str
    data: Any
    lines: dict[Path, int] = field(default_factory=dict)

    def line_of(self, path: Path) -> int | None:
        """The line of the value at ``path``, or of its nearest ancestor."""
        probe = tuple(path)
        while probe:
            if probe in self.lines:
                return self.lines[probe]
            probe = probe[:-1]
        return self.lines.get((), None)


def _walk(node: yaml.Node, path: Path, lines: dict[Path, int], file: str) -> Any:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _walk(key_node, path + ("<key>",), {}, file)
            if isinstance(key, (dict, list)):
                raise SourceError(file, "a mapping key must be a plain value", key_node.start_mark.line + 1)
            if key in result:
                raise SourceError(
                    file, f"key '{key}' appears twice in the same mapping; keep one", key_node.start_mark.line + 1
                )
            result[key] = _walk(value_node, path + (key,), lines, file)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_walk(item, path + (index,), lines, file) for index, item in enumerate(node.value)]
    # scalars: let the safe constructor give them their type (int, bool, null, str)
    return yaml.SafeLoader("").construct_object(node, deep=True) if node.tag != "tag:yaml.org,2002:str" else node.value


def load_yaml_file(path: str, display_name: str | None = None) -> SourceDoc:
    name = display_name or path
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as exc:
        raise SourceError(name, f"cannot read the file ({exc.strerror})") from None
    return load_yaml_text(text, name)


def load_yaml_text(text: str, name: str) -> SourceDoc:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        problem = exc.problem or str(exc)
        raise SourceError(name, f"not valid YAML: {problem}; fix the syntax", line) from None
    except yaml.YAMLError as exc:
        raise SourceError(name, f"not valid YAML: {exc}") from None
    if root is None:
        return SourceDoc(name, None, {(): 1})
    lines: dict[Path, int] = {}
    data = _walk(root, (), lines, name)
    return SourceDoc(name, data, lines)
