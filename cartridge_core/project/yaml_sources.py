"""Sources YAML written in place: new tables and columns added to a person's file, nothing of theirs changed.

A team edits its sources file (freshness, loaded_at_field, descriptions, tags). When the warehouse
gains a table, its staging model needs the table declared; replacing the file would lose their work
and skipping it would leave the model pointing at an undeclared source. So, as models YAML is merged
(yaml_edit.py), Cartridge's entries are spliced in: a source missing from the file is added, a table
missing from its source is added at the end, a column missing from a table that lists columns is
added where it stands in the table. Existing entries are never changed or removed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from cartridge_core.errors import CartridgeError
from cartridge_core.project.yaml_edit import column_index, editable, is_empty, items_by_name, pair_of
from cartridge_core.project.yaml_layout import Layout, TextEditor
from cartridge_core.project.yamlio import YamlNode, load_yaml_text, yaml_positions


def merge_sources_yaml(existing: str, generated: str, *, path: str = "sources YAML") -> str:
    """`existing` with what Cartridge's `generated` sources file declares and it lacks, added in place.

    A file with nothing to add comes back byte for byte. CartridgeError naming `path` when `existing`
    is not a sources YAML file.
    """
    wanted = load_yaml_text(generated, path="generated sources")
    root = yaml_positions(existing, path=path)
    if root is None:
        return existing + ("" if existing.endswith("\n") or not existing else "\n") + generated
    if root.kind != "map":
        raise CartridgeError(f"{path} is not a YAML mapping; cannot add sources to it", file=path)
    editor = TextEditor(existing, Layout.of(existing, root))
    sources: Sequence[Mapping[str, Any]] = wanted.get("sources") or []
    pair = pair_of(root, "sources")
    if pair is None:
        editor.add_pairs(root, {"sources": list(sources)}, blank_line=True)
        return editor.result()
    key, node = pair
    if is_empty(node):
        editor.fill(root, key, node, list(sources))
        return editor.result()
    if node.kind != "seq":
        raise CartridgeError(f"{path}: `sources` is not a list", file=path)
    there = items_by_name(node.items)
    missing = []
    for source in sources:
        found = there.get(source["name"])
        if found is None:
            missing.append(source)
        elif found.kind == "map" and editable(found, source["name"]):
            _merge_tables(editor, found, source.get("tables") or [])
    if missing and editable(node, "sources"):
        editor.add_items(node, missing, after=len(node.items) - 1)
    return editor.result()


def _merge_tables(editor: TextEditor, source: YamlNode, tables: Sequence[Mapping[str, Any]]) -> None:
    pair = pair_of(source, "tables")
    if pair is None:
        editor.add_pairs(source, {"tables": list(tables)})
        return
    key, node = pair
    if is_empty(node):
        editor.fill(source, key, node, list(tables))
        return
    if node.kind != "seq" or not editable(node, "tables"):
        return
    there = items_by_name(node.items)
    missing = [t for t in tables if t["name"] not in there]
    for table in tables:
        found = there.get(table["name"])
        if found is not None and found.kind == "map" and editable(found, table["name"]):
            _merge_columns(editor, found, table.get("columns") or [])
    if missing:
        editor.add_items(node, missing, after=len(node.items) - 1)


def _merge_columns(editor: TextEditor, table: YamlNode, columns: Sequence[Mapping[str, Any]]) -> None:
    """Columns the table lacks, where they stand; a table that lists no columns is left as it is."""
    pair = pair_of(table, "columns")
    if pair is None or pair[1].kind != "seq" or not pair[1].items or not editable(pair[1], "columns"):
        return
    node = pair[1]
    where = column_index(node.items)
    pending: dict[int | None, list[Mapping[str, Any]]] = {}
    previous: int | None = None
    for column in columns:
        index = where(column["name"])
        if index is None:
            pending.setdefault(previous, []).append(column)
        else:
            previous = index
    for after, entries in pending.items():
        editor.add_items(node, entries, after=after)
