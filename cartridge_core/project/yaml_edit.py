"""Models YAML written in place: what Cartridge knows is added to a person's file; nothing they wrote changes.

The file is read for positions only (yamlio.yaml_positions). Each addition is rendered by ruamel.yaml in
the file's own layout (its indents and dash width, its line endings, its key for tests) and spliced in as
new lines, so every byte a person wrote stays as it was: comments, quoting, blank lines, block scalars,
anchors, flow collections. Dumping the whole file round-trip would re-emit it in one layout instead.
A file with nothing to add comes back byte for byte.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from typing import Any

from cartridge_core.errors import CartridgeError
from cartridge_core.models import ColumnDoc, ModelDoc, SchemaTest
from cartridge_core.project.yaml_layout import Layout, TextEditor
from cartridge_core.project.yamlio import YamlNode, dump_yaml, yaml_positions

logger = logging.getLogger(__name__)

TESTS_KEYS = ("data_tests", "tests")  # dbt 1.8+ name first; `tests` is the older one
Pair = tuple[YamlNode, YamlNode]


def merge_models_yaml(existing: str | None, models: Sequence[ModelDoc], *, path: str = "models YAML") -> str:
    """The new text of a models YAML file: a fresh one, or `existing` with what it lacks of `models` added.

    Adds missing models, columns (where they stand in the model), descriptions and tests; never changes
    or removes what is there. CartridgeError naming `path` when `existing` is not a models YAML file.
    """
    if existing is None:
        return fresh_models_yaml(models)
    root = yaml_positions(existing, path=path)
    if root is None:  # empty, or only comments
        fresh = fresh_models_yaml(models)
        return fresh if not existing.strip() else _joined(existing, fresh)
    if root.kind != "map":
        raise CartridgeError(f"{path} is not a YAML mapping; cannot add models to it", file=path)
    editor = TextEditor(existing, Layout.of(existing, root))
    _merge_models(editor, root, models, _tests_key(root), path)
    return editor.result()


def fresh_models_yaml(models: Sequence[ModelDoc]) -> str:
    """A new models YAML file: `version: 2`, a blank line, then `models:` in dbt Labs' layout."""
    entries = [_model_entry(m, TESTS_KEYS[0]) for m in models]
    return dump_yaml({"version": 2, "models": entries}, spaced=True)


def _joined(existing: str, fresh: str) -> str:
    newline = "\r\n" if "\r\n" in existing else "\n"
    head = existing if existing.endswith("\n") else existing + newline
    return head + fresh.replace("\n", newline)


# --- What Cartridge would write for a model, a column, a test (the same shapes fresh or added). ---


def _model_entry(model: ModelDoc, tests_key: str) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": model.name}
    if _said(model.description):
        entry["description"] = model.description
    if model.tests:
        entry[tests_key] = [_test_entry(t) for t in _distinct(model.tests)]
    if model.columns:
        entry["columns"] = [_column_entry(c, tests_key) for c in model.columns]
    return entry


def _column_entry(column: ColumnDoc, tests_key: str) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": column.name}
    if column.quote:
        entry["quote"] = True
    if _said(column.description):
        entry["description"] = column.description
    if column.tests:
        entry[tests_key] = [_test_entry(t) for t in _distinct(column.tests)]
    return entry


def _test_entry(test: SchemaTest) -> str | dict[str, Any]:
    """`- unique`, or dbt 1.10+'s shape: `- kind: {arguments: {...}, config: {severity, meta}}`."""
    body: dict[str, Any] = {}
    arguments = test_arguments(test)
    if arguments:
        body["arguments"] = arguments
    config: dict[str, Any] = {}
    if test.severity == "warn":
        config["severity"] = "warn"
    if test.evidence:
        config["meta"] = {"evidence": test.evidence}
    if config:
        body["config"] = config
    return {test.kind: body} if body else test.kind


def test_arguments(test: SchemaTest) -> dict[str, Any]:
    if test.column_name is not None:
        return {"column_name": test.column_name}
    if test.kind == "relationships":
        return {"to": test.to, "field": test.field}
    if test.kind == "accepted_values":
        arguments: dict[str, Any] = {"values": list(test.values)}
        if not test.quote_values:
            arguments["quote"] = False
        return arguments
    return {}


def _said(text: str | None) -> bool:
    return bool(text and text.strip())


def _distinct(tests: Sequence[SchemaTest]) -> list[SchemaTest]:
    seen: set[tuple[str, ...]] = set()
    kept = []
    for test in tests:
        if _identity(test) not in seen:
            seen.add(_identity(test))
            kept.append(test)
    return kept


