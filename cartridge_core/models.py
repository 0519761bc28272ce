"""Plain values shared by every part of core: the scan of a warehouse and the dbt project it serves."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

TableKind = Literal["table", "view", "materialized_view", "foreign_table", "partitioned_table"]

# Canonical type families: generation and inference reason about these, never about raw type names.
TypeFamily = Literal[
    "integer", "decimal", "float", "text", "boolean", "date", "timestamp", "timestamptz",
    "interval", "json", "array", "uuid", "binary", "other",
]  # fmt: skip


@dataclass(frozen=True, slots=True, kw_only=True)
class Column:
    """One column of a table, as the warehouse catalog declares it."""

    name: str
    data_type: str  # the engine's own spelling, e.g. "character varying(20)", "TIMESTAMP WITH TIME ZONE"
    nullable: bool
    position: int  # 1-based ordinal position
    comment: str | None = None
    type_family: TypeFamily = "other"
    enum_values: tuple[str, ...] = ()  # labels of an enum type, or of a `CHECK (col IN (...))`


@dataclass(frozen=True, slots=True, kw_only=True)
class ForeignKey:
    """A declared foreign key from `columns` of one table to `ref_columns` of another."""

    name: str | None
    columns: tuple[str, ...]
    ref_schema: str
    ref_table: str
    ref_columns: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Table:
    """A table or view with its columns and keys, the same shape whatever the engine."""

    schema: str
    name: str
    kind: TableKind = "table"
    columns: tuple[Column, ...] = ()
    primary_key: tuple[str, ...] = ()
    foreign_keys: tuple[ForeignKey, ...] = ()
    comment: str | None = None
    row_estimate: int | None = None
    unique_keys: tuple[tuple[str, ...], ...] = ()  # unique constraints and unique indexes
    check_constraints: tuple[str, ...] = ()  # their definitions, as the catalog prints them
    view_definition: str | None = None
    size_bytes: int | None = None

    def column(self, name: str) -> Column | None:
        """The column called `name` (exact, case-sensitive), if any."""
        return next((c for c in self.columns if c.name == name), None)


ProfileMethod = Literal["exact", "sample", "statistics"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ColumnProfile:
    """What the data in one column looks like, computed in the warehouse."""

    column: str
    null_fraction: float | None = None
    distinct_count: int | None = None
    min_value: str | None = None
    max_value: str | None = None
    top_values: tuple[tuple[str, int], ...] = ()  # (value, count) for low-cardinality columns
    samples: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class TableProfile:
    """The profile of one table: its row count and each column's profile, and how they were got."""

    schema: str
    table: str
    row_count: int
    method: ProfileMethod
    sample_percent: float | None = None
    columns: tuple[ColumnProfile, ...] = ()
    note: str | None = None  # one line when the profile is partial or approximate, e.g. over its time budget

    def column(self, name: str) -> ColumnProfile | None:
        return next((c for c in self.columns if c.column == name), None)


