"""Benchmark: relationship inference against a known truth, on PostgreSQL.

Creates a throw-away database with three schemas (sales, inventory, hr), 27 tables of up to a few
thousand rows generated in SQL, primary keys declared and 28 foreign keys left undeclared, with
decoys: same-named columns that relate to nothing (`channel_code`, `code`, `reason_code`), `status_id`
columns that only partly hit a `statuses` table, a same-schema `sales.products` that loses to
`inventory.products`, a self-referencing `parent_id`, a type mismatch (a varchar `customer_id`),
orphans (10 % of `returns.product_id`, every `timesheets.project_id`), an all-null key, and
nullable keys. Runs scan + inference, reports
precision and recall against the truth and the time, replaces the "## Relationship inference"
section of benchmarks/RESULTS.md and drops the database.

    .venv/bin/python benchmarks/relationships_benchmark.py [--runs 3] [--no-write]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from machine import machine_line, replace_section, scratch_database  # noqa: E402

from cartridge_core.models import Containment, ContainmentQuery, Relationship, WarehouseTarget  # noqa: E402
from cartridge_core.progress import NullProgress  # noqa: E402
from cartridge_core.relationships import candidate_relationships, infer_relationships  # noqa: E402
from cartridge_core.warehouse import scan_warehouse  # noqa: E402
from cartridge_core.warehouse.containment import measure_containment  # noqa: E402

HOST, PORT, USER = "127.0.0.1", 5432, "postgres"
RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
SCHEMAS = ["hr", "inventory", "sales"]

DDL = """
create schema sales; create schema inventory; create schema hr;

create table sales.regions (code char(2) primary key, name text);
insert into sales.regions select 'A' || chr(65 + i), 'region ' || i from generate_series(0, 9) i;
create table hr.countries (code char(2) primary key, name text);
insert into hr.countries select 'K' || chr(65 + i), 'country ' || i from generate_series(0, 19) i;
create table sales.currencies (code char(3) primary key, name text);
insert into sales.currencies values ('EUR', 'Euro'), ('USD', 'US dollar'), ('GBP', 'Pound sterling');
create table sales.payment_methods (id integer primary key, name text);
insert into sales.payment_methods select i, 'method ' || i from generate_series(1, 5) i;
create table sales.coupons (id integer primary key, code text, discount numeric(5, 2));
insert into sales.coupons select i, 'C' || i, i % 30 from generate_series(1, 100) i;

create table inventory.dim_brand (brand_key integer primary key, name text);
insert into inventory.dim_brand select i, 'brand ' || i from generate_series(1, 40) i;
create table inventory.categories (id integer primary key, name text, parent_id integer);
insert into inventory.categories
    select i, 'category ' || i, case when i > 5 then i % 5 + 1 end from generate_series(1, 50) i;
create table inventory.suppliers (supplier_id integer primary key, name text, country_code char(2));
insert into inventory.suppliers
    select i, 'supplier ' || i, 'K' || chr(65 + i % 20) from generate_series(1, 200) i;
create table inventory.products (id integer primary key, name text, category_id integer,
    supplier_id integer, brand_key integer, list_price numeric(10, 2));
insert into inventory.products
    select i, 'product ' || i, i % 50 + 1, i % 200 + 1, i % 40 + 1, i * 0.75 from generate_series(1, 2000) i;
create table inventory.warehouses (id integer primary key, name text, region_code char(2));
insert into inventory.warehouses
    select i, 'warehouse ' || i, 'A' || chr(65 + i % 10) from generate_series(1, 8) i;
create table inventory.stores (id integer primary key, name text, warehouse_id integer);
insert into inventory.stores select i, 'store ' || i, i % 8 + 1 from generate_series(1, 30) i;
create table inventory.stock_levels (id integer primary key, product_id integer, warehouse_id integer,
    quantity integer);
insert into inventory.stock_levels
    select i, i % 2000 + 1, i % 8 + 1, i % 97 from generate_series(1, 4000) i;

create table hr.departments (id integer primary key, name text, head_employee_id integer);
insert into hr.departments select i, 'department ' || i, i * 20 from generate_series(1, 12) i;
create table hr.employees (employee_id integer primary key, name text, manager_employee_id integer,
    store_id integer, department_id integer, hired_at date);
insert into hr.employees
    select i, 'employee ' || i, case when i > 1 then i / 2 end, i % 30 + 1, i % 12 + 1,
        date '2015-01-01' + i
    from generate_series(1, 300) i;
-- Decoy parents: a status list that status_id values only partly hit, and an old product list in
-- the same schema as the sales tables that holds only a quarter of the product ids they use.
create table hr.statuses (id integer primary key, label text);
insert into hr.statuses select i, 'status ' || i from generate_series(1, 3) i;
create table sales.products (id integer primary key, name text);
insert into sales.products select i, 'old product ' || i from generate_series(1, 500) i;
create table hr.projects (id integer primary key, name text);
insert into hr.projects select i, 'project ' || i from generate_series(1, 10) i;
create table hr.timesheets (id integer primary key, employee_id integer, project_id integer,
    status_id integer, hours numeric(5, 2), worked_on date);
