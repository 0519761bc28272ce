"""Staging models for scanned tables, laid out as dbt Labs' "How we structure our dbt projects" says.

Per source (one per schema): `staging/<source>/stg_<source>__<table>.sql` for each table,
`_<source>__sources.yml` declaring the raw tables and `_<source>__models.yml` documenting and
testing the staged ones. Names are decided over the whole scan, so a table keeps its names
whichever tables are asked for.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from itertools import groupby
from pathlib import PurePosixPath
from typing import Any

from cartridge_core.errors import CartridgeError
from cartridge_core.generation.naming import (
    column_name,
    entity_name,
    model_name,
    relation_name,
    unique_names,
)
from cartridge_core.generation.sql import needs_quotes, render_staging_sql
from cartridge_core.models import Column, ColumnDoc, DbtProject, ModelDoc, Scan, Table
from cartridge_core.project.yaml_edit import fresh_models_yaml
from cartridge_core.project.yamlio import dump_yaml


@dataclass(frozen=True, slots=True, kw_only=True)
class StagedColumn:
    """One column of a staging model: the warehouse column and its staged name."""

    column: Column
    name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class StagingModel:
    """One staging model: the table it stages, its source's names, and its columns."""

    table: Table
    source_name: str  # the schema, snake_case
    table_name: str  # the table's name in the source, snake_case
    columns: tuple[StagedColumn, ...]

    @property
    def name(self) -> str:
        return model_name(self.source_name, self.table_name)


def generate_staging(
    scan: Scan, project: DbtProject, *, tables: Iterable[tuple[str, str]] | None = None
) -> dict[str, str]:
    """The files of staging models for the scan (or only `tables`, as (schema, table) pairs).

    Maps each path, relative to the project root with posix separators, to its full content.
    Pure and deterministic: the same scan in any order gives the same bytes.
    """
    models = select_models(staging_models(scan), tables)
    files: dict[str, str] = {}
    for source_name, group in groupby(models, key=lambda m: m.source_name):
        in_source = list(group)
        folder = PurePosixPath(project.models_dir, "staging", source_name)
        for model in in_source:
            files[(folder / f"{model.name}.sql").as_posix()] = _model_sql(model)
        files[(folder / f"_{source_name}__sources.yml").as_posix()] = _sources_yaml(in_source)
        files[models_yaml_path(project, source_name)] = fresh_models_yaml(basic_docs(in_source))
    return dict(sorted(files.items()))


def staging_models(scan: Scan) -> list[StagingModel]:
    """A staging model for every scanned table and view, sorted by source and table name."""
    ordered = sorted(scan.tables, key=lambda t: (t.schema, t.name))
    schemas = sorted({t.schema for t in ordered})
    source_names = dict(
        zip(schemas, unique_names([(s, relation_name(s, prefix="source")) for s in schemas]), strict=True)
    )
    models = []
    for schema, group in groupby(ordered, key=lambda t: t.schema):
        in_schema = list(group)
        wanted = [(t.name, relation_name(t.name, prefix="table")) for t in in_schema]
        for table, table_name in zip(in_schema, unique_names(wanted), strict=True):
            models.append(_staging_model(table, source_names[schema], table_name))
    return sorted(models, key=lambda m: (m.source_name, m.table_name))


def _staging_model(table: Table, source_name: str, table_name: str) -> StagingModel:
    entity = entity_name(table_name)
    columns = sorted(table.columns, key=lambda c: (c.position, c.name))
    wanted = [
        (c.name, column_name(c.name, c.data_type, entity=entity, position=c.position, family=c.type_family))
        for c in columns
    ]
    staged = tuple(
        StagedColumn(column=c, name=name) for c, name in zip(columns, unique_names(wanted), strict=True)
    )
    return StagingModel(table=table, source_name=source_name, table_name=table_name, columns=staged)


def select_models(models: list[StagingModel], tables: Iterable[tuple[str, str]] | None) -> list[StagingModel]:
    if tables is None:
        return models
    wanted = set(tables)
    known = {(m.table.schema, m.table.name) for m in models}
    missing = sorted(wanted - known)
    if missing:
        schema, name = missing[0]
        raise CartridgeError(f"Table {schema}.{name} is not in the scan; scan it first")
    return [m for m in models if (m.table.schema, m.table.name) in wanted]


def _model_sql(model: StagingModel) -> str:
    return render_staging_sql(
        source_name=model.source_name,
        table_name=model.table_name,
        columns=[(c.column.name, c.name) for c in model.columns],
    )


def _sources_yaml(models: list[StagingModel]) -> str:
    schema = models[0].table.schema
    source: dict[str, Any] = {"name": models[0].source_name, "schema": schema}
    if needs_quotes(schema):
        source["quoting"] = {"schema": True}
    source["tables"] = [_source_table(m) for m in models]
    return dump_yaml({"version": 2, "sources": [source]}, spaced=True)


def _source_table(model: StagingModel) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": model.table_name}
    if model.table.name != model.table_name:
        entry["identifier"] = model.table.name
    if needs_quotes(model.table.name):
        entry["quoting"] = {"identifier": True}
    _describe(entry, model.table.comment)
    entry["columns"] = [_column_entry(c.column.name, c.column.comment) for c in model.columns]
    return entry


def models_yaml_path(project: DbtProject, source_name: str) -> str:
    """Where the models YAML of a source's staging models goes, relative to the project root."""
    return PurePosixPath(project.models_dir, "staging", source_name, f"_{source_name}__models.yml").as_posix()


def basic_docs(models: Iterable[StagingModel]) -> list[ModelDoc]:
    """Each model's entry with only what the warehouse says: its comments, no guesses and no tests.

    Tests are written only once they have run on the data (`dbt.verify`), and descriptions beyond
    the comments only when asked for (`docs.describe_staging`).
    """
    docs = []
    for model in models:
        table = model.table
        columns = tuple(
            ColumnDoc(name=c.name, description=_comment(c.column.comment), quote=needs_quotes(c.name))
            for c in model.columns
        )
        description = _comment(table.comment) or f"Staged {table.name} from the {model.source_name} source."
        docs.append(ModelDoc(name=model.name, description=description, columns=columns))
    return docs


def _comment(text: str | None) -> str | None:
    return _jinja_safe(text.strip()) if text and text.strip() else None


def _column_entry(name: str, comment: str | None) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": name}
    if needs_quotes(name):
        entry["quote"] = True
    _describe(entry, comment)
    return entry


def _describe(entry: dict[str, Any], text: str | None) -> None:
    """Set `description` from a warehouse comment, when it says anything."""
    if text and text.strip():
        entry["description"] = _jinja_safe(text.strip())


def _jinja_safe(text: str) -> str:
    # dbt renders descriptions with Jinja: a comment mentioning `{{` would break the project's parse.
    if any(opener in text for opener in ("{{", "{%", "{#")):
        return "{% raw %}" + text + "{% endraw %}"
    return text
