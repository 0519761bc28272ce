"""Which schemas a scan reads, names that need quoting, multi-column keys and progress: both engines."""

from __future__ import annotations

import pytest

from cartridge_core.errors import Cancelled, WarehouseError
from cartridge_core.progress import NullProgress
from cartridge_core.warehouse import list_schemas, scan_warehouse
from tests.core.warehouse.conftest import MakeTarget, RecordingProgress

# dbt builds into the target schema `analytics` and, for custom schemas, `analytics_<name>`.
SCHEMAS_DDL = [
    "create schema raw",
    "create schema analytics",
    "create schema analytics_staging",
    "create schema analyticsx",
    "create schema empty",
    "create table raw.a (id integer primary key)",
    "create table analytics.stg_a (id integer)",
    "create table analytics_staging.stg_b (id integer)",
    "create table analyticsx.c (id integer)",
]

# Key order differs from column order on purpose, and every name needs quoting.
QUOTED_DDL = [
    'create schema "Sales Data"',
    """create table "Sales Data"."Line Items" (
        "Order ID" integer not null,
        "lineNo" integer not null,
        "Qty Ordered" integer,
        primary key ("lineNo", "Order ID")
    )""",
    """create table "Sales Data"."Shipments" (
        id integer primary key,
        "LINE" integer,
        "order" integer,
        foreign key ("LINE", "order") references "Sales Data"."Line Items" ("lineNo", "Order ID")
    )""",
]

THREE_SCHEMAS_DDL = [f"create schema s{i}" for i in (1, 2, 3)] + [
    f"create table s{i}.t (id integer)" for i in (1, 2, 3)
]


def test_scan_default_schemas_skip_dbt_and_system_schemas(make_target: MakeTarget) -> None:
    """By default neither the target schema, its `_` siblings nor system schemas are scanned."""
    target = make_target(SCHEMAS_DDL)
    default = {"postgres": "public", "duckdb": "main"}[target.type]
    expected = sorted(["analyticsx", "empty", "raw", default])
    assert list_schemas(target) == expected
    scan = scan_warehouse(target, schemas=None, progress=NullProgress())
    assert list(scan.schemas) == expected
    assert [(t.schema, t.name) for t in scan.tables] == [("analyticsx", "c"), ("raw", "a")]


def test_scan_named_schemas_only(make_target: MakeTarget) -> None:
    """Named schemas are scanned even if dbt builds into them, and nothing else is."""
    target = make_target(SCHEMAS_DDL)
    scan = scan_warehouse(target, schemas=["raw", "analytics"], progress=NullProgress())
    assert scan.schemas == ("analytics", "raw")
    assert [(t.schema, t.name) for t in scan.tables] == [("analytics", "stg_a"), ("raw", "a")]


def test_scan_empty_schema(make_target: MakeTarget) -> None:
    """A schema without tables scans to no tables, not an error."""
    scan = scan_warehouse(make_target(SCHEMAS_DDL), schemas=["empty"], progress=NullProgress())
    assert (scan.schemas, scan.tables) == (("empty",), ())


def test_scan_unknown_schema_is_an_error(make_target: MakeTarget) -> None:
    """A named schema that does not exist gives one line naming it and the warehouse."""
    target = make_target(SCHEMAS_DDL)
    with pytest.raises(WarehouseError) as caught:
        scan_warehouse(target, schemas=["raw", "nope"], progress=NullProgress())
    message = caught.value.message
    assert '"nope"' in message and '"raw"' not in message
    assert ("warehouse.duckdb" if target.type == "duckdb" else target.database) in message


def test_scan_quoted_names_and_multi_column_foreign_key(make_target: MakeTarget) -> None:
    """Mixed-case names with spaces survive; key columns come in key order, not column order."""
    scan = scan_warehouse(make_target(QUOTED_DDL), schemas=["Sales Data"], progress=NullProgress())
    items = scan.table("Sales Data", "Line Items")
    shipments = scan.table("Sales Data", "Shipments")
    assert items is not None and shipments is not None
    assert [c.name for c in items.columns] == ["Order ID", "lineNo", "Qty Ordered"]
    assert items.primary_key == ("lineNo", "Order ID")
    assert [(fk.columns, fk.ref_schema, fk.ref_table, fk.ref_columns) for fk in shipments.foreign_keys] == [
        (("LINE", "order"), "Sales Data", "Line Items", ("lineNo", "Order ID"))
    ]


def test_scan_reports_progress_per_schema(make_target: MakeTarget) -> None:
    """Each schema is announced with its place in the scan."""
    progress = RecordingProgress()
    scan_warehouse(make_target(THREE_SCHEMAS_DDL), schemas=["s3", "s1", "s2"], progress=progress)
    assert progress.reports == [
        ("Scanning schema s1 (1/3)", 0),
        ("Scanning schema s2 (2/3)", 33),
        ("Scanning schema s3 (3/3)", 66),
    ]


def test_scan_cancelled_stops_between_queries(make_target: MakeTarget) -> None:
    """Cancelling during the first schema stops the scan before the next query or schema."""
    progress = RecordingProgress(cancel_after=1)
    with pytest.raises(Cancelled):
        scan_warehouse(make_target(THREE_SCHEMAS_DDL), schemas=["s1", "s2", "s3"], progress=progress)
    assert progress.reports == [("Scanning schema s1 (1/3)", 0)]
