"""Plain values shared by every part of core: the scan of a warehouse and the dbt project it serves."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

TableKind = Literal["table", "view", "materialized_view", "foreign_table", "partitioned_table"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Column:
    """One column of a table, as the warehouse catalog declares it."""

    name: str
    data_type: str  # the engine's own spelling, e.g. "character varying(20)", "TIMESTAMP WITH TIME ZONE"
    nullable: bool
    position: int  # 1-based ordinal position
    comment: str | None = None


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

    def column(self, name: str) -> Column | None:
        """The column called `name` (exact, case-sensitive), if any."""
        return next((c for c in self.columns if c.name == name), None)


@dataclass(frozen=True, slots=True, kw_only=True)
class Scan:
    """What one scan of a warehouse found, in the chosen schemas."""

    engine: str  # the dbt adapter type: "postgres", "duckdb"
    database: str
    schemas: tuple[str, ...]
    tables: tuple[Table, ...]

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
