"""What differs between a dbt project's sources and staging models and the warehouse they read.

`cartridge-lsp --check` reports it for CI. The project side is read from disk, never written:
every `sources:` entry in YAML under the model paths, and every model that selects from a source
with `source('<source>', '<table>')`. Compared per warehouse table:

- a table no source declares (`+ table`), or one no model selects from;
- a column the source's `columns:` does not list (when it lists any), or its models do not select;
- a declared table or column that is gone from the warehouse (`-`).

Which columns a model selects is read from its SQL without a SQL parser: Cartridge's staging
models name every column in their select list, so a column is selected when its name appears in
the SQL as an identifier (Jinja, comments and string literals removed). A model that names none
of its table's columns (`select * from {{ source(...) }}`) passes every column through.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from cartridge_core.errors import ConfigError
from cartridge_core.generation.sql import needs_quotes, quote_identifier
from cartridge_core.models import DbtProject, Scan, Table
from cartridge_core.project.profiles import render_value
from cartridge_core.project.yamlio import load_yaml_file
from cartridge_core.warehouse.base import is_dbt_schema

logger = logging.getLogger(__name__)

_YAML_SUFFIXES = (".yml", ".yaml")
_SOURCE_CALL = re.compile(r"""\bsource\(\s*(['"])(.*?)\1\s*,\s*(['"])(.*?)\3\s*\)""")
_RAW_BLOCK = re.compile(r"\{%-?\s*raw\s*-?%\}(.*?)\{%-?\s*endraw\s*-?%\}", re.S)
# Jinja, SQL comments and string literals: nothing in them names a selected column.
_NOT_COLUMNS = re.compile(r"\{#.*?#\}|\{%.*?%\}|\{\{.*?\}\}|--[^\n]*|/\*.*?\*/|'(?:[^']|'')*'", re.S)
_IDENTIFIER = re.compile(r'"((?:[^"]|"")*)"|([A-Za-z_][A-Za-z0-9_$]*)')


@dataclass(frozen=True, slots=True, kw_only=True)
class Difference:
    """One way the project and the warehouse differ: something to model (`+`) or gone (`-`)."""

    sign: Literal["+", "-"]
    schema: str
    table: str
    column: str | None = None
    notes: tuple[str, ...] = ()

    def line(self) -> str:
        """One line for people and CI logs, e.g. `+ column raw.orders.discount (not in stg_raw__orders)`."""
        what = "table" if self.column is None else "column"
        parts = [self.schema, self.table] + ([] if self.column is None else [self.column])
        name = ".".join(quote_identifier(p) if needs_quotes(p.lower()) else p for p in parts)
        separator = ", " if self.sign == "+" else "; "
        return f"{self.sign} {what} {name} ({separator.join(self.notes)})"


@dataclass(frozen=True, slots=True, kw_only=True)
class Drift:
    """The differences found, over the schemas and tables compared."""

    schemas: tuple[str, ...]
    tables: int  # warehouse tables compared
    differences: tuple[Difference, ...] = ()

    @property
    def up_to_date(self) -> bool:
        return not self.differences

    def lines(self) -> list[str]:
        return [d.line() for d in self.differences]


@dataclass(frozen=True, slots=True, kw_only=True)
class DeclaredTable:
    """A table entry of a sources YAML file, resolved to the relation it names in the warehouse."""

    source: str
    table: str
    schema: str
    identifier: str
    file: str  # relative to the project root, posix
    columns: tuple[str, ...] = ()
    description: str | None = None  # as a person wrote it: dbt renders it, Cartridge passes it on
    column_descriptions: tuple[tuple[str, str], ...] = ()  # (column, description), the described ones


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceModel:
    """A model that selects from a source table, and the identifiers its SQL names."""

    name: str
    quoted: frozenset[str]  # "quoted" identifiers, casefolded
    bare: frozenset[str]  # bare words, casefolded

    def names(self, column: str) -> bool:
        """Whether the SQL names `column` as an identifier (bare only where that means the column)."""
        folded = column.casefold()
        return folded in self.quoted or (not needs_quotes(column.lower()) and folded in self.bare)

    def selects(self, column: str, table: Table) -> bool:
        """Whether the model selects `column`: it names it, or names none of the table's columns."""
        return self.names(column) or not any(self.names(c.name) for c in table.columns)


def find_drift(
    project: DbtProject, warehouse: Scan, *, target_schema: str, every_schema: bool = True
) -> Drift:
    """Compare the project's sources and source-reading models with the scan; read-only.

    `every_schema`: the scan covered every source schema (not a `--schema` choice), so a declared
    schema absent from it is empty or gone, unless dbt builds into it (then it is not compared).
    """
    declared = declared_sources(project)
    models = source_models(project)
    by_relation: dict[tuple[str, str], DeclaredTable] = {}
    for entry in declared:
        by_relation.setdefault(_key(entry.schema, entry.identifier), entry)
    differences = list(_warehouse_side(warehouse, by_relation, models))
    present = {_key(t.schema, t.name) for t in warehouse.tables}
    scanned = {s.casefold() for s in warehouse.schemas}
    for key, entry in sorted(by_relation.items()):
        compared = entry.schema.casefold() in scanned or (
            every_schema and not is_dbt_schema(entry.schema, target_schema, fold_case=True)
        )
        if compared and key not in present:
            differences.append(_gone_table(entry, models.get((entry.source, entry.table), [])))
    return Drift(schemas=warehouse.schemas, tables=len(warehouse.tables), differences=tuple(differences))


def _warehouse_side(
    warehouse: Scan,
    declared: Mapping[tuple[str, str], DeclaredTable],
    models: Mapping[tuple[str, str], list[SourceModel]],
) -> Iterator[Difference]:
    """Per warehouse table: not declared, not modelled, and its columns' differences."""
    for table in sorted(warehouse.tables, key=lambda t: (t.schema, t.name)):
        entry = declared.get(_key(table.schema, table.name))
        if entry is None:
            yield _new_table(table, ("no source", "no staging model"))
            continue
        selecting = models.get((entry.source, entry.table), [])
        if not selecting:
            yield _new_table(table, ("no staging model",))
        yield from _column_differences(table, entry, selecting)


def _key(schema: str, name: str) -> tuple[str, str]:
    # PostgreSQL and DuckDB fold unquoted names, and dbt quotes sources only when told to.
    return schema.casefold(), name.casefold()


def _new_table(table: Table, notes: tuple[str, ...]) -> Difference:
    return Difference(sign="+", schema=table.schema, table=table.name, notes=notes)


def _gone_table(entry: DeclaredTable, models: list[SourceModel]) -> Difference:
    notes = ["gone from the warehouse", f"declared in {entry.file}"]
    if models:
        notes.append(f"selected by {_names(models)}")
    return Difference(sign="-", schema=entry.schema, table=entry.identifier, notes=tuple(notes))


def _column_differences(
    table: Table, entry: DeclaredTable, models: list[SourceModel]
) -> Iterator[Difference]:
    listed = {c.casefold() for c in entry.columns}
    for column in sorted(table.columns, key=lambda c: c.position):
        notes = []
        if entry.columns and column.name.casefold() not in listed:
            notes.append(f"not in {entry.file}")
        if models and not any(m.selects(column.name, table) for m in models):
            notes.append(f"not in {_names(models)}")
        if notes:
            yield _column(table, column.name, "+", notes)
    present = {c.name.casefold() for c in table.columns}
    for name in entry.columns:
        if name.casefold() not in present:
            notes = ["gone from the warehouse", f"declared in {entry.file}"]
            naming = [m for m in models if m.names(name)]
            if naming:
                notes.append(f"selected by {_names(naming)}")
            yield _column(table, name, "-", notes)


def _column(table: Table, name: str, sign: Literal["+", "-"], notes: list[str]) -> Difference:
    return Difference(sign=sign, schema=table.schema, table=table.name, column=name, notes=tuple(notes))


def _names(models: Iterable[SourceModel]) -> str:
    return ", ".join(sorted(m.name for m in models))


# --- The project side, read from disk. ---


def declared_sources(project: DbtProject) -> list[DeclaredTable]:
    """Every source table declared in YAML under the project's model paths, in file order."""
    found: list[DeclaredTable] = []
    for path in _files(project, _YAML_SUFFIXES):
        if not _mentions_sources(path):
            continue
        document = load_yaml_file(path)
        if not isinstance(document, Mapping) or not isinstance(document.get("sources"), list):
            continue
        relpath = path.relative_to(project.root).as_posix()
        for source in document["sources"]:
            if isinstance(source, Mapping):
                found.extend(_source_tables(source, path, relpath))
    return found


def _mentions_sources(path: Path) -> bool:
    """A cheap first look: YAML without the word `sources` declares none (and need not parse)."""
    try:
        return "sources" in path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return True  # let load_yaml_file name the problem


def _source_tables(source: Mapping[str, Any], path: Path, relpath: str) -> Iterator[DeclaredTable]:
    try:
        name = render_value(source.get("name"), file=path, where="a source's 'name'")
        schema = render_value(source.get("schema"), file=path, where=f"key 'schema' of source '{name}'")
    except ConfigError as error:
        logger.warning("Not comparing a source of %s: %s", relpath, error.message)
        return
    if not isinstance(name, str) or not name or _disabled(source):
        return
    schema = schema if isinstance(schema, str) and schema else name
    for table in source.get("tables") or []:
        if not isinstance(table, Mapping) or not isinstance(table.get("name"), str) or _disabled(table):
            continue
        identifier = table.get("identifier")
        columns = table.get("columns") or []
        yield DeclaredTable(
            source=name,
            table=table["name"],
            schema=schema,
            identifier=identifier if isinstance(identifier, str) and identifier else table["name"],
            file=relpath,
            columns=tuple(
                str(c["name"]) for c in columns if isinstance(c, Mapping) and c.get("name") is not None
            ),
            description=_described(table),
            column_descriptions=tuple(
                (str(c["name"]), text)
                for c in columns
                if isinstance(c, Mapping) and c.get("name") is not None and (text := _described(c))
            ),
        )


def _described(entry: Mapping[str, Any]) -> str | None:
    text = entry.get("description")
    return text.strip() if isinstance(text, str) and text.strip() else None


def _disabled(entry: Mapping[str, Any]) -> bool:
    config = entry.get("config")
    return isinstance(config, Mapping) and config.get("enabled") is False


def source_models(project: DbtProject) -> dict[tuple[str, str], list[SourceModel]]:
    """The SQL models under the model paths, by the (source, table) pairs they select from."""
    found: dict[tuple[str, str], list[SourceModel]] = {}
    for path in _files(project, (".sql",)):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"Cannot read {path}: {type(exc).__name__}", file=str(path)) from None
        calls = {(m.group(2), m.group(4)) for m in _SOURCE_CALL.finditer(text)}
        if calls:
            model = _source_model(path.stem, text)
            for call in sorted(calls):
                found.setdefault(call, []).append(model)
    return found


def _source_model(name: str, text: str) -> SourceModel:
    sql = _NOT_COLUMNS.sub(" ", _RAW_BLOCK.sub(lambda m: m.group(1), text))
    quoted, bare = set(), set()
    for match in _IDENTIFIER.finditer(sql):
        if match.group(1) is not None:
            quoted.add(match.group(1).replace('""', '"').casefold())
        else:
            bare.add(match.group(2).casefold())
    return SourceModel(name=name, quoted=frozenset(quoted), bare=frozenset(bare))


def _files(project: DbtProject, suffixes: tuple[str, ...]) -> list[Path]:
    """Files with these suffixes under the model paths, sorted, each once."""
    found: set[Path] = set()
    for model_path in project.model_paths:
        directory = project.root / model_path
        if directory.is_dir():
            found.update(p for p in directory.rglob("*") if p.suffix in suffixes and p.is_file())
    return sorted(found)
