"""generate_marts: golden output, determinism, layout rules, and real `dbt build`s of the result."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
from pathlib import Path, PurePosixPath

import duckdb
import pytest

from cartridge_core import services
from cartridge_core.generation.mart_builder import prefixed
from cartridge_core.generation.marts import MartsOutput, generate_marts
from cartridge_core.generation.project_config import with_layer_materializations
from cartridge_core.generation.staging import generate_staging, staging_models
from cartridge_core.models import DbtProject, Scan
from cartridge_core.project.changes import plan_changes, write_plan
from tests.conftest import PG_HOST, PG_PORT, PG_USER, run_pg, write_project
from tests.core.generation.mart_scans import mart_scan
from tests.core.generation.test_staging import dbt_build
from tests.core.test_example import EXAMPLE, make_data

GOLDEN = Path(__file__).parent / "golden_marts"
PROJECT = DbtProject(root=Path("/nowhere/shop"), name="shop", profile_name="shop")
REF = re.compile(r"\{\{ ref\('([^']+)'\) \}\}")
MART_PREFIXES = {"staging": ("stg_",), "intermediate": ("int_",), "marts": ("fct_", "dim_")}


def _marts(scan: Scan, *, domain: str | None = None) -> MartsOutput:
    return generate_marts(scan, staging_models(scan), PROJECT, domain=domain)


def _golden_files() -> dict[str, str]:
    return {
        p.relative_to(GOLDEN).as_posix(): p.read_text(encoding="utf-8")
        for p in sorted(GOLDEN.rglob("*"))
        if p.is_file()
    }


def test_marts_golden_output() -> None:
    """The files for a small hand-built analysed scan match the committed golden files byte for byte."""
    files = _marts(mart_scan()).files
    if os.environ.get("CARTRIDGE_UPDATE_GOLDEN") == "1":  # regenerate after a deliberate change
        shutil.rmtree(GOLDEN, ignore_errors=True)
        for relpath, text in files.items():
            (GOLDEN / relpath).parent.mkdir(parents=True, exist_ok=True)
            (GOLDEN / relpath).write_text(text, encoding="utf-8")
    assert files == _golden_files()


def _shuffled(scan: Scan) -> Scan:
    """The same scan with tables, columns, relationships and roles listed in reverse order."""
    tables = tuple(dataclasses.replace(t, columns=tuple(reversed(t.columns))) for t in reversed(scan.tables))
    return dataclasses.replace(
        scan, tables=tables, relationships=scan.relationships[::-1], roles=scan.roles[::-1]
    )


def test_marts_deterministic() -> None:
    """Generating twice, or from the scan and staging models in another order, gives the same bytes."""
    scan = mart_scan()
    first = _marts(scan)
    again = _marts(scan)
    shuffled = generate_marts(_shuffled(scan), staging_models(_shuffled(scan))[::-1], PROJECT)
    assert list(first.files.items()) == list(again.files.items()) == list(shuffled.files.items())
    assert first.docs == shuffled.docs
    assert list(first.files) == sorted(first.files)


def assert_project_evaluator_rules(files: dict[str, str]) -> None:
    """dbt-project-evaluator's default naming and layering rules, on the generated model files.

    Each model sits in `models/<layer>/<folder>/` under its layer's prefix, next to a models YAML;
    staging reads only sources; intermediates read only staging; marts never read a source.
    """
    names = {PurePosixPath(p).stem for p in files if p.endswith(".sql")}
    for path, text in files.items():
        parts = PurePosixPath(path).parts
        if not path.endswith(".sql"):
            continue
        assert len(parts) == 4 and parts[0] == "models", path
        layer, name, refs = parts[1], PurePosixPath(path).stem, REF.findall(text)
        assert name.startswith(MART_PREFIXES[layer]), path
        assert any(
            p.endswith("__models.yml") and PurePosixPath(p).parent == PurePosixPath(path).parent
            for p in files
        )
        assert set(refs) <= names, path  # every ref is to a model generated with it
        if layer == "staging":
            assert "source(" in text and not refs, path
            continue
        assert "source(" not in text, path
        allowed = ("stg_",) if layer == "intermediate" else ("stg_", "int_")
        assert refs and all(r.startswith(allowed) for r in refs), path
        assert text.endswith("\n\nselect * from final\n"), path


def test_marts_follow_project_evaluator_rules() -> None:
    """The generated staging, intermediate and mart files follow dbt-project-evaluator's default rules."""
    scan = mart_scan()
    assert_project_evaluator_rules({**generate_staging(scan, PROJECT), **_marts(scan).files})


