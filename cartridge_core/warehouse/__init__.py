"""Read a warehouse's catalog, fast and read-only: tables, columns, keys and comments.

Each dbt adapter type has one scanner behind the `WarehouseScanner` protocol; this package is the
only place that names an engine. Scanner modules and their drivers are imported on first use.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence

from cartridge_core.errors import WarehouseError
from cartridge_core.models import Scan, WarehouseTarget
from cartridge_core.progress import Progress
from cartridge_core.warehouse.base import DEFAULT_STATEMENT_TIMEOUT_S, WarehouseScanner

__all__ = ["WarehouseScanner", "list_schemas", "scan_warehouse", "scanner_for"]

# adapter type -> (module, class); modules load lazily because SQLAlchemy alone costs ~0.2 s.
SCANNERS: dict[str, tuple[str, str]] = {
    "postgres": ("cartridge_core.warehouse.postgres", "PostgresScanner"),
    "duckdb": ("cartridge_core.warehouse.duckdb", "DuckDBScanner"),
}


def scanner_for(
    target: WarehouseTarget, *, statement_timeout: float = DEFAULT_STATEMENT_TIMEOUT_S
) -> WarehouseScanner:
    """The scanner for the target's adapter type; WarehouseError if Cartridge cannot scan it."""
    if target.type not in SCANNERS:
        supported = ", ".join(sorted(SCANNERS))
        raise WarehouseError(
            f"Cartridge cannot scan {target.type} warehouses (target {target.profile_name}."
            f"{target.target_name} in {target.profiles_file}); supported: {supported}."
        )
    module_name, class_name = SCANNERS[target.type]
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
