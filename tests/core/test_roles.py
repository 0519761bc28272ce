"""Table roles on a real star schema: facts, dimensions, a bridge and the rest, each with reasons."""

from __future__ import annotations

import pytest

from cartridge_core.models import Column, Relationship, Scan, Table, TableProfile, TableRole
from cartridge_core.progress import NullProgress
from cartridge_core.relationships import infer_relationships
from cartridge_core.roles import classify_tables
from cartridge_core.warehouse import scan_warehouse
from tests.core.test_relationships import warehouse_measure
from tests.core.warehouse.conftest import duckdb_target, run_duckdb

# Keys are half declared, half left for inference: roles read both the same way.
STAR_DDL = [
    "create schema star",
    """create table star.customers (id integer primary key, name varchar, email varchar, city varchar,
        signed_up_at timestamp)""",
    """insert into star.customers select i, 'c' || i, 'c' || i || '@x.org', 'city ' || (i % 9),
        timestamp '2023-01-01' + to_days(i) from range(1, 201) t(i)""",
    """create table star.products (id integer primary key, name varchar, description varchar,
        price decimal(10, 2), created_at timestamp)""",
    """insert into star.products select i, 'p' || i, 'the product ' || i, i * 2.5,
        timestamp '2023-01-01' from range(1, 51) t(i)""",
    # parent_category_id refers to categories itself: a self-reference says nothing about the role.
    "create table star.categories (id integer primary key, name varchar, parent_category_id integer)",
    """insert into star.categories select i, 'cat ' || i, case when i > 3 then i % 3 + 1 end
        from range(1, 11) t(i)""",
    """create table star.product_categories (product_id integer references star.products (id),
        category_id integer, primary key (product_id, category_id))""",
    "insert into star.product_categories select i % 50 + 1, (i // 50 + i) % 10 + 1 from range(0, 100) t(i)",
    """create table star.orders (id integer primary key, customer_id integer references star.customers (id),
        product_id integer, quantity integer, amount decimal(10, 2), tax decimal(10, 2),
        ordered_at timestamp)""",
    """insert into star.orders select i, i % 200 + 1, i % 50 + 1, i % 4 + 1, i * 1.5, i * 0.3,
        timestamp '2024-01-01' + to_minutes(i) from range(1, 2001) t(i)""",
    "create table star.payments (id integer primary key, order_id integer, amount double, paid_at timestamp)",
    """insert into star.payments select i, i * 4, i * 6.0, timestamp '2024-02-01' + to_minutes(i)
        from range(1, 501) t(i)""",
    "create table star.order_notes (id integer primary key, order_id integer, note varchar)",
    "insert into star.order_notes select i, i, 'note ' || i from range(1, 21) t(i)",
    # Line items: measures against two parents and no time of their own are a fact, not a bridge.
    """create table star.order_lines (id integer primary key, order_id integer references star.orders (id),
        product_id integer references star.products (id), unit_price decimal(10, 2))""",
    "insert into star.order_lines select i, i % 2000 + 1, i % 50 + 1, i * 0.5 from range(1, 101) t(i)",
    "create table star.etl_runs (id integer primary key, message varchar, ran_at timestamp)",
    "insert into star.etl_runs select i, 'ok', timestamp '2024-01-01' from range(1, 4) t(i)",
]


@pytest.fixture(scope="module")
def star_roles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, TableRole]:
    """The star scanned from a real DuckDB file, its relationships inferred and its tables classified."""
    path = tmp_path_factory.mktemp("roles") / "warehouse.duckdb"
    run_duckdb(path, STAR_DDL)
    target = duckdb_target(path)
    scan = scan_warehouse(target, schemas=["star"], progress=NullProgress())
    relationships = infer_relationships(scan, warehouse_measure(target))
    roles = classify_tables(scan, relationships)
    assert [r.table for r in roles] == [t.name for t in scan.tables]
    assert classify_tables(scan, relationships) == roles
    return {r.table: r for r in roles}