def test_marts_docs_state_grain_keys_and_relationships() -> None:
    """Each model's docs state its grain, test its key, and test fact foreign keys against dimensions."""
    docs = {d.name: d for d in _marts(mart_scan()).docs}
    lines = docs["fct_order_lines"]
    assert (lines.description or "").endswith("One row per order line.")
    tests = {c.name: [(t.kind, t.to, t.field) for t in c.tests] for c in lines.columns}
    assert tests["order_line_id"] == [("unique", None, None), ("not_null", None, None)]
    assert tests["product_id"] == [("relationships", "ref('dim_products')", "product_id")]
    assert tests["billing_address_id"] == [("relationships", "ref('dim_addresses')", "address_id")]
    assert tests["order_id"] == []  # a fact's link to its header fact is not a dimension key
    assert [c.name for c in docs["fct_orders"].columns][-2:] == ["payment_count", "total_payment_amount"]
    payments = {c.name: c for c in docs["fct_payments"].columns}
    assert payments["customer_id"].tests[0].evidence == "declared foreign key orders_customer_id_fkey"
    bridge = docs["dim_product_tags_bridge"]
    assert (bridge.description or "").endswith("One row per product and tag.")
    rollup = docs["int_payments__aggregated_to_orders"]
    assert [c.name for c in rollup.columns] == ["order_id", "payment_count", "total_payment_amount"]
    assert {d.name for d in docs.values()} == {
        PurePosixPath(p).stem for p in _marts(mart_scan()).files if p.endswith(".sql")
    }


@pytest.mark.parametrize(
    ("prefix", "column", "expected"),
    [
        pytest.param("country", "name", "country_name", id="prefixed"),
        pytest.param("country", "country_code", "country_code", id="already-named"),
        pytest.param("group", "is_vip", "is_group_vip", id="flag"),
        pytest.param("home_address_country", "name", "home_address_country_name", id="role-chain"),
    ],
)
def test_marts_lookup_column_names(prefix: str, column: str, expected: str) -> None:
    """A lookup's column is named in the dimension after what the foreign key calls the lookup."""
    assert prefixed(prefix, column) == expected


def test_marts_dimension_flattens_role_named_lookup_chain() -> None:
    """A dimension's role-named lookup (`home_address_id`) keeps the role in its lookups' names too."""
    files = _marts(mart_scan()).files
    sql = files["models/marts/shop/dim_customers.sql"]
    assert "home_address.city as home_address_city" in sql
    assert "home_address_country.name as home_address_country_name" in sql
    assert "home_address_region.name as home_address_region_name" in sql
    assert (
        "left join addresses as home_address\n        on customers.home_address_id = home_address.address_id"
        in sql
    )


def test_marts_domain_setting() -> None:
    """A domain the user names becomes the folder and YAML names of every mart and intermediate model."""
    files = _marts(mart_scan(), domain="Sales Ops").files
    folders = {PurePosixPath(p).parent.as_posix() for p in files}
    assert folders == {"models/intermediate/sales_ops", "models/marts/sales_ops"}
    assert "models/marts/sales_ops/_sales_ops__models.yml" in files
    assert "models/intermediate/sales_ops/_int_sales_ops__models.yml" in files


def test_marts_name_clash_between_sources() -> None:
    """The same table in two sources gives two models qualified by source, in their own folders."""
    scan = mart_scan()
    copies = tuple(dataclasses.replace(t, schema="eu") for t in scan.tables)
    relationships = tuple(
        dataclasses.replace(r, child_schema="eu", parent_schema="eu") for r in scan.relationships
    )
    roles = tuple(dataclasses.replace(r, schema="eu") for r in scan.roles)
    both = dataclasses.replace(
        scan,
        schemas=("eu", "shop"),
        tables=scan.tables + copies,
        relationships=scan.relationships + relationships,
        roles=scan.roles + roles,
    )
    files = _marts(both).files
    assert "models/marts/eu/dim_eu_customers.sql" in files
    assert "models/marts/shop/dim_shop_customers.sql" in files
    assert "models/intermediate/eu/int_eu_payments__aggregated_to_orders.sql" in files
    assert "ref('int_eu_payments__aggregated_to_orders')" in files["models/marts/eu/fct_eu_orders.sql"]
    assert "ref('stg_eu__orders')" in files["models/marts/eu/fct_eu_orders.sql"]


def test_marts_only_over_given_staging_models() -> None:
    """Tables without a staging model get no mart, and no mart refs or tests against them."""
    scan = mart_scan()
    staging = [m for m in staging_models(scan) if m.table.name not in ("products", "payments")]
    output = generate_marts(scan, staging, PROJECT)
    text = "".join(output.files.values())
    assert "stg_shop__products" not in text and "dim_products" not in text and "payments" not in text
    assert "models/marts/shop/fct_order_lines.sql" in output.files  # its other links still count


# --- Real dbt over the generated files ---------------------------------------------------------


