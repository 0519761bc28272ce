"""Edits to the `models:` configs of a dbt_project.yml that leave every byte a person wrote as it was.

The file is read for positions (`yamlio.yaml_positions`), and each change is a splice into its text:
new entries go at the end of the mapping they belong to, in the file's own indentation (or in flow
style inside a `{...}` mapping), and a value is replaced in place. Nothing is re-emitted, so
comments, quoting, blank lines and key order stay exactly as written. (`yaml_layout.TextEditor`
adds to models YAML the same way; it has no edit that replaces a value or gives a null key a
mapping, which these configs need, so the few splices are here.)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cartridge_core.errors import ConfigError
from cartridge_core.project.yaml_layout import Layout
from cartridge_core.project.yamlio import YamlNode, dump_fragment, pair_end, yaml_positions

PROJECT_FILE = "dbt_project.yml"
# dbt reads a config in dbt_project.yml with or without the `+` (the `+` only disambiguates it
# from a folder name), so both spellings count as the user having set it.
MATERIALIZED_KEYS = ("+materialized", "materialized")


@dataclass(frozen=True, slots=True, kw_only=True)
class TextEdit:
    """Replace text[start:end] with `text`; at one position, edits apply in `order`."""

    start: int
    end: int
    text: str
    order: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class Entry:
    """A mapping entry as it sits in the file: its key and value nodes (the value may be null)."""

    key: YamlNode
    value: YamlNode


def load_project_yaml(text: str, *, path: str = PROJECT_FILE) -> YamlNode:
    """The positioned tree of a dbt_project.yml; ConfigError naming `path` unless it is a mapping."""
    root = yaml_positions(text, path=path)
    if root is None or root.kind != "map":
        raise ConfigError(f"{path} is not a mapping of settings", file=path)
    return root


def entry(mapping: YamlNode, key: str) -> Entry | None:
    """The entry for `key` in a mapping node, if it has one."""
    for k, v in mapping.pairs:
        if k.kind == "scalar" and k.value == key:
            return Entry(key=k, value=v)
    return None


def sets_materialized(node: YamlNode) -> bool:
    """Whether a mapping of configs sets the materialization itself."""
    return node.kind == "map" and any(entry(node, key) for key in MATERIALIZED_KEYS)


def guess_indent(text: str, root: YamlNode) -> int:
    """How far the file indents a block mapping under its key (most often; 2 where it does not say)."""
    return Layout.of(text, root).mapping


def add_entries(
    text: str, mapping: YamlNode, entries: Mapping[str, Any], *, indent: int, order: int = 0
) -> list[TextEdit]:
    """Edits appending `entries` to a mapping node: after its last line, or inside its braces."""
    if not entries:
        return []
    if mapping.flow:
        inner = dump_fragment(dict(entries), flow=True).strip()[1:-1]
        closing = text.rindex("}", mapping.start, mapping.end)
        joined = f", {inner}" if mapping.pairs else inner
        return [TextEdit(start=closing, end=closing, text=joined, order=order)]
    at, newline = _after_line(text, mapping.end)
    block = _indented(dump_fragment(dict(entries), mapping=indent), mapping.column)
    return [TextEdit(start=at, end=at, text=newline + block, order=order)]


def fill_entry(
    text: str, found: Entry, entries: Mapping[str, Any], *, indent: int, order: int = 0
) -> list[TextEdit]:
    """Edits giving a key whose value is null (`models:` or `models: ~`) the mapping `entries`."""
    at, newline = _after_line(text, pair_end(found.key, found.value))
    block = _indented(dump_fragment(dict(entries), mapping=indent), found.key.column + indent)
    added = TextEdit(start=at, end=at, text=newline + block, order=order)
    if pair_end(found.key, found.value) == found.key.end:  # nothing written after `key:`
        return [added]
    # `key: ~` loses the `~` and the blanks before it: `key:` then the mapping on the next lines.
    start = text.rfind(":", found.key.end, found.value.start) + 1 or found.value.start
    return [TextEdit(start=start, end=found.value.end, text="", order=order), added]


def append_to_document(text: str, root: YamlNode, entries: Mapping[str, Any], *, indent: int) -> TextEdit:
    """An edit adding top-level `entries` at the end of the file, after a blank line."""
    ending = "" if text.endswith("\n") or not text else "\n"
    spacer = "" if not text or text.endswith("\n\n") else "\n"
    block = _indented(dump_fragment(dict(entries), mapping=indent), root.column)
    return TextEdit(start=len(text), end=len(text), text=ending + spacer + block, order=0)


def replace_value(value: YamlNode, text: str) -> TextEdit:
    """An edit putting `text` (a plain scalar) where a value node is."""
    return TextEdit(start=value.start, end=value.end, text=text)


def apply_edits(text: str, edits: Sequence[TextEdit]) -> str:
    """`text` with the (non-overlapping) edits spliced in."""
    out, cursor = [], 0
    for edit in sorted(edits, key=lambda e: (e.start, e.order)):
        out.append(text[cursor : edit.start])
        out.append(edit.text)
        cursor = max(cursor, edit.end)
    out.append(text[cursor:])
    return "".join(out)


def _after_line(text: str, position: int) -> tuple[int, str]:
    """Where the line holding `position` ends (past its newline), and a newline to add if it has none."""
    newline = text.find("\n", position)
    if newline < 0:
        return len(text), "\n"
    return newline + 1, ""


def _indented(block: str, column: int) -> str:
    pad = " " * column
    return "".join(pad + line if line.strip() else line for line in block.splitlines(keepends=True))


def with_models_ephemeral(text: str, project_name: str, *, path: str = PROJECT_FILE) -> str:
    """dbt_project.yml's `text` with every model of the project configured `ephemeral`.

    `+materialized: ephemeral` goes on the project, and each materialization set below it (for
    a folder) is replaced in place, so no folder keeps its own. Models that set a
    materialization in their own file (`config(...)`) keep it: that outranks dbt_project.yml.
    """
    root = load_project_yaml(text, path=path)
    indent = guess_indent(text, root)
    ephemeral = {"+materialized": "ephemeral"}
    models = entry(root, "models")
    if models is None:
        return apply_edits(
            text, [append_to_document(text, root, {"models": {project_name: ephemeral}}, indent=indent)]
        )
    if models.value.is_null:
        return apply_edits(text, fill_entry(text, models, {project_name: ephemeral}, indent=indent))
    if models.value.kind != "map":
        return text  # not dbt's shape: dbt says so itself
    project = entry(models.value, project_name)
    if project is None:
        return apply_edits(text, add_entries(text, models.value, {project_name: ephemeral}, indent=indent))
    if project.value.is_null:
        return apply_edits(text, fill_entry(text, project, ephemeral, indent=indent))
    if project.value.kind != "map":
        return text
    edits = [_as_ephemeral(value) for value in _materializations(project.value)]
    if not sets_materialized(project.value):
        edits += add_entries(text, project.value, ephemeral, indent=indent)
    return apply_edits(text, edits)


def _materializations(node: YamlNode) -> Iterable[YamlNode]:
    """The values of every materialization set in a mapping of configs and the folders below it."""
    for key, value in node.pairs:
        if key.kind == "scalar" and key.value in MATERIALIZED_KEYS:
            yield value
        elif value.kind == "map":
            yield from _materializations(value)


def _as_ephemeral(value: YamlNode) -> TextEdit:
    # An anchor on the value may be used elsewhere (`*name`): it stays, on the new value.
    return replace_value(value, f"&{value.anchor} ephemeral" if value.anchor else "ephemeral")
