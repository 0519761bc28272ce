"""The generic scanner: any adapter read through dbt and Cartridge's dbt package, proven against the
native PostgreSQL and DuckDB scanners on the same warehouses (real dbt, nothing installed by hand)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from cartridge_core import services
from cartridge_core.errors import CartridgeError, DbtError, WarehouseError
from cartridge_core.models import ContainmentQuery, Scan, Table, WarehouseTarget
from cartridge_core.progress import NullProgress
from cartridge_core.project.discovery import find_project
from cartridge_core.project.profiles import load_target
from cartridge_core.warehouse import scanner_for
from cartridge_core.warehouse.containment import measure_containment
from cartridge_core.warehouse.generic import (
    GenericScanner,
    _answer_or_split,
    _Tally,
    is_system_schema,
    spelled_as,
    table_kind,
)
from cartridge_core.warehouse.profiling import profile_tables
from tests.conftest import run_pg

SHOP_TABLES = ["Order Events", "big_orders", "customers", "orders"]
# 300 more events: order ids 10..16 (only 10 and 11 are orders), a fifth of them without a kind.
MORE_EVENTS = (
    """insert into raw."Order Events" select (i % 7) + 10, case when i % 5 = 0 then null """
    """else 'e' || (i % 3) end, null from generate_series(1, 300) as s(i)"""
)


@pytest.fixture(
    params=[
        pytest.param("duckdb_project", id="duckdb"),
        pytest.param("pg_project", id="postgres", marks=pytest.mark.postgres),
    ]
)
def shop(request: pytest.FixtureRequest) -> services.Context:
    """The shop project on either engine, its target loaded as Cartridge loads it."""
    project = find_project(request.getfixturevalue(request.param))
    return services.Context(project=project, target=load_target(project))


@pytest.fixture
def duckdb_shop(duckdb_project: Path) -> services.Context:
    """The shop project on DuckDB."""
    project = find_project(duckdb_project)
    return services.Context(project=project, target=load_target(project))


def run_sql(target: WarehouseTarget, statements: list[str]) -> None:
    """Run set-up statements directly on the shop's warehouse (not through dbt)."""
    if target.type == "postgres":
        run_pg(target.database, statements)
        return
    import duckdb

    con = duckdb.connect(str(target.credentials["path"]))  # closed at once: dbt opens the file next
    try:
        for statement in statements:
            con.execute(statement)
    finally:
        con.close()


def catalog_shape(scan: Scan) -> list[tuple[Any, ...]]:
    """What both scanners must agree on: tables, kinds, comments, and columns in order."""
    return [
        (
            t.schema,
            t.name,
            t.kind,
            t.comment,
            [(c.name, c.position, c.nullable, c.type_family, c.comment) for c in t.columns],
        )
        for t in scan.tables
    ]


def test_generic_scan_matches_native(shop: services.Context) -> None:
    """Through dbt the generic scanner finds the native scan's schemas, tables, kinds, comments and
    columns (order, nullability, type family), and reads no keys."""
    scanner = scanner_for(shop.target, generic=True)
    generic = scanner.scan(None, NullProgress())
    native = scanner_for(shop.target).scan(None, NullProgress())

    assert isinstance(scanner, GenericScanner)
    assert (generic.engine, generic.database, generic.schemas) == (
        native.engine,
        native.database,
        native.schemas,
    )
    assert [t.name for t in generic.tables_in("raw")] == SHOP_TABLES
    assert catalog_shape(generic) == catalog_shape(native)
    customers = generic.table("raw", "customers")
    assert customers is not None and [c.nullable for c in customers.columns][:3] == [False, False, True]
    assert any(t.primary_key for t in native.tables)
    assert not any(t.primary_key or t.foreign_keys or t.unique_keys for t in generic.tables)


