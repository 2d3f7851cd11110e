# -*- coding: utf-8 -*-
# Copyright: orgiam developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Load YAML files into plain data while remembering the line of every value.

Errors about the catalog must name the file and the line; the standard safe
loader forgets lines, so this composes the node tree and walks it once.

A catalog file is input from a pull request, so loading is bounded: aliases may
add at most ``MAX_ALIAS_VALUES`` values to a file (a "billion laughs" bomb is
refused at the alias that crosses the bound, before anything is expanded),
values nest at most ``MAX_DEPTH`` levels, keys are text, and only YAML's plain
types are read (no tags such as ``!Ref``). A file that is not UTF-8 is named.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any, Iterable

import yaml

Path = tuple[Any, ...]

MAX_ALIAS_VALUES = 100_000  # values that aliases (*name) may add to one file, all aliases together
MAX_DEPTH = 64  # nesting of mappings and lists in one file

_STR = "tag:yaml.org,2002:str"
_TYPED_SCALARS = {  # YAML's plain types that keep their type (int, float, bool, null)
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
}
_AS_WRITTEN = {"tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:binary"}  # kept as the text written
_COLLECTIONS = {"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"}


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


def closest(ref: str, candidates: Iterable[str], n: int = 3, cutoff: float = 0.6) -> list[str]:
    """The candidates most like ``ref`` (case-insensitive), best first."""
    by_lower: dict[str, str] = {}
    for candidate in candidates:
        by_lower.setdefault(str(candidate).lower(), str(candidate))
    matches = difflib.get_close_matches(str(ref).lower(), list(by_lower), n=n, cutoff=cutoff)
    return [by_lower[m] for m in matches]


def did_you_mean(ref: str, candidates: Iterable[str], cutoff: float = 0.6) -> str:
    """'; did you mean 'X'?' or '' when nothing is close."""
    found = closest(ref, candidates, n=1, cutoff=cutoff)
    return f"; did you mean '{found[0]}'?" if found else ""


def listing(ref: str, candidates: Iterable[str], limit: int = 10) -> str:
    """Up to ``limit`` candidates, those closest to ``ref`` first, and how many more there are.

    An error about one name in an organization of 1,000 accounts names ten, not a thousand.
    """
    names = sorted({str(c) for c in candidates}, key=str.lower)
    if not names:
        return "(none)"
    if len(names) <= limit:
        return ", ".join(names)
    shown = closest(ref, names, n=limit, cutoff=0.0)
    return ", ".join(shown) + f" (and {len(names) - len(shown)} more)"


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


class _BoundedLoader(yaml.SafeLoader):
    """The safe loader's composer, counting while it composes: alias expansion and depth are bounded."""

    def __init__(self, stream: str, name: str) -> None:
        super().__init__(stream)
        self._name = name
        self._sizes: dict[int, int] = {}  # id(node) -> values it stands for once every alias in it is expanded
        self._alias_values = 0
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            node = self.anchors.get(event.anchor)
            if node is not None:  # an undefined alias is the composer's error
                line = event.start_mark.line + 1
                size = self._sizes.get(id(node))
                if size is None:
                    raise SourceError(self._name, f"alias *{event.anchor} refers to a value that contains it (a loop); "
                                                  "write the value out instead", line)
                self._alias_values += size
                if self._alias_values > MAX_ALIAS_VALUES:
                    raise SourceError(
                        self._name,
                        f"aliases expand to more than {MAX_ALIAS_VALUES:,} values (alias *{event.anchor} here stands for "
                        f"{size:,}): refused as a YAML alias bomb; write the values out or use fewer aliases", line)
            return super().compose_node(parent, index)
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise SourceError(self._name, f"values nest more than {MAX_DEPTH} levels deep; flatten the file",
                                  self.peek_event().start_mark.line + 1)
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        if isinstance(node, yaml.MappingNode):
            size = 1 + sum(self._sizes[id(k)] + self._sizes[id(v)] for k, v in node.value)
        elif isinstance(node, yaml.SequenceNode):
            size = 1 + sum(self._sizes[id(item)] for item in node.value)
        else:
            size = 1
        self._sizes[id(node)] = size
        return node


