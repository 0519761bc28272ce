"""Both engines scan the shared shop fixture into the same shape, each in its own type spelling."""

from __future__ import annotations

import dataclasses

import pytest

from cartridge_core.models import Scan, Table, WarehouseTarget
from cartridge_core.progress import NullProgress
from cartridge_core.warehouse import scan_warehouse

# Type spellings differ by engine (format_type() in PostgreSQL, DuckDB's own names); all else is equal.
TYPES = {
    "postgres": {
        "customers": [
            "integer",
            "character varying(50)",
            "character varying(200)",
            "boolean",
            "timestamp without time zone",
            "date",
        ],
        "orders": [
            "integer",
            "integer",
            "character varying(20)",
            "numeric(10,2)",
            "timestamp without time zone",
        ],
    },
    "duckdb": {
        "customers": ["INTEGER", "VARCHAR", "VARCHAR", "BOOLEAN", "TIMESTAMP", "DATE"],
        "orders": ["INTEGER", "INTEGER", "VARCHAR", "DECIMAL(10,2)", "TIMESTAMP"],
    },
}


@pytest.fixture(
    params=[
        pytest.param("duckdb", id="duckdb"),
        pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    ]
)
def shop(request: pytest.FixtureRequest) -> WarehouseTarget:
    target: WarehouseTarget = request.getfixturevalue(
        f"shop_{'pg' if request.param == 'postgres' else 'duckdb'}"
    )
    return target


def _without_engine_spelling(scan: Scan) -> list[Table]:
    """The scan's tables with type spellings, key names, sizes and view SQL blanked: what both
    engines must agree on (type families included)."""
    return [
        dataclasses.replace(
            table,
            columns=tuple(dataclasses.replace(c, data_type="") for c in table.columns),
            foreign_keys=tuple(dataclasses.replace(fk, name=None) for fk in table.foreign_keys),
            size_bytes=None,
            view_definition=None,
        )
        for table in scan.tables
    ]


def test_scan_shop_tables_columns_and_keys(shop: WarehouseTarget) -> None:
    """The shop scans to its four relations in (schema, name) order, with columns, keys and comments."""
    scan = scan_warehouse(shop, schemas=["raw"], progress=NullProgress())
    assert scan.engine == shop.type
    assert scan.schemas == ("raw",)
    assert [(t.name, t.kind) for t in scan.tables] == [
        ("Order Events", "table"),
        ("big_orders", "view"),
        ("customers", "table"),
        ("orders", "table"),
    ]
    customers = scan.table("raw", "customers")
    assert customers is not None
    assert [(c.name, c.position, c.nullable) for c in customers.columns] == [
        ("id", 1, False),
        ("FirstName", 2, False),
        ("email", 3, True),
        ("active", 4, True),
        ("created", 5, True),
        ("birth", 6, True),
    ]
    assert [c.data_type for c in customers.columns] == TYPES[shop.type]["customers"]
    assert customers.primary_key == ("id",)
    assert customers.comment == "People who bought something."
    assert [c.comment for c in customers.columns] == [None, None, "Contact e-mail address.", None, None, None]
    assert customers.row_estimate == 2

    orders = scan.table("raw", "orders")
    assert orders is not None
    assert [c.data_type for c in orders.columns] == TYPES[shop.type]["orders"]
    assert [(fk.columns, fk.ref_schema, fk.ref_table, fk.ref_columns) for fk in orders.foreign_keys] == [
        (("customer_id",), "raw", "customers", ("id",))
    ]
    assert orders.foreign_keys[0].name

    events = scan.table("raw", "Order Events")
    assert events is not None
    assert [c.name for c in events.columns] == ["order_id", "select", "happened"]
    assert events.primary_key == ()

    view = scan.table("raw", "big_orders")
    assert view is not None
    assert [c.name for c in view.columns] == ["id", "amount"]
    assert (view.primary_key, view.foreign_keys, view.row_estimate) == ((), (), None)


@pytest.mark.postgres
def test_scan_shop_same_shape_on_both_engines(shop_duckdb: WarehouseTarget, shop_pg: WarehouseTarget) -> None:
    """Both engines give equal scans of the shop but for type spellings, key names, sizes and view SQL."""
    from_duckdb = scan_warehouse(shop_duckdb, schemas=None, progress=NullProgress())
    from_pg = scan_warehouse(shop_pg, schemas=None, progress=NullProgress())
    assert from_duckdb.tables_in("raw")
    assert _without_engine_spelling(from_duckdb) == _without_engine_spelling(from_pg)
