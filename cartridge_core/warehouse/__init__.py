"""Read a warehouse's catalog, fast and read-only: tables, columns, keys and comments.

Each dbt adapter type has one scanner behind the `WarehouseScanner` protocol; this package is the
only place that names an engine. Scanner modules and their drivers are imported on first use.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Any

from cartridge_core.models import (
    Containment,
    ContainmentQuery,
    Scan,
    Table,
    TableProfile,
    WarehouseTarget,
)
from cartridge_core.progress import Progress
from cartridge_core.warehouse.base import DEFAULT_STATEMENT_TIMEOUT_S, WarehouseScanner

__all__ = [
    "WarehouseScanner",
    "list_schemas",
    "measure_containment",
    "profile_tables",
    "scan_warehouse",
    "scanner_for",
]

# adapter type -> (module, class); modules load lazily because SQLAlchemy alone costs ~0.2 s.
SCANNERS: dict[str, tuple[str, str]] = {
    "postgres": ("cartridge_core.warehouse.postgres", "PostgresScanner"),
    "duckdb": ("cartridge_core.warehouse.duckdb", "DuckDBScanner"),
}


# Every other adapter type: read through dbt with Cartridge's dbt package (slower, no keys).
GENERIC_SCANNER = ("cartridge_core.warehouse.generic", "GenericScanner")


def scanner_for(
    target: WarehouseTarget,
    *,
    statement_timeout: float = DEFAULT_STATEMENT_TIMEOUT_S,
    generic: bool = False,
) -> WarehouseScanner:
    """The native scanner for the target's adapter type, else (or when `generic`) the one through dbt."""
    module_name, class_name = GENERIC_SCANNER if generic else SCANNERS.get(target.type, GENERIC_SCANNER)
    scanner_class = getattr(importlib.import_module(module_name), class_name)
    scanner: WarehouseScanner = scanner_class(target, statement_timeout=statement_timeout)
    return scanner


def scan_warehouse(
    target: WarehouseTarget,
    *,
    schemas: Sequence[str] | None,
    progress: Progress,
    statement_timeout: float = DEFAULT_STATEMENT_TIMEOUT_S,
) -> Scan:
    """Scan the named schemas (or every source schema) of the target's warehouse, read-only."""
    return scanner_for(target, statement_timeout=statement_timeout).scan(schemas, progress)


def list_schemas(target: WarehouseTarget) -> list[str]:
    """The schemas scanned by default: all but system schemas and those dbt builds into, sorted."""
    return scanner_for(target).default_schemas()


def profile_tables(
    target: WarehouseTarget, tables: Sequence[Table], *, progress: Progress, **options: Any
) -> tuple[TableProfile, ...]:
    """Profile tables in the warehouse: native SQL for PostgreSQL and DuckDB, dbt macros otherwise."""
    if target.type not in SCANNERS:
        return scanner_for(target).profile_tables(tables, progress=progress)  # type: ignore[attr-defined,no-any-return]
    from cartridge_core.warehouse.profiling import profile_tables as native

    return native(target, tables, progress=progress, **options)


def measure_containment(
    target: WarehouseTarget, queries: Sequence[ContainmentQuery], *, progress: Progress, **options: Any
) -> tuple[Containment, ...]:
    """Measure containments in the warehouse: native SQL for PostgreSQL and DuckDB, dbt macros otherwise."""
    if target.type not in SCANNERS:
        return scanner_for(target).measure_containment(queries, progress=progress)  # type: ignore[attr-defined,no-any-return]
    from cartridge_core.warehouse.containment import measure_containment as native

    return native(target, queries, progress=progress, **options)