def _generate_into(root: Path) -> MartsOutput:
    """Deep-scan the project's warehouse, generate staging and marts, set layer materializations, write."""
    ctx = services.load_context(root, profiles_dir=root)
    scan = services.deep_scan(ctx).scan
    marts = generate_marts(scan, staging_models(scan), ctx.project)
    assert generate_marts(scan, staging_models(scan), ctx.project) == marts  # deterministic on real scans
    files = {**generate_staging(scan, ctx.project), **marts.files}
    assert_project_evaluator_rules(files)
    project_yml = (root / "dbt_project.yml").read_text()
    files["dbt_project.yml"] = with_layer_materializations(project_yml, ctx.project.name)
    write_plan(root, plan_changes(root, files, replace=True).to_write)
    return marts


def _assert_built(root: Path, statuses: dict[str, str], marts: MartsOutput) -> None:
    """Every model built and every test passed, among them each test proposed on a mart or rollup."""
    models = {k.split(".")[-1]: v for k, v in statuses.items() if k.startswith("model.")}
    assert set(models.values()) == {"success"}, statuses
    assert {v for k, v in statuses.items() if k.startswith("test.")} == {"pass"}, statuses
    built = {d.name for d in marts.docs if not d.name.startswith("int_")}  # ephemeral ones are not built
    assert built <= set(models)
    manifest = json.loads((root / "target" / "manifest.json").read_text())
    names = {d.name for d in marts.docs}
    on_marts = [
        test_id
        for test_id, node in manifest["nodes"].items()
        if node["resource_type"] == "test" and (node.get("attached_node") or "").split(".")[-1] in names
    ]
    wanted = sum(len(c.tests) for d in marts.docs for c in d.columns) + sum(len(d.tests) for d in marts.docs)
    assert len(on_marts) == wanted > 0
    assert all(statuses[test_id] == "pass" for test_id in on_marts)


def test_marts_dbt_build_example_shop(tmp_path: Path) -> None:
    """On the example shop, staging plus marts build with real dbt: every model and test passes."""
    root = tmp_path / "shop"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("*.duckdb*", "staging", "target", "logs"))
    make_data(root / "shop.duckdb")
    marts = _generate_into(root)

    assert {d.name for d in marts.docs} == {
        "dim_customers",
        "dim_products",
        "fct_orders",
        "fct_order_lines",
        "fct_payments",
        "int_order_lines__aggregated_to_orders",
        "int_payments__aggregated_to_orders",
    }
    _assert_built(root, dbt_build(root), marts)
    con = duckdb.connect(str(root / "shop.duckdb"), read_only=True)
    try:
        kinds = dict(
            con.execute(
                "select table_name, table_type from information_schema.tables"
                " where table_schema = 'analytics'"
            ).fetchall()
        )
        orders, lines, totals = con.execute(
            "select count(*), sum(order_line_count), sum(total_payment_amount) from analytics.fct_orders"
        ).fetchone() or (0, 0, 0)
        [(paid,)] = con.execute("select sum(amount) from raw.payments").fetchall()
        [(raw_lines,)] = con.execute("select count(*) from raw.order_lines").fetchall()
    finally:
        con.close()
    assert kinds["fct_orders"] == "BASE TABLE" and kinds["stg_raw__orders"] == "VIEW"
    assert not any(name.startswith("int_") for name in kinds)  # ephemeral: inlined, never built
    assert (orders, lines, totals) == (2000, raw_lines, paid)  # the rollups keep the fact's grain