def test_generic_scan_names_missing_schema(duckdb_shop: services.Context) -> None:
    """Asking for a schema the warehouse lacks is a one-line error naming it, as natively."""
    with pytest.raises(WarehouseError) as caught:
        scanner_for(duckdb_shop.target, generic=True).scan(["raw", "nope"], NullProgress())
    assert 'Schema "nope" not found' in caught.value.message
    assert "\n" not in caught.value.message


def test_generic_staging_passes_dbt_check(shop: services.Context) -> None:
    """Staging generated from a generic scan passes dbt's check, with nothing installed by the user."""
    scan = scanner_for(shop.target, generic=True).scan(["raw"], NullProgress())

    plan = services.plan_staging(shop, scan)
    checks = services.check(shop, plan)

    assert sorted(c.model for c in checks) == sorted(
        ["stg_raw__order_events", "stg_raw__big_orders", "stg_raw__customers", "stg_raw__orders"]
    )
    assert [c for c in checks if c.status != "pass"] == []
    root = shop.project.root
    assert not (root / "packages.yml").exists() and not (root / "dbt_packages").exists()


def test_generic_profile_agrees_with_native(shop: services.Context) -> None:
    """Profiles through the package agree with the native profiler: rows, nulls, distinct counts,
    ranges and frequent values (on PostgreSQL with every session read-only)."""
    run_sql(shop.target, [MORE_EVENTS])
    if shop.target.type == "postgres":  # any write by the generic path would now fail
        database = shop.target.database
        run_pg(database, [f'alter database "{database}" set default_transaction_read_only = on'])
    tables = scanner_for(shop.target).scan(["raw"], NullProgress()).tables

    generic = scanner_for(shop.target, generic=True).profile_tables(tables, progress=NullProgress())
    native = profile_tables(shop.target, tables, progress=NullProgress())

    assert [(p.table, p.row_count) for p in generic] == [(p.table, p.row_count) for p in native]
    assert next(p.row_count for p in generic if p.table == "Order Events") == 301
    compared = 0
    for ours, theirs in zip(generic, native, strict=True):
        assert [c.column for c in ours.columns] == [c.column for c in theirs.columns]
        for g, n in zip(ours.columns, theirs.columns, strict=True):
            assert g.null_fraction is not None and n.null_fraction is not None
            assert math.isclose(g.null_fraction, n.null_fraction, abs_tol=1e-9), (ours.table, g.column)
            assert g.distinct_count is not None and n.distinct_count is not None
            assert abs(g.distinct_count - n.distinct_count) <= max(1, 0.05 * n.distinct_count)
            if g.min_value is not None:  # the package gives no range for booleans
                assert (g.min_value, g.max_value) == (n.min_value, n.max_value), (ours.table, g.column)
            shared = set(dict(g.top_values)) & set(dict(n.top_values))
            assert all(dict(g.top_values)[v] == dict(n.top_values)[v] for v in shared)
            compared += len(shared)
    assert compared >= 5  # the repeated event order ids and kinds were compared at least


def test_generic_containment_agrees_with_native(shop: services.Context) -> None:
    """Containment through the package equals the native measure; a query that cannot be answered
    comes back empty without losing the others."""
    run_sql(shop.target, [MORE_EVENTS])
    queries = [
        ContainmentQuery(
            child_schema="raw",
            child_table="orders",
            child_column="no_such_column",
            parent_schema="raw",
            parent_table="customers",
            parent_column="id",
        ),
        ContainmentQuery(
            child_schema="raw",
            child_table="orders",
            child_column="customer_id",
            parent_schema="raw",
            parent_table="customers",
            parent_column="id",
        ),
        ContainmentQuery(
            child_schema="raw",
            child_table="Order Events",
            child_column="order_id",
            parent_schema="raw",
            parent_table="orders",
            parent_column="id",
        ),
    ]

    generic = scanner_for(shop.target, generic=True).measure_containment(queries, progress=NullProgress())
    native = measure_containment(shop.target, queries, progress=NullProgress())

    found = [(c.query, c.child_non_null, c.child_found) for c in generic]
    assert found == [(c.query, c.child_non_null, c.child_found) for c in native]
    # 1 + 300 event order ids, 10..16 in turn (i % 7 + 10): 42 tens and 43 elevens are orders.
    assert found[2][1:] == (301, 1 + 42 + 43)
    assert found[0][1:] == (0, 0)


