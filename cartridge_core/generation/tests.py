"""Schema tests proposed for staging models, each with the evidence that it should hold.

What the catalog declares (primary keys, unique constraints, NOT NULL, foreign keys, enum types,
`CHECK (col IN (...))`) and what the data showed (profiles, verified relationships) become dbt's
generic tests on the staged columns, named as staging names them. A proposal is only a guess
until it has run: `cartridge_core.dbt.verify.verify_tests` runs every one before it is written.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass

from cartridge_core.generation.naming import entity_name, snake_case
from cartridge_core.generation.sql import needs_quotes, quote_identifier
from cartridge_core.generation.staging import StagedColumn, StagingModel, staging_models
from cartridge_core.models import (
    Column,
    ColumnDoc,
    ColumnProfile,
    ModelDoc,
    Relationship,
    Scan,
    SchemaTest,
    Table,
    TableProfile,
    TypeFamily,
)
from cartridge_core.warehouse.types import check_values, column_family

NUMERIC_FAMILIES: frozenset[TypeFamily] = frozenset({"integer", "decimal", "float"})
# A value set read from a profile is only trusted as the column's domain when it is small, was
# counted over every row, and each value appears often enough that a new one would be a surprise.
MAX_PROFILED_VALUES = 10
MIN_ROWS_PER_VALUE = 5
_PROFILED_VALUE_FAMILIES: frozenset[TypeFamily] = frozenset({"text", "integer"})
# Sampled or estimated distinct counts are only roughly the row count (as relationships.py allows).
_APPROXIMATE_UNIQUE = 0.98
_KEY_WORDS = ("id", "key", "uuid", "code")
# dbt pastes accepted values into SQL between single quotes without escaping, and renders Jinja.
_UNSAFE_IN_VALUES = ("'", "{{", "{%", "{#")


@dataclass(frozen=True, slots=True, kw_only=True)
class KeyColumn:
    """A column that identifies a row of its table, and why Cartridge believes so."""

    name: str  # the warehouse column
    reason: str  # "primary key", "unique constraint", or the profile's "distinct = rows (1,204)"
    not_null: bool  # declared NOT NULL, part of the primary key, or no nulls in an exact profile


@dataclass(frozen=True, slots=True, kw_only=True)
class _TableFacts:
    """Everything known about one staged table that its tests are proposed from."""

    model: StagingModel
    profile: TableProfile | None
    keys: dict[str, KeyColumn]
    references: dict[str, list[tuple[Relationship, StagingModel]]]  # child column -> parents


def propose_staging_tests(
    scan: Scan, models: Sequence[StagingModel], *, refs: Collection[str] | None = None
) -> list[ModelDoc]:
    """Tests for each staging model's columns (in model order), with evidence; no descriptions.

    `relationships` tests point at `ref('<parent staging model>')`; only parents named in `refs`
    (by default: the models given) are referred to, so no test refers to a model that is not there.
    """
    parents = {(m.table.schema, m.table.name): m for m in [*staging_models(scan), *models]}
    wanted = {m.name for m in models} if refs is None else set(refs)
    profiles = {(p.schema, p.table): p for p in scan.profiles}
    docs = []
    for model in models:
        table = model.table
        profile = profiles.get((table.schema, table.name))
        facts = _TableFacts(
            model=model,
            profile=profile,
            keys={k.name: k for k in key_columns(scan, table, profile)},
            references=_references(scan, table, parents, wanted),
        )
        columns = tuple(
            ColumnDoc(name=c.name, quote=needs_quotes(c.name), tests=_column_tests(c, facts))
            for c in model.columns
        )
        docs.append(ModelDoc(name=model.name, columns=columns, tests=composite_key_tests(model)))
    return docs


def composite_key_tests(
    model: StagingModel, *, present: Collection[str] | None = None
) -> tuple[SchemaTest, ...]:
    """`unique` on the row value of a primary key of several columns: every model gets a key test.

    dbt's own `unique` with `column_name: "(a, b)"` groups by the row value on PostgreSQL and DuckDB
    alike; each key column gets its own `not_null` (see _column_tests).
    """
    key = model.table.primary_key
    staged = {c.column.name: c.name for c in model.columns}
    if len(key) < 2 or any(k not in staged for k in key):
        return ()
    if present is not None and any(staged[k] not in present for k in key):
        return ()  # a model that does not keep every key column under its staged name
    names = [quote_identifier(staged[k]) if needs_quotes(staged[k]) else staged[k] for k in key]
    return (SchemaTest(kind="unique", column_name=f"({', '.join(names)})", evidence="primary key"),)


def key_columns(scan: Scan, table: Table, profile: TableProfile | None) -> list[KeyColumn]:
    """The single columns that identify a row: declared primary or unique keys, else profiled ones.

    A column counts as profiled-unique only when its distinct count equals the row count with no
    nulls, and its name is the table's own identifier (`id`, `<entity>_id`, ...) or another table
    refers to it. Composite keys are left out: dbt's `unique` tests one column.
    """
    declared = []
    if len(table.primary_key) == 1:
        declared.append(KeyColumn(name=table.primary_key[0], reason="primary key", not_null=True))
    for key in table.unique_keys:
        column = table.column(key[0]) if len(key) == 1 else None
        if column is not None and all(k.name != column.name for k in declared):
            no_nulls = not column.nullable or _null_count(profile, column.name) == 0
            declared.append(KeyColumn(name=column.name, reason="unique constraint", not_null=no_nulls))
    if declared or profile is None or profile.row_count < 2:
        return declared
    referred = {r.parent_columns[0] for r in scan.relationships if _is_parent(r, table)}
    return [
        KeyColumn(name=c.name, reason=reason, not_null=True)
        for c in table.columns
        if (c.name in referred or _own_identifier(c.name, table.name))
        and (reason := _profiled_unique(profile, c.name)) is not None
    ]


def _column_tests(staged: StagedColumn, facts: _TableFacts) -> tuple[SchemaTest, ...]:
    column = staged.column
    key = facts.keys.get(column.name)
    tests: list[SchemaTest] = []
    if key is not None:
        tests.append(SchemaTest(kind="unique", evidence=key.reason))
    if (key is not None and key.not_null) or not column.nullable:
        tests.append(SchemaTest(kind="not_null", evidence=_not_null_evidence(column, key, facts.profile)))
    if key is None and column.name not in facts.references:
        accepted = _accepted_values(column, facts)
        tests.extend([accepted] if accepted else [])
    tests.extend(_relationship_test(r, parent) for r, parent in facts.references.get(column.name, ()))
    return tuple(tests)


def _not_null_evidence(column: Column, key: KeyColumn | None, profile: TableProfile | None) -> str:
    if profile is not None and profile.method == "exact" and _null_count(profile, column.name) == 0:
        return f"0 nulls in {_count(profile.row_count)} rows"
    if not column.nullable:
        return "declared NOT NULL"
    return key.reason if key is not None else "no nulls in the profile"


def _accepted_values(column: Column, facts: _TableFacts) -> SchemaTest | None:
    family = column_family(column)
    if family == "boolean":
        return None  # true/false says nothing a boolean type does not
    values, evidence = _declared_values(column, facts.model.table)
    if not values:
        values, evidence = _profiled_values(column, family, facts.profile)
    if not values or any(bad in v for v in values for bad in _UNSAFE_IN_VALUES):
        return None
    return SchemaTest(
        kind="accepted_values",
        values=values,
        quote_values=family not in NUMERIC_FAMILIES,
        evidence=evidence,
    )


def _declared_values(column: Column, table: Table) -> tuple[tuple[str, ...], str]:
    if not column.enum_values:
        return (), ""
    checked = any((found := check_values(d)) and found[0] == column.name for d in table.check_constraints)
    return column.enum_values, "CHECK constraint" if checked else "enum labels"


def _profiled_values(
    column: Column, family: TypeFamily, profile: TableProfile | None
) -> tuple[tuple[str, ...], str]:
    """The column's values when the profile saw every row and them all: a small, complete set."""
    measured = profile.column(column.name) if profile else None
    if (
        profile is None
        or measured is None
        or profile.method != "exact"
        or family not in _PROFILED_VALUE_FAMILIES
    ):
        return (), ""
    distinct = measured.distinct_count or 0
    non_null = sum(count for _, count in measured.top_values)
    nulls = _null_count(profile, column.name)
    complete = (
        len(measured.top_values) == distinct and nulls is not None and non_null + nulls == profile.row_count
    )
    if not complete or not 2 <= distinct <= MAX_PROFILED_VALUES or non_null < MIN_ROWS_PER_VALUE * distinct:
        return (), ""
    values = sorted((v for v, _ in measured.top_values), key=_numeric_key if family == "integer" else str)
    return tuple(values), f"all {distinct} values seen in {_count(profile.row_count)} rows"