@pytest.mark.parametrize(
    ("table", "role", "reasons"),
    [
        pytest.param(
            "orders",
            "fact",
            (
                "2 foreign keys",
                "2 numeric measures (amount, tax)",
                "event timestamp ordered_at",
                "2,000 rows",
            ),
            id="orders-fact",
        ),
        pytest.param(
            "payments",
            "fact",
            ("1 foreign key", "1 numeric measure (amount)", "event timestamp paid_at", "500 rows"),
            id="payments-fact-on-a-fact",
        ),
        pytest.param(
            "customers",
            "dimension",
            (
                "referenced by 1 table",
                "3 descriptive text columns (name, email, city)",
                "one key id",
                "200 rows",
            ),
            id="customers-dimension",
        ),
        pytest.param(
            "products",
            "dimension",
            (
                "referenced by 3 tables",
                "2 descriptive text columns (name, description)",
                "one key id",
                "50 rows",
            ),
            id="products-dimension-despite-price",
        ),
        pytest.param(
            "categories",
            "dimension",
            ("referenced by 1 table", "1 descriptive text column (name)", "one key id", "10 rows"),
            id="categories-dimension-self-reference",
        ),
        pytest.param(
            "product_categories",
            "bridge",
            (
                "2 foreign keys form the key (product_id, category_id)",
                "links categories and products",
                "no other columns",
            ),
            id="bridge",
        ),
        pytest.param(
            "order_notes",
            "other",
            ("1 foreign key", "no event timestamp", "not referenced", "20 rows"),
            id="notes-other",
        ),
        pytest.param(
            "order_lines",
            "fact",
            ("2 foreign keys", "1 numeric measure (unit_price)", "line items of its parents", "100 rows"),
            id="line-items-fact",
        ),
        pytest.param("etl_runs", "other", ("no relationships", "3 rows"), id="log-other"),
    ],
)
def test_roles_star_schema(
    star_roles: dict[str, TableRole], table: str, role: str, reasons: tuple[str, ...]
) -> None:
    """Each table of the star gets its role and the reasons a person would give."""
    assert (star_roles[table].role, star_roles[table].reasons) == (role, reasons)


def _events_scan(rows: int | None) -> Scan:
    columns = (
        Column(name="id", data_type="INTEGER", nullable=False, position=1),
        Column(name="user_id", data_type="INTEGER", nullable=True, position=2),
        Column(name="device_id", data_type="INTEGER", nullable=True, position=3),
        Column(name="created_at", data_type="TIMESTAMP", nullable=True, position=4),
    )
    tables = (
        Table(schema="raw", name="events", columns=columns, primary_key=("id",), row_estimate=rows),
        Table(schema="raw", name="users", primary_key=("id",)),
        Table(schema="raw", name="devices", primary_key=("id",)),
    )
    return Scan(engine="postgres", database="db", schemas=("raw",), tables=tables)


def _link(child: str, parent: str) -> Relationship:
    return Relationship(
        child_schema="raw",
        child_table="events",
        child_columns=(child,),
        parent_schema="raw",
        parent_table=parent,
        parent_columns=("id",),
        source="inferred",
        confidence=0.9,
    )


@pytest.mark.parametrize(
    ("estimate", "profiled", "rows"),
    [
        pytest.param(1, None, "1 row", id="one"),
        pytest.param(9_999, None, "9,999 rows", id="thousands"),
        pytest.param(56_300, None, "56k rows", id="tens-of-thousands"),
        pytest.param(999_600, None, "1.0M rows", id="just-under-a-million"),
        pytest.param(1_234_567, None, "1.2M rows", id="millions"),
        pytest.param(10, 1_200_000, "1.2M rows", id="profile-beats-estimate"),
    ],
)
def test_roles_fact_from_keys_and_created_at(estimate: int, profiled: int | None, rows: str) -> None:
    """An unreferenced table with two foreign keys and only created_at is a fact, its size said plainly."""
    scan = _events_scan(estimate)
    profiles = (
        [TableProfile(schema="raw", table="events", row_count=profiled, method="statistics")]
        if profiled
        else []
    )
    links = [_link("user_id", "users"), _link("device_id", "devices")]
    events = classify_tables(scan, links, profiles)[0]
    assert (events.role, events.reasons) == ("fact", ("2 foreign keys", "event timestamp created_at", rows))
