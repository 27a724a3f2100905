"""Read a 1.x ``conf.yaml`` safely into plain Python, with the line of every key.

Only ``yaml.SafeLoader`` is used; the 1.x ``!Pruner`` tag is read as a plain mapping. Two defects
that published 1.x examples carry are repaired, each with a note (never silently):

* an indented ``...`` line, a documentation placeholder, is ignored;
* a section whose children lost their indentation (``distillation:`` followed by ``train:`` at
  the same level) is re-nested when the schema says those keys belong to the section and not beside it.

Unknown keys are errors naming the yaml path, the line and the closest known key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..errors import ConfigError, UnknownKeyError
from . import schema as sc

_PLACEHOLDER = re.compile(r"^[ \t]+\.\.\.[ \t]*(#.*)?$")
_NULL_TAG = "tag:yaml.org,2002:null"


class _Loader(yaml.SafeLoader):
    """SafeLoader plus the 1.x ``!Pruner`` tag (a plain mapping)."""


_Loader.add_constructor("!Pruner", lambda loader, node: loader.construct_mapping(node, deep=True))


@dataclass
class YamlDoc:
    data: dict[str, Any]
    lines: dict[str, int]
    source: str
    notes: list[str] = field(default_factory=list)

    def where(self, path: str) -> str:
        """``conf.yaml:12`` for a dotted path (or its closest recorded parent)."""
        probe = path
        while probe and probe not in self.lines:
            probe = probe.rsplit(".", 1)[0] if "." in probe else ""
        line = self.lines.get(probe)
        return f"{self.source}:{line}" if line else self.source


def read_yaml(path_or_text: str | Path) -> YamlDoc:
    """Parse, repair and schema-check a 1.x conf.yaml given as a path or as yaml text."""
    text, source = _read(path_or_text)
    notes: list[str] = []
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if _PLACEHOLDER.match(line):
            lines[i] = ""
            notes.append(f"{source}:{i + 1}: ignored the '...' placeholder line")
    text = "\n".join(lines) + "\n"
    try:
        loader = _Loader(text)
    except yaml.reader.ReaderError as exc:  # control characters: a binary file that happens to decode
        line = text.count("\n", 0, exc.position) + 1
        char = f"{exc.character:#06x}" if isinstance(exc.character, int) else repr(exc.character)
        raise ConfigError(
            "yaml", f"character {char}", "printable YAML text", reason=exc.reason, location=f"{source}:{line}"
        ) from None
    try:
        try:
            root = loader.get_single_node()
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"{source}:{mark.line + 1}" if mark else source
            problem = getattr(exc, "problem", None) or str(exc)
            raise ConfigError("yaml", source, "valid YAML", reason=problem, location=where) from None
        if root is None:
            raise ConfigError("yaml", source, "a mapping of 1.x sections", reason="the document is empty")
        if not isinstance(root, yaml.MappingNode):
            raise ConfigError("yaml", source, "a mapping of 1.x sections", location=f"{source}:1")
        _repair(root, sc.ROOT, "", source, notes)
        line_map: dict[str, int] = {}
        data = _to_python(loader, root, "", line_map, source)
    finally:
        loader.dispose()
    doc = YamlDoc(data=data, lines=line_map, source=source, notes=notes)
    _check_keys(doc, data, sc.ROOT, "")
    return doc


def _read(path_or_text: str | Path) -> tuple[str, str]:
    if isinstance(path_or_text, Path):
        return _read_file(path_or_text), str(path_or_text)
    if isinstance(path_or_text, str) and "\n" not in path_or_text and path_or_text.endswith((".yaml", ".yml")):
        path = Path(path_or_text)
        if not path.is_file():
            raise ConfigError("path", path_or_text, "an existing conf.yaml file", reason="file not found")
        return _read_file(path), path_or_text
    if not isinstance(path_or_text, str):
        raise ConfigError("path_or_text", path_or_text, "a path to a conf.yaml or its yaml text")
    return path_or_text, "<yaml>"


def _read_file(path: Path) -> str:
    """The file's text; a binary or non-UTF-8 file is a ``ConfigError`` naming it and the first bad byte."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")  # a BOM, as some Windows editors write, is not an error
    except UnicodeDecodeError as exc:
        raise ConfigError(
            "yaml",
            f"byte 0x{data[exc.start]:02x} at offset {exc.start}",
            "a UTF-8 text file (a 1.x conf.yaml)",
            reason="not UTF-8 text; is it a binary file?",
            location=str(path),
        ) from None