insert into hr.timesheets
    select i, i % 300 + 1, 100 + i % 50, i % 4, (i % 9) + 0.5, date '2024-01-01' + i % 365
    from generate_series(1, 3000) i;

create table sales.customers (id integer primary key, name text, email text, region_code char(2),
    created_at timestamp);
insert into sales.customers
    select i, 'customer ' || i, 'c' || i || '@example.org', 'A' || chr(65 + i % 10),
        timestamp '2020-01-01' + i * interval '1 hour'
    from generate_series(1, 3000) i;
create table sales.orders (id integer primary key, customer_id integer, billing_customer_id integer,
    store_id integer, shipped_by_employee_id integer, coupon_id integer, status_id integer,
    channel_code text, amount numeric(12, 2), ordered_at timestamptz);
insert into sales.orders
    select i, i % 3000 + 1, (i * 7) % 3000 + 1, i % 30 + 1, i % 300 + 1,
        case when i % 5 = 0 then i % 100 + 1 end, i % 6, (array['web', 'shop', 'phone'])[i % 3 + 1],
        i * 1.1, timestamptz '2024-01-01' + i * interval '10 minutes'
    from generate_series(1, 5000) i;
create table sales.order_items (order_id integer, product_id integer, quantity integer,
    price numeric(10, 2), primary key (order_id, product_id));
insert into sales.order_items
    select i % 5000 + 1, (i * 13) % 2000 + 1, i % 5 + 1, i * 0.2 from generate_series(0, 7999) i;
create table sales.payments (id integer primary key, "OrderID" integer, payment_method_id integer,
    amount numeric(12, 2));
insert into sales.payments select i, i + 1000, i % 5 + 1, i * 1.1 from generate_series(1, 4000) i;
create table sales.returns (id integer primary key, order_id integer, product_id integer,
    reason_code text);
insert into sales.returns
    select i, i * 9, case when i % 10 = 0 then 5000 + i else i % 2000 + 1 end, 'R' || i % 4
    from generate_series(1, 500) i;
create table sales.reviews (id integer primary key, customer_fk integer, productid integer, rating integer);
insert into sales.reviews select i, i % 3000 + 1, i % 2000 + 1, i % 5 + 1 from generate_series(1, 2000) i;
create table sales.invoices (id integer primary key, fk_order integer, currency_code varchar(3),
    amount numeric(12, 2));
insert into sales.invoices
    select i, i, (array['EUR', 'USD', 'GBP'])[i % 3 + 1], i * 1.1 from generate_series(1, 3000) i;
create table sales.legacy_orders (id integer primary key, customer_id varchar(20), amount numeric(12, 2));
insert into sales.legacy_orders select i, (i % 3000 + 1)::text, i from generate_series(1, 1000) i;
create table sales.carts (id integer primary key, customer_id integer, session_id uuid);
insert into sales.carts select i, null, md5(i::text)::uuid from generate_series(1, 500) i;
analyze;
"""

# The truth: every undeclared foreign key of the schema above, as (child, parent) names.
TRUTH = {
    ("sales.orders.customer_id", "sales.customers.id"),
    ("sales.orders.billing_customer_id", "sales.customers.id"),
    ("sales.orders.store_id", "inventory.stores.id"),
    ("sales.orders.shipped_by_employee_id", "hr.employees.employee_id"),
    ("sales.orders.coupon_id", "sales.coupons.id"),
    ("sales.order_items.order_id", "sales.orders.id"),
    ("sales.order_items.product_id", "inventory.products.id"),
    ("sales.payments.OrderID", "sales.orders.id"),
    ("sales.payments.payment_method_id", "sales.payment_methods.id"),
    ("sales.returns.order_id", "sales.orders.id"),
    ("sales.reviews.customer_fk", "sales.customers.id"),
    ("sales.reviews.productid", "inventory.products.id"),
    ("sales.invoices.fk_order", "sales.orders.id"),
    ("sales.invoices.currency_code", "sales.currencies.code"),
    ("sales.customers.region_code", "sales.regions.code"),
    ("inventory.products.category_id", "inventory.categories.id"),
    ("inventory.products.supplier_id", "inventory.suppliers.supplier_id"),
    ("inventory.products.brand_key", "inventory.dim_brand.brand_key"),
    ("inventory.suppliers.country_code", "hr.countries.code"),
    ("inventory.stock_levels.product_id", "inventory.products.id"),
    ("inventory.stock_levels.warehouse_id", "inventory.warehouses.id"),
    ("inventory.warehouses.region_code", "sales.regions.code"),
    ("inventory.stores.warehouse_id", "inventory.warehouses.id"),
    ("hr.employees.manager_employee_id", "hr.employees.employee_id"),
    ("hr.employees.store_id", "inventory.stores.id"),
    ("hr.employees.department_id", "hr.departments.id"),
    ("hr.departments.head_employee_id", "hr.employees.employee_id"),
    ("hr.timesheets.employee_id", "hr.employees.employee_id"),
}


def edge(r: Relationship) -> tuple[str, str]:
    return (
        f"{r.child_schema}.{r.child_table}.{','.join(r.child_columns)}",
        f"{r.parent_schema}.{r.parent_table}.{','.join(r.parent_columns)}",
    )


def run(target: WarehouseTarget) -> dict[str, Any]:
    """One end-to-end run: scan, candidates, containment, choice; with each step's time."""

    def measure(queries: Sequence[ContainmentQuery]) -> Sequence[Containment]:
        start = time.perf_counter()
        found = measure_containment(target, queries, progress=NullProgress())
        timings["containment"] = time.perf_counter() - start
        return found

    timings: dict[str, float] = {}
    start = time.perf_counter()
    scan = scan_warehouse(target, schemas=SCHEMAS, progress=NullProgress())
    timings["scan"] = time.perf_counter() - start
    start = time.perf_counter()
    candidates = candidate_relationships(scan)
    timings["candidates"] = time.perf_counter() - start
    # What names alone would say: each child column's best-named parent, with no SQL.
    names_only: dict[str, str] = {}
    for c in candidates:
        names_only.setdefault(
            f"{c.child_schema}.{c.child_table}.{c.child_column}",
            f"{c.parent_schema}.{c.parent_table}.{c.parent_column}",
        )
    start = time.perf_counter()
    found = infer_relationships(scan, measure)
    timings["inference"] = time.perf_counter() - start
    return {
        "scan": scan,
        "candidates": len(candidates),
        "names_only": set(names_only.items()),
        "found": found,
        "timings": timings,
    }