# --- Merging into an existing file: only ever additions. ---


def _merge_models(
    editor: TextEditor, root: YamlNode, models: Sequence[ModelDoc], tests_key: str, path: str
) -> None:
    pair = pair_of(root, "models")
    if pair is None:
        if models:
            entries = [_model_entry(m, tests_key) for m in models]
            editor.add_pairs(root, {"models": entries}, blank_line=True)
        return
    key, node = pair
    if is_empty(node):
        editor.fill(root, key, node, [_model_entry(m, tests_key) for m in models])
        return
    if node.kind != "seq":
        raise CartridgeError(f"{path}: `models` is not a list", file=path)
    if not editable(node, "models"):
        return
    by_name = items_by_name(node.items)
    missing = []
    for model in models:
        found = by_name.get(model.name)
        if found is None:
            missing.append(_model_entry(model, tests_key))
        else:
            _merge_model(editor, found, model, tests_key)
    if missing:
        editor.add_items(node, missing, after=len(node.items) - 1)


def _merge_model(editor: TextEditor, node: YamlNode, model: ModelDoc, tests_key: str) -> None:
    if not editable(node, model.name):
        return
    if _said(model.description) and not _has_key(node, "description"):
        editor.add_pairs(node, {"description": model.description}, after=_name_pair(node))
    if model.tests:
        _merge_tests(editor, node, model.tests, tests_key)
    if model.columns:
        _merge_columns(editor, node, model.columns, tests_key)


def _merge_columns(editor: TextEditor, model: YamlNode, columns: Sequence[ColumnDoc], tests_key: str) -> None:
    pair = pair_of(model, "columns")
    if pair is None:
        if not _has_key(model, "columns"):  # one merged in from an anchor would be hidden by ours
            editor.add_pairs(model, {"columns": [_column_entry(c, tests_key) for c in columns]})
        return
    key, node = pair
    if is_empty(node):
        editor.fill(model, key, node, [_column_entry(c, tests_key) for c in columns])
        return
    if node.kind != "seq" or not editable(node, "columns"):
        return
    where = column_index(node.items)
    pending: dict[int | None, list[dict[str, Any]]] = {}
    previous: int | None = None  # the YAML item of the nearest preceding column that is there
    for column in columns:
        index = where(column.name)
        if index is None:
            pending.setdefault(previous, []).append(_column_entry(column, tests_key))
        else:
            _merge_column(editor, node.items[index], column, tests_key)
            previous = index
    for after, entries in pending.items():
        editor.add_items(node, entries, after=after)


def _merge_column(editor: TextEditor, node: YamlNode, column: ColumnDoc, tests_key: str) -> None:
    if node.kind != "map" or not editable(node, column.name):
        return
    if _said(column.description) and not _has_key(node, "description"):
        editor.add_pairs(node, {"description": column.description}, after=_name_pair(node))
    if column.tests:
        _merge_tests(editor, node, column.tests, tests_key)


def _merge_tests(editor: TextEditor, column: YamlNode, tests: Sequence[SchemaTest], tests_key: str) -> None:
    """Add the tests a column (or a model) lacks to its list of tests."""
    pair = next((p for p in (pair_of(column, k) for k in TESTS_KEYS) if p is not None), None)
    there = pair[1].items if pair is not None and pair[1].kind == "seq" else ()
    present = {_yaml_identity(item) for item in there}
    missing = [_test_entry(t) for t in _distinct(tests) if _identity(t) not in present]
    if not missing:
        return
    if pair is None:
        if not any(_has_key(column, k) for k in TESTS_KEYS):
            editor.add_pairs(column, {tests_key: missing})
        return
    key, node = pair
    if is_empty(node):
        editor.fill(column, key, node, missing)
    elif node.kind == "seq" and editable(node, key.value):
        editor.add_items(node, missing, after=len(node.items) - 1)


def _tests_key(root: YamlNode) -> str:
    """The key this file already uses for tests on models and columns; `data_tests` when it has none."""
    models = root.get("models")
    for model in models.items if models is not None and models.kind == "seq" else ():
        columns = model.get("columns") if model.kind == "map" else None
        nested = columns.items if columns is not None and columns.kind == "seq" else ()
        for node in (model, *nested):
            for key, _ in node.pairs if node.kind == "map" else ():
                if key.value in TESTS_KEYS:
                    return key.value
    return TESTS_KEYS[0]


# --- Reading what is there. ---


def pair_of(mapping: YamlNode, key: str) -> Pair | None:
    return next(((k, v) for k, v in mapping.pairs if k.kind == "scalar" and k.value == key), None)