def _tag_problem(node: yaml.Node, file: str) -> SourceError:
    if node.tag == "tag:yaml.org,2002:merge":
        return SourceError(file, "merge keys (<<) are not read here; write the keys out", node.start_mark.line + 1)
    return SourceError(
        file,
        f"the YAML tag {node.tag} is not read here: the catalog holds plain values (text, numbers, true/false, "
        "lists, mappings); CloudFormation functions such as !Sub are not evaluated. Remove the tag",
        node.start_mark.line + 1,
    )


def _walk(node: yaml.Node, path: Path, lines: dict[Path, int], file: str, loader: yaml.SafeLoader) -> Any:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        if node.tag not in _COLLECTIONS:
            raise _tag_problem(node, file)
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise SourceError(file, "a mapping key must be a plain value", key_node.start_mark.line + 1)
            key = _walk(key_node, path + ("<key>",), {}, file, loader)
            if not isinstance(key, str):
                raise SourceError(
                    file, f"key {key_node.value!r} is read as {type(key).__name__ if key is not None else 'null'}, "
                    f"not text; quote it: \"{key_node.value}\"", key_node.start_mark.line + 1)
            if key in result:
                raise SourceError(
                    file, f"key '{key}' appears twice in the same mapping; keep one", key_node.start_mark.line + 1
                )
            result[key] = _walk(value_node, path + (key,), lines, file, loader)
        return result
    if isinstance(node, yaml.SequenceNode):
        if node.tag not in _COLLECTIONS:
            raise _tag_problem(node, file)
        return [_walk(item, path + (index,), lines, file, loader) for index, item in enumerate(node.value)]
    if node.tag == _STR or node.tag in _AS_WRITTEN:
        return node.value
    if node.tag in _TYPED_SCALARS:
        return loader.construct_object(node, deep=True)
    raise _tag_problem(node, file)


def load_yaml_file(path: str, display_name: str | None = None) -> SourceDoc:
    name = display_name or path
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except OSError as exc:
        raise SourceError(name, f"cannot read the file ({exc.strerror})") from None
    return load_yaml_text(decode_utf8(raw, name), name)


def decode_utf8(raw: bytes, name: str) -> str:
    """The text of a catalog file, or a SourceError naming the file, the line and the first bad byte."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise SourceError(name, "the file is UTF-16 text; save it as UTF-8")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise SourceError(
            name, f"the file is not UTF-8 text (byte 0x{raw[exc.start]:02x} cannot be decoded); save it as UTF-8, "
            "e.g. iconv -f latin1 -t utf-8", line) from None


def load_yaml_text(text: str, name: str) -> SourceDoc:
    loader = None
    try:
        loader = _BoundedLoader(text, name)
        root = loader.get_single_node()
        if root is None:
            return SourceDoc(name, None, {(): 1})
        lines: dict[Path, int] = {}
        data = _walk(root, (), lines, name, loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = ", ".join(str(part) for part in (exc.context, exc.problem) if part) or str(exc)
        raise SourceError(name, f"not valid YAML: {problem}; fix the syntax", line) from None
    except yaml.reader.ReaderError as exc:
        line = text[: exc.position].count("\n") + 1
        code = exc.character if isinstance(exc.character, int) else ord(str(exc.character)[:1] or "?")
        raise SourceError(name, f"not valid YAML: the control character U+{code:04X} is not allowed in YAML text; remove it",
                          line) from None
    except yaml.YAMLError as exc:
        raise SourceError(name, f"not valid YAML: {exc}") from None
    except RecursionError:
        raise SourceError(name, "values nest too deeply; flatten the file") from None
    finally:
        if loader is not None:
            loader.dispose()
    return SourceDoc(name, data, lines)
