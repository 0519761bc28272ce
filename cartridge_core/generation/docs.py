"""Descriptions for generated models and their columns, in plain deterministic words.

A description comes, best first, from what a person wrote: the project's own description of the
source column (when the caller passes the sources' docs), then the warehouse comment. Failing
both, keys, foreign keys, `_at` timestamps and `is_` flags get a modest sentence; other columns
get none rather than a guess. Staged columns keep their source column's description whatever
they were renamed to (`id as customer_id`), and `propagate_descriptions` carries them on to
models built from staging. Whether an existing description in a YAML file is kept is the YAML
merge's call: it never replaces a non-empty one.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace

from cartridge_core.generation.naming import entity_name, snake_case
from cartridge_core.generation.sql import needs_quotes
from cartridge_core.generation.staging import StagedColumn, StagingModel, staging_models
from cartridge_core.generation.tests import key_columns, propose_staging_tests
from cartridge_core.models import ColumnDoc, ModelDoc, Scan, Table, TypeFamily
from cartridge_core.warehouse.types import column_family

SourceDocs = Mapping[tuple[str, str], ModelDoc]  # (schema, table) -> the table's documented entry
_FLAG_PREFIXES = ("is_", "has_", "was_", "can_", "should_")
_TIMESTAMP_FAMILIES: frozenset[TypeFamily] = frozenset({"timestamp", "timestamptz"})
_JINJA_OPENERS = ("{{", "{%", "{#")


def propose_staging_docs(
    scan: Scan,
    models: Sequence[StagingModel],
    *,
    refs: Collection[str] | None = None,
    sources: SourceDocs | None = None,
) -> list[ModelDoc]:
    """Each staging model's description and its columns' descriptions and proposed tests.

    `refs` and `sources` are as `propose_staging_tests` and `describe_staging` take them.
    """
    tested = propose_staging_tests(scan, models, refs=refs)
    described = describe_staging(scan, models, sources=sources)
    return [with_tests(doc, tests) for doc, tests in zip(described, tested, strict=True)]


def describe_staging(
    scan: Scan, models: Sequence[StagingModel], *, sources: SourceDocs | None = None
) -> list[ModelDoc]:
    """Descriptions for each staging model and its columns (in model order); no tests.

    `sources` holds what the project's sources YAML already says about source tables, keyed by
    (schema, warehouse table name), with columns under their warehouse names.
    """
    named = {(m.table.schema, m.table.name): m.table_name for m in [*staging_models(scan), *models]}
    profiles = {(p.schema, p.table): p for p in scan.profiles}
    docs = []
    for model in models:
        table = model.table
        written = (sources or {}).get((table.schema, table.name))
        keys = {k.name: k.reason for k in key_columns(scan, table, profiles.get((table.schema, table.name)))}
        parents = _parents(scan, table, named)
        columns = tuple(
            ColumnDoc(
                name=c.name,
                description=_column_description(model, c, written, keys, parents),
                quote=needs_quotes(c.name),
            )
            for c in model.columns
        )
        description = _trimmed(written.description if written else None) or _from_comment(table.comment)
        docs.append(
            ModelDoc(
                name=model.name,
                description=description or f"Staged {table.name} from the {model.source_name} source.",
                columns=columns,
            )
        )
    return docs


def propagate_descriptions(upstream: ModelDoc, lineage: Mapping[str, str]) -> dict[str, str]:
    """Descriptions for downstream columns, taken from the upstream columns they come from.

    `lineage` maps each downstream column to the upstream column it selects (renamed or not);
    columns whose upstream column has no description are left out.
    """
    known = {c.name: c.description for c in upstream.columns if c.description and c.description.strip()}
    return {down: known[up] for down, up in lineage.items() if up in known}


def with_tests(described: ModelDoc, tested: ModelDoc) -> ModelDoc:
    """The described model with the tests of the same model's proposals (model-level and per column)."""
    tests = {c.name: c.tests for c in tested.columns}
    columns = tuple(replace(c, tests=tests.get(c.name, ())) for c in described.columns)
    return replace(described, columns=columns, tests=tested.tests)


def _column_description(
    model: StagingModel,
    staged: StagedColumn,
    written: ModelDoc | None,
    keys: Mapping[str, str],
    parents: Mapping[str, str],
) -> str | None:
    column = staged.column
    documented = (
        next((c.description for c in written.columns if c.name == column.name), None) if written else None
    )
    found = _trimmed(documented) or _from_comment(column.comment)
    if found:
        return found
    if column.name in keys:  # a UNIQUE constraint beside the primary key is no primary key (a `sku`)
        kind = "Unique" if keys[column.name] == "unique constraint" else "Primary"
        return f"{kind} key of {model.table_name}."
    if column.name in parents:
        return f"Foreign key to {parents[column.name]}."
    return _by_name(staged, entity_name(model.table_name))


def _by_name(staged: StagedColumn, entity: str) -> str | None:
    """A sentence for `_at` timestamps and `is_`-style flags, read from the staged name."""
    family = column_family(staged.column)
    name = staged.name
    if family in _TIMESTAMP_FAMILIES and name.endswith("_at") and len(name) > 3:
        return f"When the {_words(entity)} was {_words(name[:-3])}."
    prefix = next((p for p in _FLAG_PREFIXES if name.startswith(p) and len(name) > len(p)), None)
    if family == "boolean" and prefix:
        return f"Whether the {_words(entity)} {prefix[:-1]} {_words(name[len(prefix) :])}."
    return None


def _parents(scan: Scan, table: Table, named: Mapping[tuple[str, str], str]) -> dict[str, str]:
    """Child column -> the table name it refers to, for the table's single-column relationships."""
    found: dict[str, str] = {}
    for r in scan.relationships:
        if (r.child_schema, r.child_table) == (table.schema, table.name) and len(r.child_columns) == 1:
            parent = named.get((r.parent_schema, r.parent_table)) or snake_case(r.parent_table)
            found.setdefault(r.child_columns[0], parent)
    return found


def _words(snake: str) -> str:
    return " ".join(word for word in snake.split("_") if word)


def _trimmed(text: str | None) -> str | None:
    """`text` without surrounding blanks; None when it says nothing."""
    return text.strip() if text and text.strip() else None


def _from_comment(comment: str | None) -> str | None:
    """A warehouse comment as a description dbt can render (its Jinja-like text kept literal)."""
    text = _trimmed(comment)
    # dbt renders descriptions with Jinja: a comment mentioning `{{` would break the project's parse.
    # Descriptions a person wrote in YAML are already dbt's (`{{ doc('...') }}`) and stay as written.
    if text and any(opener in text for opener in _JINJA_OPENERS):
        return "{% raw %}" + text + "{% endraw %}"
    return text
