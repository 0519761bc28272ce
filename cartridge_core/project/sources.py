"""Reading dbt sources YAML as text: which source table a line of an open document belongs to."""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from dataclasses import dataclass

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceTableRef:
    """One table entry of a dbt sources file, named as dbt and the warehouse name it."""

    source: str  # the source's `name`
    schema: str  # the source's `schema`, or its name (dbt's default)
    table: str  # the table's `name`
    identifier: str  # the table's `identifier`, or its name: the relation in the warehouse


@dataclass(frozen=True, slots=True, kw_only=True)
class _Entry:
    ref: SourceTableRef
    first_line: int  # 0-based


def source_table_at(text: str, line: int) -> SourceTableRef | None:
    """The source table whose entry spans `line` (0-based) in a sources YAML document, if any.

    None for YAML that is not a dbt properties file with `sources`, for YAML that does not parse,
    and for lines outside a table entry (a source's own keys, `models:`, ...).
    """
    document = _load(text)
    if document is None:
        return None
    entries = list(_table_entries(document))
    # A table's entry runs from its `- name:` line to the line before the next thing at its level
    # or above (next table, next key of its source, next source, next top-level key).
    starts = sorted({e.first_line for e in entries} | set(_outer_lines(document)))
    lines = text.splitlines()
    for entry in entries:
        after = bisect.bisect_right(starts, entry.first_line)
        end = starts[after] - 1 if after < len(starts) else len(lines) - 1
        end = _trim_trailing_blank(lines, entry.first_line, end)
        if entry.first_line <= line <= end:
            return entry.ref
    return None


def _load(text: str) -> CommentedMap | None:
    # Round-trip mode because it is the one that records line numbers. cartridge_core.project.yamlio
    # owns the YAML library but offers only a safe loader without positions, hence ruamel here.
    try:
        document = YAML(typ="rt", pure=True).load(text)
    except YAMLError:
        return None
    if not isinstance(document, CommentedMap) or not isinstance(document.get("sources"), CommentedSeq):
        return None
    return document


def _sources(document: CommentedMap) -> Iterator[CommentedMap]:
    sources = document["sources"]
    for source in sources:
        if isinstance(source, CommentedMap) and isinstance(source.get("name"), str):
            yield source


def _table_entries(document: CommentedMap) -> Iterator[_Entry]:
    for source in _sources(document):
        tables = source.get("tables")
        if not isinstance(tables, CommentedSeq):
            continue
        schema = source.get("schema")
        for index, table in enumerate(tables):
            if not isinstance(table, CommentedMap) or not isinstance(table.get("name"), str):
                continue
            identifier = table.get("identifier")
            ref = SourceTableRef(
                source=source["name"],
                schema=schema if isinstance(schema, str) and schema else source["name"],
                table=table["name"],
                identifier=identifier if isinstance(identifier, str) and identifier else table["name"],
            )
            yield _Entry(ref=ref, first_line=tables.lc.item(index)[0])


def _outer_lines(document: CommentedMap) -> Iterator[int]:
    """Lines where something at a table's level or above starts: the bounds of table entries."""
    yield from _key_lines(document)
    sources = document["sources"]
    for index, source in enumerate(sources):
        yield sources.lc.item(index)[0]
        if isinstance(source, CommentedMap):
            yield from _key_lines(source)
            tables = source.get("tables")
            if isinstance(tables, CommentedSeq):
                yield from (tables.lc.item(i)[0] for i in range(len(tables)))


def _key_lines(mapping: CommentedMap) -> Iterator[int]:
    for key in mapping:
        yield mapping.lc.key(key)[0]


def _trim_trailing_blank(lines: list[str], first: int, last: int) -> int:
    """Move `last` up past blank and comment-only lines, which belong to no entry."""
    while last > first and _is_blank(lines, last):
        last -= 1
    return last


def _is_blank(lines: list[str], index: int) -> bool:
    if index >= len(lines):
        return True
    stripped = lines[index].strip()
    return not stripped or stripped.startswith("#")