RelationshipSource = Literal["declared", "inferred"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Relationship:
    """A child table's columns referring to a parent table's key: declared, or inferred and verified."""

    child_schema: str
    child_table: str
    child_columns: tuple[str, ...]
    parent_schema: str
    parent_table: str
    parent_columns: tuple[str, ...]
    source: RelationshipSource
    confidence: float  # 1.0 for declared keys
    evidence: tuple[str, ...] = ()  # e.g. ("name customer_id matches customers.id", "99.8 % contained")


TableRoleKind = Literal["fact", "dimension", "bridge", "other"]


@dataclass(frozen=True, slots=True, kw_only=True)
class TableRole:
    """Whether a table is a fact, dimension or bridge, and why."""

    schema: str
    table: str
    role: TableRoleKind
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class SkippedTable:
    """A relation the scan saw but could not use, and why (not populated, no privilege, ...)."""

    schema: str
    name: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Scan:
    """What one scan of a warehouse found, in the chosen schemas."""

    engine: str  # the dbt adapter type: "postgres", "duckdb"
    database: str
    schemas: tuple[str, ...]
    tables: tuple[Table, ...]
    skipped: tuple[SkippedTable, ...] = ()
    profiles: tuple[TableProfile, ...] = ()
    relationships: tuple[Relationship, ...] = ()
    roles: tuple[TableRole, ...] = ()

    def tables_in(self, schema: str) -> tuple[Table, ...]:
        """The tables of one schema, in scan order."""
        return tuple(t for t in self.tables if t.schema == schema)

    def table(self, schema: str, name: str) -> Table | None:
        """One table by schema and name (exact), if scanned."""
        return next((t for t in self.tables if t.schema == schema and t.name == name), None)


@dataclass(frozen=True, slots=True, kw_only=True)
class DbtProject:
    """A dbt project found on disk: its root and the settings Cartridge needs from dbt_project.yml."""

    root: Path  # absolute directory holding dbt_project.yml
    name: str
    profile_name: str
    model_paths: tuple[str, ...] = ("models",)
    target_path: str = "target"

    @property
    def project_file(self) -> Path:
        return self.root / "dbt_project.yml"

    @property
    def models_dir(self) -> str:
        """The first model path, where generated models go (relative to the root)."""
        return self.model_paths[0]


@dataclass(frozen=True, slots=True, kw_only=True)
class WarehouseTarget:
    """The dbt profile target Cartridge connects to, with env_var() already rendered.

    `credentials` holds the target's keys as dbt reads them (host, user, password, path, ...);
    it is kept out of repr so a password never reaches a log.
    """

    type: str  # the adapter type: "postgres", "duckdb"
    profile_name: str
    target_name: str
    profiles_file: Path  # the profiles.yml it came from
    schema: str  # the schema dbt builds into for this target
    database: str
    credentials: Mapping[str, Any] = field(default_factory=dict, repr=False)
    # The project whose profile names this target (set by load_target): dbt runs there, so relative
    # paths in the profile resolve against its root, and the generic scanner runs dbt in its shadow.
    project: DbtProject | None = None

    @property
    def profiles_dir(self) -> Path:
        return self.profiles_file.parent


CheckStatus = Literal["pass", "error"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelCheck:
    """The result of checking one model with dbt against the warehouse."""

    model: str  # the model name, e.g. "stg_shop__orders"
    path: str  # the model's file, relative to the project root (posix)
    status: CheckStatus
    message: str | None = None  # one line, when status is "error"
    line: int | None = None  # 1-based line in `path`, when known


@dataclass(frozen=True, slots=True, kw_only=True)
class ContainmentQuery:
    """Ask: how many non-null values of a child column are found in a parent column?"""

    child_schema: str
    child_table: str
    child_column: str
    parent_schema: str
    parent_table: str
    parent_column: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Containment:
    """The answer to a ContainmentQuery, measured in the warehouse (on a sample for large tables)."""

    query: ContainmentQuery
    child_non_null: int  # non-null child values looked at
    child_found: int  # of those, how many are in the parent column
    sampled: bool = False

    @property
    def share(self) -> float:
        """The share of non-null child values found in the parent (1.0 when there are none)."""
        return self.child_found / self.child_non_null if self.child_non_null else 1.0


TestKind = Literal["unique", "not_null", "relationships", "accepted_values"]


@dataclass(frozen=True, slots=True, kw_only=True)
class SchemaTest:
    """A dbt generic data test on one column, with the evidence that it holds (or why it is a warning)."""

    kind: TestKind
    to: str | None = None  # relationships: the parent, e.g. "ref('stg_shop__customers')"
    field: str | None = None  # relationships: the parent's column
    values: tuple[str, ...] = ()  # accepted_values
    quote_values: bool = True  # accepted_values: quote the values (False for numbers)
    severity: Literal["error", "warn"] = "error"
    evidence: str | None = None  # goes into the test's meta, e.g. "0 nulls in 1,204 rows"
    # A model-level test (ModelDoc.tests) tests this expression of the model's columns: for a
    # composite key, `unique` on the row value "(product_id, tag_id)" (no package needed).
    column_name: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ColumnDoc:
    """What Cartridge knows about one column of a model: its description and tests."""

    name: str
    description: str | None = None
    tests: tuple[SchemaTest, ...] = ()
    quote: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelDoc:
    """A model's entry in a models YAML file, as Cartridge would write it (columns in model order)."""

    name: str
    description: str | None = None
    columns: tuple[ColumnDoc, ...] = ()
    tests: tuple[SchemaTest, ...] = ()  # model-level tests, e.g. `unique` on a composite key