def _numeric_key(value: str) -> tuple[int, str]:
    try:
        return int(value), value
    except ValueError:
        return 0, value


def _relationship_test(relationship: Relationship, parent: StagingModel) -> SchemaTest:
    field = next(c.name for c in parent.columns if c.column.name == relationship.parent_columns[0])
    return SchemaTest(
        kind="relationships",
        to=f"ref('{parent.name}')",
        field=quote_identifier(field) if needs_quotes(field) else field,
        evidence="; ".join(relationship.evidence) or f"{relationship.source} foreign key",
    )


def _references(
    scan: Scan,
    table: Table,
    parents: dict[tuple[str, str], StagingModel],
    refs: set[str],
) -> dict[str, list[tuple[Relationship, StagingModel]]]:
    """Single-column relationships from `table` to a staged parent that may be referred to."""
    found: dict[str, list[tuple[Relationship, StagingModel]]] = {}
    for relationship in _outgoing(scan, table):
        parent = parents.get((relationship.parent_schema, relationship.parent_table))
        if parent is None or parent.name not in refs:
            continue
        if not any(c.column.name == relationship.parent_columns[0] for c in parent.columns):
            continue
        found.setdefault(relationship.child_columns[0], []).append((relationship, parent))
    return found


def _outgoing(scan: Scan, table: Table) -> Iterator[Relationship]:
    for relationship in scan.relationships:
        single = len(relationship.child_columns) == 1 and len(relationship.parent_columns) == 1
        if single and (relationship.child_schema, relationship.child_table) == (table.schema, table.name):
            yield relationship