def test_generic_profile_keeps_going_past_a_broken_view(duckdb_shop: services.Context) -> None:
    """A view that fails when read gets a profile with a note; the others in its batch are profiled."""
    run_sql(
        duckdb_shop.target,
        [
            "create table raw.gone as select 1 as a",
            "create view raw.broken as select * from raw.gone",
            "drop table raw.gone",  # DuckDB keeps the view, which now fails when read
        ],
    )
    scanner = scanner_for(duckdb_shop.target, generic=True)
    tables = scanner.scan(["raw"], NullProgress()).tables

    profiles = {p.table: p for p in scanner.profile_tables(tables, progress=NullProgress())}

    assert list(profiles) == [t.name for t in tables]
    assert profiles["broken"].note is not None and "gone" in profiles["broken"].note
    assert [c.column for c in profiles["broken"].columns] == ["a"]
    assert profiles["customers"].note is None and profiles["customers"].row_count == 2


@pytest.mark.postgres
def test_generic_errors_never_show_the_password(pg_project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A dbt error that happens to echo the profile's password (here in a table's name) reaches the
    user blanked out."""
    secret = "hunter2-S3cr3t"
    monkeypatch.setenv("CARTRIDGE_TEST_PG_PASSWORD", secret)  # the test server trusts any password
    project = find_project(pg_project)
    target = load_target(project)
    assert target.credentials["password"] == secret

    profiles = scanner_for(target, generic=True).profile_tables(
        [Table(schema="raw", name=secret)], progress=NullProgress()
    )

    note = profiles[0].note or ""
    assert "not found" in note and "***" in note
    assert secret not in note


def test_generic_catalog_without_get_catalog(duckdb_shop: services.Context) -> None:
    """On an adapter with no get_catalog macro, columns come relation by relation, in the same order
    and with the same nullability (comments are then unknown)."""
    root = duckdb_shop.project.root
    (root / "macros").mkdir()
    (root / "macros" / "no_catalog.sql").write_text(
        "{% macro default__get_catalog(information_schema, schemas) %}"
        "{{ exceptions.raise_compiler_error('no catalog on this adapter') }}{% endmacro %}\n"
    )
    with (root / "dbt_project.yml").open("a") as file:  # put the project's default__ first
        file.write("dispatch:\n  - macro_namespace: dbt\n    search_order: [shop, dbt]\n")

    generic = scanner_for(duckdb_shop.target, generic=True).scan(["raw"], NullProgress())
    native = scanner_for(duckdb_shop.target).scan(["raw"], NullProgress())

    def without_comments(scan: Scan) -> list[tuple[Any, ...]]:
        return [(*t[:3], [c[:4] for c in t[4]]) for t in catalog_shape(scan)]

    assert without_comments(generic) == without_comments(native)
    assert all(t.comment is None for t in generic.tables)


def test_generic_scanner_needs_the_project(duckdb_shop: services.Context) -> None:
    """A target built without its dbt project cannot be read through dbt: a one-line error says so."""
    target = duckdb_shop.target
    bare = WarehouseTarget(
        type="snowflake",
        profile_name=target.profile_name,
        target_name=target.target_name,
        profiles_file=target.profiles_file,
        schema=target.schema,
        database=target.database,
    )
    scanner = scanner_for(bare)

    assert isinstance(scanner, GenericScanner)
    with pytest.raises(WarehouseError, match="names no dbt project"):
        scanner.scan(["raw"], NullProgress())


def _fails_on(bad: set[str], calls: list[list[str]]) -> Any:
    def call(batch: Sequence[str]) -> list[str]:
        calls.append(list(batch))
        if bad & set(batch):
            raise DbtError(f"cannot read {sorted(bad & set(batch))[0]}")
        return [item.upper() for item in batch]

    return call


def test_generic_batch_split_answers_all_but_the_failing() -> None:
    """A failing batch is split until the failing item is found; every other item is answered."""
    calls: list[list[str]] = []
    items = ["a", "b", "c", "d", "e"]

    answers = _answer_or_split(items, _fails_on({"d"}, calls), lambda item, why: f"{item}: {why}", _Tally())

    assert answers == ["A", "B", "C", "d: cannot read d", "E"]
    assert calls == [list("abcde"), list("ab"), list("cde"), ["c"], list("de"), ["d"], ["e"]]


def test_generic_batch_split_gives_up_when_nothing_works() -> None:
    """When single items keep failing and nothing has worked, the error is raised, not hidden."""
    calls: list[list[str]] = []

    with pytest.raises(CartridgeError, match="cannot read"):
        _answer_or_split(list("abcdefgh"), _fails_on(set("abcdefgh"), calls), lambda i, w: i, _Tally())

    assert len(calls) < 10


@pytest.mark.parametrize(
    ("spelled", "kind"),
    [
        pytest.param("BASE TABLE", "table", id="base-table"),
        pytest.param("table", "table", id="dbt-table"),
        pytest.param("VIEW", "view", id="view"),
        pytest.param("MATERIALIZED VIEW", "materialized_view", id="materialized-view"),
        pytest.param("materialized_view", "materialized_view", id="dbt-materialized-view"),
        pytest.param("EXTERNAL TABLE", "foreign_table", id="external"),
        pytest.param("FOREIGN", "foreign_table", id="foreign"),
        pytest.param("DYNAMIC TABLE", "table", id="dynamic-table"),
        pytest.param(None, "table", id="unknown"),
    ],
)
def test_generic_table_kind(spelled: str | None, kind: str) -> None:
    """The relation types catalogs and adapters give map to Cartridge's table kinds."""
    assert table_kind(spelled) == kind


