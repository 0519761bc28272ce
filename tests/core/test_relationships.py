"""Relationships nobody declared: name candidates, verified by containment on real warehouses."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from cartridge_core.models import (
    Column,
    ColumnProfile,
    ForeignKey,
    ProfileMethod,
    Relationship,
    Scan,
    Table,
    TableProfile,
    WarehouseTarget,
)
from cartridge_core.progress import NullProgress
from cartridge_core.relationships import Measure, candidate_relationships, infer_relationships
from cartridge_core.warehouse import scan_warehouse
from cartridge_core.warehouse.containment import measure_containment
from tests.conftest import run_pg
from tests.core.warehouse.conftest import duckdb_target, pg_target, run_duckdb


def warehouse_measure(target: WarehouseTarget, **options: Any) -> Measure:
    """Containment measured by the warehouse layer, as the scan service calls it."""
    return lambda queries: measure_containment(target, queries, progress=NullProgress(), **options)


def edges(relationships: Sequence[Relationship]) -> list[tuple[str, str, str]]:
    """Each relationship as (source, child, parent), with schema.table.column names."""
    return [
        (
            r.source,
            f"{r.child_schema}.{r.child_table}.{','.join(r.child_columns)}",
            f"{r.parent_schema}.{r.parent_table}.{','.join(r.parent_columns)}",
        )
        for r in relationships
    ]


# --- a shop in DuckDB with undeclared keys, naming variants and decoys -------------------------

SHOP_DDL = [
    "create schema shop",
    "create schema crm",
    "create table crm.accounts (id integer primary key, name varchar)",
    "insert into crm.accounts select i, 'account ' || i from range(1, 51) t(i)",
    # The same ids as shop.customers and more: a parent in another schema that loses to the same schema.
    "create table crm.customers (id integer primary key, name varchar)",
    "insert into crm.customers select i, 'crm ' || i from range(1, 301) t(i)",
    """create table shop.customers (id integer primary key, name varchar, email varchar, city varchar,
        created_at timestamp)""",
    """insert into shop.customers select i, 'c' || i, 'c' || i || '@x.org', 'city ' || (i % 7),
        timestamp '2024-01-01' + to_days(i) from range(1, 201) t(i)""",
    "create table shop.dim_product (product_key integer primary key, name varchar, price decimal(10, 2))",
    "insert into shop.dim_product select i, 'p' || i, i * 1.5 from range(1, 51) t(i)",
    "create table shop.users (user_id integer primary key, name varchar)",
    "insert into shop.users select i, 'u' || i from range(1, 21) t(i)",
    "create table shop.coupons (id integer primary key, code varchar)",
    "insert into shop.coupons select i, 'CODE' || i from range(1, 11) t(i)",
    "create table shop.referrers (id integer primary key, name varchar)",
    "insert into shop.referrers select i, 'r' || i from range(1, 6) t(i)",
    "create table shop.stores (id integer primary key, code varchar unique, name varchar)",
    "insert into shop.stores select i, 'S' || i, 'store ' || i from range(1, 6) t(i)",
    # parent_id refers to its own table, but its name names no table: not inferred.
    "create table shop.categories (id integer primary key, parent_id integer, name varchar)",
    """insert into shop.categories select i, case when i > 5 then i % 5 + 1 end, 'cat ' || i
        from range(1, 21) t(i)""",
    """create table shop.employees (employee_id integer primary key, manager_employee_id integer,
        name varchar)""",
    """insert into shop.employees select i, case when i > 1 then i // 2 end, 'e' || i
        from range(1, 31) t(i)""",
    """create table shop.orders (id integer primary key, customer_id integer, billing_customer_id integer,
        product_key integer, shipped_by_user_id integer, coupon_id integer, referrer_id integer,
        account_id integer, status_id integer, store_id varchar, code varchar,
        amount decimal(10, 2), ordered_at timestamp)""",
    """insert into shop.orders select i, i % 200 + 1, (i * 7) % 200 + 1, i % 50 + 1, i % 20 + 1,
        case when i % 10 = 0 then (i // 10) % 10 + 1 end, null, i % 50 + 1, i % 4 + 1,
        cast(i % 5 + 1 as varchar), 'C' || i, i * 0.5, timestamp '2024-01-01' + to_hours(i)
        from range(1, 1001) t(i)""",
    """create table shop.payments (id integer primary key, "OrderID" integer, fk_customer integer,
        status_id integer, store_code varchar, amount decimal(10, 2))""",
    """insert into shop.payments select i, i * 2, i % 200 + 1, i % 3 + 1, 'S' || (i % 5 + 1), i
        from range(1, 501) t(i)""",
    """create table shop.reviews (id integer primary key, customer_fk integer, id_user integer,
        productid integer, stars integer)""",
    # A third of productid values are orphans: 66.6 % contained, under min_share.
    """insert into shop.reviews select i, i % 200 + 1, i % 20 + 1,
        case when i % 3 = 0 then 1000 + i else i % 50 + 1 end, i % 5 + 1 from range(1, 301) t(i)""",
    # user_id is declared to refer to employees: the declaration wins over the name (users).
    """create table shop.shipments (id integer primary key,
        order_id integer references shop.orders (id),
        user_id integer references shop.employees (employee_id), customer_id integer)""",
    "insert into shop.shipments select i, i, i % 30 + 1, i % 200 + 1 from range(1, 401) t(i)",
]

SHOP_DECLARED = [
    ("declared", "shop.shipments.order_id", "shop.orders.id"),
    ("declared", "shop.shipments.user_id", "shop.employees.employee_id"),
]

SHOP_INFERRED = [
    ("inferred", "shop.employees.manager_employee_id", "shop.employees.employee_id"),
    ("inferred", "shop.orders.account_id", "crm.accounts.id"),
    ("inferred", "shop.orders.billing_customer_id", "shop.customers.id"),
    ("inferred", "shop.orders.coupon_id", "shop.coupons.id"),
    ("inferred", "shop.orders.customer_id", "shop.customers.id"),
    ("inferred", "shop.orders.product_key", "shop.dim_product.product_key"),
    ("inferred", "shop.orders.shipped_by_user_id", "shop.users.user_id"),
    ("inferred", "shop.payments.OrderID", "shop.orders.id"),
    ("inferred", "shop.payments.fk_customer", "shop.customers.id"),
    ("inferred", "shop.payments.store_code", "shop.stores.code"),
    ("inferred", "shop.reviews.customer_fk", "shop.customers.id"),
    ("inferred", "shop.reviews.id_user", "shop.users.user_id"),
    ("inferred", "shop.shipments.customer_id", "shop.customers.id"),
]


@pytest.fixture(scope="module")
def shop_target(tmp_path_factory: pytest.TempPathFactory) -> WarehouseTarget:
    """The shop in a real DuckDB file."""
    path = tmp_path_factory.mktemp("relationships") / "warehouse.duckdb"
    run_duckdb(path, SHOP_DDL)
    return duckdb_target(path)


@pytest.fixture(scope="module")
def shop(shop_target: WarehouseTarget) -> tuple[Scan, Measure]:
    """The shop as scanned, and containment measured in its file by the warehouse layer."""
    scan = scan_warehouse(shop_target, schemas=["crm", "shop"], progress=NullProgress())
    return scan, warehouse_measure(shop_target)


def test_relationships_duckdb_exactly_the_true_keys(shop: tuple[Scan, Measure]) -> None:
    """Declared keys come first, then exactly the true undeclared keys; decoys give nothing."""
    scan, measure = shop
    assert edges(infer_relationships(scan, measure)) == SHOP_DECLARED + SHOP_INFERRED


def test_relationships_declared_win_with_evidence(shop: tuple[Scan, Measure]) -> None:
    """A declared key keeps its parent (not the one its name suggests) with confidence 1.0 and its name."""
    scan, measure = shop
    declared = [r for r in infer_relationships(scan, measure) if r.child_table == "shipments"][:2]
    assert [(r.child_columns, r.parent_table, r.confidence) for r in declared] == [
        (("order_id",), "orders", 1.0),
        (("user_id",), "employees", 1.0),
    ]
    shipments = scan.table("shop", "shipments")
    assert shipments is not None and all(fk.name for fk in shipments.foreign_keys)
    assert [r.evidence for r in declared] == [
        (f"declared foreign key {fk.name}",) for fk in shipments.foreign_keys
    ]
    queried = {(c.child_table, c.child_column) for c in candidate_relationships(scan)}
    assert ("shipments", "user_id") not in queried and ("shipments", "order_id") not in queried


@pytest.mark.parametrize(
    ("child", "evidence", "confidence"),
    [
        pytest.param(
            ("orders", "coupon_id"),
            ("name coupon_id matches coupons.id", "100.0 % of 100 non-null values found"),
            0.95,
            id="nullable-key",
        ),
        pytest.param(
            ("orders", "account_id"),
            ("name account_id matches crm.accounts.id", "100.0 % of 1,000 non-null values found"),
            0.855,
            id="other-schema",
        ),
        pytest.param(
            ("orders", "billing_customer_id"),
            ("name billing_customer_id matches customers.id", "100.0 % of 1,000 non-null values found"),
            0.807,
            id="role-named",
        ),
        pytest.param(
            ("reviews", "id_user"),
            ("name id_user matches users.user_id", "100.0 % of 300 non-null values found"),
            0.857,
            id="prefix-and-entity-key",
        ),
    ],
)
def test_relationships_inferred_evidence_and_confidence(
    shop: tuple[Scan, Measure], child: tuple[str, str], evidence: tuple[str, ...], confidence: float
) -> None:
    """Each inferred key says which names matched and how many values were found, and how sure it is."""
    scan, measure = shop
    found = {(r.child_table, r.child_columns[0]): r for r in infer_relationships(scan, measure)}
    assert found[child].evidence == evidence
    assert found[child].confidence == confidence


def test_relationships_min_share_admits_orphans_when_lowered(shop: tuple[Scan, Measure]) -> None:
    """Orphans keep a key out at the default share; a lower min_share lets it in, its share as evidence."""
    scan, measure = shop
    lenient = {r.child_columns[0]: r for r in infer_relationships(scan, measure, min_share=0.6)}
    assert lenient["productid"].parent_table == "dim_product"
    assert lenient["productid"].evidence[1] == "66.6 % of 300 non-null values found"
    assert "productid" not in {r.child_columns[0] for r in infer_relationships(scan, measure)}


def test_relationships_all_null_column_is_measured_and_dropped(shop: tuple[Scan, Measure]) -> None:
    """A column with no non-null values is a candidate but never a relationship."""
    scan, measure = shop
    assert ("orders", "referrer_id", "referrers") in {
        (c.child_table, c.child_column, c.parent_table) for c in candidate_relationships(scan)
    }
    assert "referrer_id" not in {r.child_columns[0] for r in infer_relationships(scan, measure)}


def test_relationships_sampled_containment_says_so(
    shop: tuple[Scan, Measure], shop_target: WarehouseTarget
) -> None:
    """Keys of tables read through a sample say `sampled`; the sample still finds every true key."""
    scan, measure = shop
    sampled = infer_relationships(scan, warehouse_measure(shop_target, sample_rows=200))
    assert edges(sampled) == edges(infer_relationships(scan, measure))
    big = {(t.schema, t.name) for t in scan.tables if (t.row_estimate or 0) > 200}
    assert big == {
        ("crm", "customers"),
        *(("shop", t) for t in ("orders", "payments", "reviews", "shipments")),
    }
    for r in sampled[len(SHOP_DECLARED) :]:
        assert (r.evidence[-1] == "sampled") == ((r.child_schema, r.child_table) in big), r


# --- names alone: a hand-written catalog, no data ----------------------------------------------


def table(name: str, columns: str, *, key: tuple[str, ...] = (), schema: str = "raw", **extra: Any) -> Table:
    """A table from `"name type, name type"`; types keep the engine spelling, families are left out."""
    cols = [c.strip().rsplit(" ", 1) for c in columns.split(",")]
    return Table(
        schema=schema,
        name=name,
        columns=tuple(
            Column(name=n, data_type=t, nullable=n not in key, position=i) for i, (n, t) in enumerate(cols, 1)
        ),
        primary_key=key,
        **extra,
    )


def keyed(name: str, key: str, data_type: str) -> Table:
    """A table of one column, its primary key."""
    return table(name, f"{key} {data_type}", key=(key,))


def parents_of(scan: Scan, child_table: str, profiles: Sequence[TableProfile] = ()) -> list[str]:
    return [
        f"{c.child_column} -> {c.parent_table}.{c.parent_column}"
        for c in candidate_relationships(scan, profiles)
        if c.child_table == child_table
    ]


def catalog(*tables: Table) -> Scan:
    return Scan(engine="duckdb", database="db", schemas=("raw",), tables=tables)


@pytest.mark.parametrize(
    ("child_column", "parent", "expected"),
    [
        pytest.param("customer_id", keyed("customers", "id", "int"), "customers.id", id="plural-id"),
        pytest.param("customer_id", keyed("customer", "id", "int"), "customer.id", id="singular-id"),
        pytest.param(
            "customer_id", keyed("customers", "customer_id", "int"), "customers.customer_id", id="same-name"
        ),
        pytest.param("CustomerID", keyed("customers", "id", "int"), "customers.id", id="camel-case"),
        pytest.param("customerid", keyed("customers", "id", "int"), "customers.id", id="glued"),
        pytest.param("fk_customer", keyed("customers", "id", "int"), "customers.id", id="fk-prefix"),
        pytest.param("customer_fk", keyed("customers", "id", "int"), "customers.id", id="fk-suffix"),
        pytest.param("id_customer", keyed("customers", "id", "int"), "customers.id", id="id-prefix"),
        pytest.param(
            "customer_key",
            keyed("dim_customer", "customer_key", "int"),
            "dim_customer.customer_key",
            id="dim",
        ),
        pytest.param("customer_id", keyed("tbl_customers", "id", "int"), "tbl_customers.id", id="tbl"),
        pytest.param("customer_id", keyed("raw_customer", "id", "int"), "raw_customer.id", id="raw"),
        pytest.param("category_id", keyed("categories", "id", "int"), "categories.id", id="ies-plural"),
        pytest.param("status_id", keyed("statuses", "id", "int"), "statuses.id", id="es-plural"),
        pytest.param("billing_customer_id", keyed("customers", "id", "int"), "customers.id", id="role-named"),
        pytest.param("shipped_by_user_id", keyed("users", "id", "int"), "users.id", id="role-named-by"),
        pytest.param("country_code", keyed("countries", "code", "varchar"), "countries.code", id="code"),
        pytest.param("account_uuid", keyed("accounts", "id", "uuid"), "accounts.id", id="uuid"),
    ],
)
def test_relationships_candidate_naming_variants(child_column: str, parent: Table, expected: str) -> None:
    """Each naming convention of a key column finds its parent's key."""
    child_type = {"country_code": "varchar", "account_uuid": "uuid"}.get(child_column, "int")
    scan = catalog(parent, table("orders", f"id int, {child_column} {child_type}", key=("id",)))
    assert parents_of(scan, "orders") == [f"{child_column} -> {expected}"]


DECLARED_TO_PEOPLE = ForeignKey(
    name="fk", columns=("customer_id",), ref_schema="raw", ref_table="people", ref_columns=("id",)
)


@pytest.mark.parametrize(
    ("tables", "child"),
    [
        pytest.param([table("orders", "id int, status_id int", key=("id",))], "orders", id="names-no-table"),
        pytest.param(
            [table("orders", "id int, code varchar", key=("id",)), keyed("codes", "code", "varchar")],
            "orders",
            id="bare-code",
        ),
        pytest.param(
            [table("categories", "id int, parent_id int", key=("id",))], "categories", id="parent-id"
        ),
        pytest.param(
            [table("orders", "id int, store_id varchar", key=("id",)), keyed("stores", "id", "int")],
            "orders",
            id="type-mismatch",
        ),
        pytest.param(
            [table("orders", "id int, customer_id int", key=("id",)), table("customers", "id int, n text")],
            "orders",
            id="parent-not-a-key",
        ),
        pytest.param(
            [table("customers", "id int, customer_id int", key=("id",))], "customers", id="own-entity"
        ),
        pytest.param([keyed("customers", "customer_id", "int")], "customers", id="never-itself"),
        pytest.param(
            [
                table("orders", "id int, customer_id int", key=("id",), foreign_keys=(DECLARED_TO_PEOPLE,)),
                keyed("customers", "id", "int"),
                keyed("people", "id", "int"),
            ],
            "orders",
            id="already-declared",
        ),
    ],
)
def test_relationships_candidate_decoys_give_nothing(tables: list[Table], child: str) -> None:
    """Names that point nowhere, to a non-key, across types, or at the column itself are no candidates."""
    assert parents_of(catalog(*tables), child) == []


def test_relationships_candidate_type_families_beat_spellings() -> None:
    """With families filled in, bigint and integer keys match, and families that differ do not."""
    customers = Table(
        schema="raw",
        name="customers",
        columns=(Column(name="id", data_type="BIGINT", nullable=False, position=1, type_family="integer"),),
        primary_key=("id",),
    )
    orders = Table(
        schema="raw",
        name="orders",
        columns=(
            Column(name="customer_id", data_type="INTEGER", nullable=True, position=1, type_family="integer"),
            Column(
                name="customer_key",
                data_type="NUMERIC(18,0)",
                nullable=True,
                position=2,
                type_family="decimal",
            ),
        ),
    )
    assert parents_of(catalog(customers, orders), "orders") == ["customer_id -> customers.id"]


@pytest.mark.parametrize(
    ("method", "null_fraction", "distinct", "key_like"),
    [
        pytest.param("exact", 0.0, 100, True, id="exact-unique"),
        pytest.param("exact", 0.0, 99, False, id="exact-duplicates"),
        pytest.param("exact", 0.01, 100, False, id="has-nulls"),
        pytest.param("sample", 0.0, 99, True, id="sampled-near-unique"),
        pytest.param("statistics", 0.0, 90, False, id="estimated-far-from-unique"),
    ],
)
def test_relationships_candidate_profiled_parent_key(
    method: ProfileMethod, null_fraction: float, distinct: int, key_like: bool
) -> None:
    """A parent with no declared key is key-like only when profiled as unique and non-null."""
    regions = table("regions", "region_code varchar, name varchar")
    stores = table("stores", "id int, region_code varchar", key=("id",))
    profile = TableProfile(
        schema="raw",
        table="regions",
        row_count=100,
        method=method,
        columns=(ColumnProfile(column="region_code", null_fraction=null_fraction, distinct_count=distinct),),
    )
    scan = catalog(regions, stores)
    assert parents_of(scan, "stores") == []
    expected = ["region_code -> regions.region_code"] if key_like else []
    assert parents_of(scan, "stores", [profile]) == expected


def test_relationships_candidate_same_schema_first_and_deterministic() -> None:
    """One column with parents in two schemas lists its own schema's first, the same way every time."""
    tables = (
        table("customers", "id int", key=("id",), schema="crm"),
        table("customers", "id int", key=("id",), schema="shop"),
        table("orders", "id int, customer_id int", key=("id",), schema="shop"),
    )
    scan = Scan(engine="duckdb", database="db", schemas=("crm", "shop"), tables=tables)
    found = candidate_relationships(scan)
    assert [(c.parent_schema, c.name_score) for c in found] == [("shop", 0.95), ("crm", 0.855)]
    assert candidate_relationships(scan) == found


# --- PostgreSQL: uuid and text keys, keys across schemas ---------------------------------------

PG_DDL = [
    "create schema app",
    "create schema billing",
    "create table app.accounts (id uuid primary key, name text)",
    """insert into app.accounts select md5(i::text)::uuid, 'a' || i from generate_series(1, 40) i""",
    """create table app.projects (id bigint primary key, account_id uuid, parent_id bigint, name text)""",
    """insert into app.projects select i, md5((i % 40 + 1)::text)::uuid,
        case when i > 10 then i / 2 end, 'p' || i from generate_series(1, 120) i""",
    "create table billing.currencies (code char(3) primary key, name text)",
    "insert into billing.currencies values ('EUR', 'Euro'), ('USD', 'US dollar'), ('GBP', 'Pound')",
    """create table billing.invoices (id integer primary key, "AccountId" uuid, project_id bigint,
        currency_code varchar(3), external_account_id text, status_id integer,
        amount numeric(12, 2), issued_at timestamptz)""",
    """insert into billing.invoices select i, md5((i % 40 + 1)::text)::uuid, i % 120 + 1,
        (array['EUR', 'USD', 'GBP'])[i % 3 + 1], md5((i % 40 + 1)::text), i % 5,
        i * 1.25, timestamptz '2024-01-01' + i * interval '1 hour' from generate_series(1, 600) i""",
    "analyze",
]


@pytest.mark.postgres
def test_relationships_postgres_uuid_text_and_cross_schema(pg_database: str) -> None:
    """On PostgreSQL, uuid, bigint and char keys are found across schemas; text never matches uuid."""
    run_pg(pg_database, PG_DDL)
    scan = scan_warehouse(pg_target(pg_database), schemas=["app", "billing"], progress=NullProgress())
    target = pg_target(pg_database)
    assert edges(infer_relationships(scan, warehouse_measure(target))) == [
        ("inferred", "app.projects.account_id", "app.accounts.id"),
        ("inferred", "billing.invoices.AccountId", "app.accounts.id"),
        ("inferred", "billing.invoices.currency_code", "billing.currencies.code"),
        ("inferred", "billing.invoices.project_id", "app.projects.id"),
    ]