def report(runs: list[dict[str, Any]], server: str) -> str:
    last = runs[-1]
    found = {edge(r) for r in last["found"] if r.source == "inferred"}
    hits = found & TRUTH
    precision = len(hits) / len(found) if found else 0.0
    recall = len(hits) / len(TRUTH)
    scan = last["scan"]
    rows = sum(t.row_estimate or 0 for t in scan.tables)

    names_only = last["names_only"]
    names_precision = len(names_only & TRUTH) / len(names_only) if names_only else 0.0

    def median(step: str) -> float:
        return statistics.median(r["timings"][step] for r in runs)

    lines = [
        f"PostgreSQL {server}: {len(scan.tables)} tables in {len(SCHEMAS)} schemas, {rows:,} rows, "
        f"primary keys declared, {len(TRUTH)} foreign keys not declared; decoys: same-named unrelated "
        "columns, `status_id` partly in a `statuses` table, a same-schema `products` holding a quarter "
        "of the ids, a self-referencing `parent_id`, a varchar `customer_id`, orphans, an all-null key, "
        "nullable keys. "
        "Containment measured by the warehouse layer's `measure_containment` (batched statements; "
        f"no table is above its sampling threshold, so counts are exact). Median of {len(runs)} runs.",
        "",
        "| measure | value |",
        "|---|---:|",
        f"| candidates from names (queries sent) | {last['candidates']} |",
        f"| relationships inferred | {len(found)} |",
        f"| true positives | {len(hits)} |",
        f"| **precision** | **{precision:.3f}** |",
        f"| **recall** | **{recall:.3f}** |",
        f"| names alone, no SQL: precision / recall | {names_precision:.3f} / "
        f"{len(names_only & TRUTH) / len(TRUTH):.3f} |",
        f"| scan, seconds | {median('scan'):.3f} |",
        f"| candidates from names, seconds | {median('candidates'):.4f} |",
        f"| inference incl. containment SQL, seconds | {median('inference'):.3f} |",
        f"| of which containment SQL, seconds | {median('containment'):.3f} |",
    ]
    lines += [
        "",
        "The schema and the naming rules have the same author: these figures show the rules work as "
        "designed on every naming variant and decoy listed, not how they fare on a stranger's warehouse. "
        "The names-alone row shows what containment adds.",
    ]
    missed, wrong = sorted(TRUTH - found), sorted(found - TRUTH)
    if missed or wrong:
        lines += ["", f"Missed: {missed or 'none'}. Wrong: {wrong or 'none'}."]
    lines += ["", machine_line()]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md")
    args = parser.parse_args()
    with scratch_database(DDL) as (dbname, server):
        target = WarehouseTarget(
            type="postgres",
            profile_name="bench",
            target_name="dev",
            profiles_file=Path("profiles.yml"),
            schema="analytics",
            database=dbname,
            credentials={"host": HOST, "port": PORT, "user": USER, "dbname": dbname},
        )
        body = report([run(target) for _ in range(args.runs)], server)
    print(body)
    if not args.no_write:
        replace_section(RESULTS, "## Relationship inference", body)


if __name__ == "__main__":
    main()