def _is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == _NULL_TAG


def _repair(node: yaml.MappingNode, schema: Any, path: str, source: str, notes: list[str]) -> None:
    if not isinstance(schema, dict):
        return
    pairs = list(node.value)
    out = []
    i = 0
    while i < len(pairs):
        key_node, value_node = pairs[i]
        key = key_node.value
        child_schema = schema.get(key)
        i += 1
        if _is_null(value_node) and sc.expects_mapping(child_schema):
            absorbed = []
            while i < len(pairs):
                next_key = pairs[i][0].value
                belongs = child_schema == sc.OPEN or next_key in child_schema
                if next_key in schema or not belongs:
                    break
                absorbed.append(pairs[i])
                i += 1
            if absorbed:
                names = ", ".join(repr(p[0].value) for p in absorbed)
                notes.append(
                    f"{source}:{key_node.start_mark.line + 1}: {names} re-nested under {_join(path, key)!r}"
                    " (they were at the section's own indentation; indent them)"
                )
                value_node = yaml.MappingNode(
                    "tag:yaml.org,2002:map", absorbed, key_node.start_mark, absorbed[-1][1].end_mark
                )
        if isinstance(value_node, yaml.MappingNode):
            _repair(value_node, child_schema, _join(path, key), source, notes)
        out.append((key_node, value_node))
    node.value = out


_SAFE_COLLECTION_TAGS = {"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq", "!Pruner"}


def _to_python(loader: _Loader, node: yaml.Node, path: str, lines: dict[str, int], source: str) -> Any:
    where = f"{source}:{node.start_mark.line + 1}"
    if not isinstance(node, yaml.ScalarNode) and node.tag not in _SAFE_COLLECTION_TAGS:
        raise ConfigError(
            path or "yaml",
            node.tag,
            "plain YAML (only the 1.x !Pruner tag is understood)",
            reason="unsupported yaml tag",
            location=where,
        )
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            child = _join(path, str(key))
            if key in out:
                raise ConfigError(
                    child, key, reason="duplicate key", location=f"{source}:{key_node.start_mark.line + 1}"
                )
            lines[child] = key_node.start_mark.line + 1
            out[key] = _to_python(loader, value_node, child, lines, source)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_to_python(loader, item, f"{path}[{i}]", lines, source) for i, item in enumerate(node.value)]
    try:
        return loader.construct_object(node, deep=True)
    except yaml.YAMLError as exc:
        raise ConfigError(
            path or "yaml", node.value, "plain YAML scalars", reason=str(getattr(exc, "problem", exc)), location=where
        ) from None


def _check_keys(doc: YamlDoc, data: Any, schema: Any, path: str) -> None:
    if schema == sc.UNSUPPORTED:
        if data not in (None, False, "", [], {}):
            raise ConfigError(
                path,
                data,
                "false or absent",
                reason="a 1.x key that compressor does not support",
                location=doc.where(path),
            )
        return
    if isinstance(schema, tuple) and schema[0] == "list":
        items = data if isinstance(data, list) else [data]
        for i, item in enumerate(items):
            _check_keys(doc, item, schema[1], f"{path}[{i}]" if isinstance(data, list) else path)
        return
    if not isinstance(schema, dict):
        return
    if data is None:
        return
    if not isinstance(data, dict):
        raise ConfigError(
            path or "<root>", data, f"a mapping with keys from {sorted(schema)}", location=doc.where(path)
        )
    for key, value in data.items():
        child = _join(path, str(key))
        if key not in schema:
            raise UnknownKeyError(path, str(key), schema, location=doc.where(child))
        _check_keys(doc, value, schema[key], child)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key