def _is_parent(relationship: Relationship, table: Table) -> bool:
    return len(relationship.parent_columns) == 1 and (
        relationship.parent_schema,
        relationship.parent_table,
    ) == (table.schema, table.name)


def _own_identifier(column: str, table: str) -> bool:
    """`id`, `key`, or `<entity>_id` / `<entity>id` for this table's entity (customers -> customer_id)."""
    name, snake = snake_case(column), snake_case(table)
    forms = {snake, entity_name(snake)}
    owned = {f"{form}{sep}{word}" for form in forms for word in _KEY_WORDS for sep in ("_", "")}
    return name in _KEY_WORDS or name in owned


def _profiled_unique(profile: TableProfile, column: str) -> str | None:
    measured: ColumnProfile | None = profile.column(column)
    if measured is None or measured.distinct_count is None or _null_count(profile, column) != 0:
        return None
    rows = profile.row_count
    if profile.method == "exact":
        return f"distinct = rows ({_count(rows)})" if measured.distinct_count == rows else None
    if measured.distinct_count >= _APPROXIMATE_UNIQUE * rows:
        return f"distinct about rows (~{_count(rows)}, {profile.method})"
    return None


def _null_count(profile: TableProfile | None, column: str) -> int | None:
    measured = profile.column(column) if profile else None
    if profile is None or measured is None or measured.null_fraction is None:
        return None
    return round(measured.null_fraction * profile.row_count)


def _count(number: int) -> str:
    return f"{number:,}"