def _name_pair(mapping: YamlNode) -> Pair | None:
    """Where a description goes: after `name` (and `quote` right after it), as Cartridge writes them."""
    name = pair_of(mapping, "name")
    if name is None:
        return None
    position = mapping.pairs.index(name)
    following = mapping.pairs[position + 1 : position + 2]
    return following[0] if following and following[0][0].value == "quote" else name


def _has_key(mapping: YamlNode, key: str) -> bool:
    return _lookup(mapping, key) is not None


def _lookup(mapping: YamlNode, key: str, depth: int = 0) -> YamlNode | None:
    """The value of `key` in a mapping, its own or merged in from an anchor (`<<: *defaults`)."""
    own = mapping.get(key)
    merged = mapping.get("<<")
    if own is not None or merged is None or depth > 8:
        return own
    sources = merged.items if merged.kind == "seq" else (merged,)
    for source in sources:
        target = source.target if source.kind == "alias" else source
        found = _lookup(target, key, depth + 1) if target is not None and target.kind == "map" else None
        if found is not None:
            return found
    return None


def is_empty(node: YamlNode) -> bool:
    """A key left empty (`columns:`, `columns: ~`) or an empty flow collection (`columns: []`)."""
    return node.is_null or (node.flow and not node.items and not node.pairs)


def editable(node: YamlNode, what: str) -> bool:
    # An anchored node is shared with its aliases: adding to it would change them all.
    if node.anchor:
        logger.info("Not adding to %s: it is anchored (&%s) and shared with its aliases", what, node.anchor)
    return not node.anchor


def items_by_name(items: Sequence[YamlNode]) -> dict[str, YamlNode]:
    found: dict[str, YamlNode] = {}
    for item in items:
        name = _lookup(item, "name") if item.kind == "map" else None
        if name is not None and name.kind == "scalar":
            found.setdefault(name.value, item)
    return found


def column_index(items: Sequence[YamlNode]) -> Callable[[str], int | None]:
    """A lookup from a column name to its item: the exact name, else the same name in another case."""
    exact: dict[str, int] = {}
    folded: dict[str, int] = {}
    for index, item in enumerate(items):
        name = _lookup(item, "name") if item.kind == "map" else None
        if name is not None and name.kind == "scalar":
            exact.setdefault(name.value, index)
            folded.setdefault(name.value.casefold(), index)

    def where(name: str) -> int | None:
        return exact.get(name, folded.get(name.casefold()))

    return where


def _identity(test: SchemaTest) -> tuple[str, ...]:
    """What makes two tests the same. A column has one set of accepted values: a person's list stands."""
    if test.kind == "relationships":
        return ("relationships", _ref_key(test.to), (test.field or "").casefold())
    if test.column_name is not None:
        return (test.kind, _expression_key(test.column_name))
    return (test.kind,)


def _yaml_identity(item: YamlNode) -> tuple[str, ...] | None:
    """The identity of a test as a file writes it: `- unique`, `- kind: {...}` or `- test_name: kind`."""
    data = _plain(item)
    if isinstance(data, str):
        kind, body = data, {}
    elif isinstance(data, dict) and "test_name" in data:
        kind, body = str(data["test_name"]), data
    elif isinstance(data, dict):
        named = [(str(k), v) for k, v in data.items() if k not in ("name", "config", "description")]
        if not named:
            return None
        kind, body = named[0]
    else:
        return None
    kind = kind.removeprefix("dbt.")
    body = body if isinstance(body, dict) else {}
    nested = body.get("arguments")
    arguments = {**body, **nested} if isinstance(nested, dict) else body
    if kind == "relationships":
        return ("relationships", _ref_key(arguments.get("to")), str(arguments.get("field") or "").casefold())
    if arguments.get("column_name") is not None:  # a model-level test of an expression
        return (kind, _expression_key(arguments["column_name"]))
    return (kind,)


def _ref_key(to: object) -> str:
    return re.sub(r"\s+", "", str(to or "")).replace('"', "'")


def _expression_key(expression: object) -> str:
    return re.sub(r"\s+", "", str(expression)).casefold()


def _plain(node: YamlNode, depth: int = 0) -> Any:
    if node.kind == "scalar":
        return node.value
    if node.kind == "alias":
        return _plain(node.target, depth + 1) if node.target is not None and depth < 8 else None
    if node.kind == "seq":
        return [_plain(item, depth) for item in node.items]
    return {k.value: _plain(v, depth) for k, v in node.pairs if k.kind == "scalar"}