# Eighteen related tables: declared foreign keys, and keys only names and data reveal.
ERP_DDL = [
    "create schema erp",
    "create table erp.regions (id integer primary key, name text not null)",
    "create table erp.countries (id integer primary key, name text not null, iso_code char(2),"
    " region_id integer not null references erp.regions (id))",
    "create table erp.segments (id integer primary key, name text not null)",
    "create table erp.customers (id integer primary key, first_name text, last_name text, email text,"
    " country_id integer, segment_id integer, created_at timestamp)",
    "create table erp.suppliers (id integer primary key, name text,"
    " country_id integer references erp.countries (id))",
    "create table erp.departments (id integer primary key, name text not null)",
    "create table erp.categories (id integer primary key, name text,"
    " department_id integer references erp.departments (id))",
    "create table erp.products (id integer primary key, sku varchar(12) not null unique, name text,"
    " category_id integer references erp.categories (id), supplier_id integer, list_price numeric(10, 2))",
    "create table erp.tags (id integer primary key, label text not null)",
    "create table erp.product_tags (product_id integer not null references erp.products (id),"
    " tag_id integer not null, primary key (product_id, tag_id))",
    "create table erp.stores (id integer primary key, name text, country_id integer, opened_on date)",
    "create table erp.employees (id integer primary key, full_name text,"
    " store_id integer references erp.stores (id), hired_on date)",
    "create table erp.orders (id integer primary key,"
    " customer_id integer not null references erp.customers (id),"
    " store_id integer, employee_id integer, status text, ordered_at timestamp, shipping_fee numeric(6, 2))",
    "create table erp.order_items (id integer primary key,"
    " order_id integer not null references erp.orders (id),"
    " product_id integer not null, quantity integer not null, unit_price numeric(10, 2))",
    "create table erp.payments (id integer primary key, order_id integer not null, method text,"
    " amount numeric(10, 2), paid_at timestamp)",
    "create table erp.carriers (id integer primary key, name text)",
    "create table erp.shipments (id integer primary key, order_id integer references erp.orders (id),"
    " carrier_id integer, shipped_at timestamp, cost numeric(8, 2))",
    "create table erp.returns (id integer primary key, order_item_id integer, returned_at timestamp,"
    " refund_amount numeric(10, 2))",
    "insert into erp.regions select i, 'Region ' || i from generate_series(1, 4) i",
    "insert into erp.countries select i, 'Country ' || i, 'C' || (i % 10), i % 4 + 1"
    " from generate_series(1, 10) i",
    "insert into erp.segments select i, 'Segment ' || i from generate_series(1, 3) i",
    "insert into erp.customers select i, 'F' || i, 'L' || i, 'c' || i || '@example.com',"
    " i % 10 + 1, i % 3 + 1,"
    " timestamp '2024-01-01' + i * interval '1 hour' from generate_series(1, 200) i",
    "insert into erp.suppliers select i, 'Supplier ' || i, i % 10 + 1 from generate_series(1, 10) i",
    "insert into erp.departments select i, 'Department ' || i from generate_series(1, 3) i",
    "insert into erp.categories select i, 'Category ' || i, i % 3 + 1 from generate_series(1, 8) i",
    "insert into erp.products select i, 'SKU' || i, 'Product ' || i, i % 8 + 1, i % 10 + 1, i * 1.5"
    " from generate_series(1, 50) i",
    "insert into erp.tags select i, 'Tag ' || i from generate_series(1, 6) i",
    "insert into erp.product_tags select i, i % 6 + 1 from generate_series(1, 50) i"
    " union all select i, (i + 2) % 6 + 1 from generate_series(1, 50) i",
    "insert into erp.stores select i, 'Store ' || i, i % 10 + 1, date '2020-01-01' + i"
    " from generate_series(1, 5) i",
    "insert into erp.employees select i, 'Employee ' || i, i % 5 + 1, date '2021-01-01' + i"
    " from generate_series(1, 20) i",
    "insert into erp.orders select i, i % 200 + 1, i % 5 + 1, i % 20 + 1,"
    " (array['placed', 'shipped', 'done'])[i % 3 + 1],"
    " timestamp '2024-02-01' + i * interval '2 hours', i % 7 from generate_series(1, 500) i",
    "insert into erp.order_items select i, i % 500 + 1, i % 50 + 1, i % 4 + 1, (i % 50 + 1) * 1.5"
    " from generate_series(1, 1500) i",
    "insert into erp.payments select i, i, 'card', 10 + i % 90,"
    " timestamp '2024-02-02' + i * interval '2 hours'"
    " from generate_series(1, 500) i",
    "insert into erp.carriers select i, 'Carrier ' || i from generate_series(1, 3) i",
    "insert into erp.shipments select i, i, i % 3 + 1, timestamp '2024-02-03' + i * interval '2 hours', 4.5"
    " from generate_series(1, 400) i",
    "insert into erp.returns select i, i * 7, timestamp '2024-03-01' + i * interval '1 day', 3"
    " from generate_series(1, 50) i",
]


@pytest.mark.postgres
def test_marts_dbt_build_postgres_many_tables(tmp_path: Path, pg_database: str) -> None:
    """Over eighteen PostgreSQL tables with declared and inferred keys, `dbt build` has no failure."""
    run_pg(pg_database, ERP_DDL)
    profile = (
        f"shop:\n  target: dev\n  outputs:\n    dev:\n      type: postgres\n      host: {PG_HOST}\n"
        f"      port: {PG_PORT}\n      user: {PG_USER}\n"
        "      password: \"{{ env_var('CARTRIDGE_TEST_PG_PASSWORD', '') }}\"\n"
        f"      dbname: {pg_database}\n      schema: analytics\n      threads: 1\n"
    )
    root = write_project(tmp_path / "erp", profile_yaml=profile)
    marts = _generate_into(root)

    names = {d.name for d in marts.docs}
    assert {"dim_customers", "dim_stores", "fct_orders", "fct_payments", "dim_product_tags_bridge"} <= names
    tested = {
        (d.name, c.name, t.to)
        for d in marts.docs
        for c in d.columns
        for t in c.tests
        if t.kind == "relationships"
    }
    assert ("fct_orders", "store_id", "ref('dim_stores')") in tested  # a key no constraint declares
    _assert_built(root, dbt_build(root), marts)