@pytest.mark.parametrize(
    ("requested", "existing", "expected"),
    [
        pytest.param(["raw"], ["RAW", "PUBLIC"], ["RAW"], id="folded-by-warehouse"),
        pytest.param(["raw"], ["raw", "RAW"], ["raw"], id="exact-wins"),
        pytest.param(["Raw"], ["raw", "RAW"], ["Raw"], id="ambiguous-kept"),
        pytest.param(["nope"], ["raw"], ["nope"], id="missing-kept"),
    ],
)
def test_generic_spelled_as(requested: list[str], existing: list[str], expected: list[str]) -> None:
    """A requested schema takes the warehouse's spelling when exactly one name matches ignoring case."""
    assert spelled_as(requested, existing) == expected


@pytest.mark.parametrize(
    ("schema", "system"),
    [
        pytest.param("INFORMATION_SCHEMA", True, id="snowflake-information-schema"),
        pytest.param("pg_catalog", True, id="pg-catalog"),
        pytest.param("pg_toast_temp_1", True, id="pg-toast-temp"),
        pytest.param("pg_internal", True, id="redshift-internal"),
        pytest.param("raw", False, id="source"),
        pytest.param("pg_stuff", False, id="pg-prefix-only"),
    ],
)
def test_generic_is_system_schema(schema: str, system: bool) -> None:
    """System schemas of the warehouses dbt supports are never scanned by default."""
    assert is_system_schema(schema) is system


def test_generic_default_schemas_leave_out_dbt_schemas(duckdb_shop: services.Context) -> None:
    """By default the schemas dbt builds into (the target's, in any case) are not scanned."""
    run_sql(duckdb_shop.target, ["create schema analytics", "create schema analytics_staging"])

    assert scanner_for(duckdb_shop.target, generic=True).default_schemas() == ["main", "raw"]
