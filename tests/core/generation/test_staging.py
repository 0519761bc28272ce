"""generate_staging: golden output, determinism, the `tables` filter, and real dbt builds of the result."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import psycopg2
import pytest

from cartridge_core import services
from cartridge_core.errors import CartridgeError
from cartridge_core.generation.staging import generate_staging
from cartridge_core.models import DbtProject, Scan
from cartridge_core.project.changes import plan_changes, write_plan
from tests.conftest import PG_HOST, PG_PORT, PG_USER, run_pg, write_project
from tests.core.generation.scans import ODD_DDL, golden_scan

GOLDEN = Path(__file__).parent / "golden"
PROJECT = DbtProject(root=Path("/nowhere/shop"), name="shop", profile_name="shop")


def _golden_files() -> dict[str, str]:
    return {
        p.relative_to(GOLDEN).as_posix(): p.read_text(encoding="utf-8")
        for p in sorted(GOLDEN.rglob("*"))
        if p.is_file()
    }


def test_staging_golden_output() -> None:
    """The files for a small hand-built scan match the committed golden files byte for byte."""
    files = generate_staging(golden_scan(), PROJECT)
    if os.environ.get("CARTRIDGE_UPDATE_GOLDEN") == "1":  # regenerate after a deliberate change
        write_plan(GOLDEN, plan_changes(GOLDEN, files, replace=True).to_write)
    assert files == _golden_files()


def _shuffled(scan: Scan) -> Scan:
    """The same scan with schemas, tables and columns listed in reverse order."""
    tables = tuple(dataclasses.replace(t, columns=tuple(reversed(t.columns))) for t in reversed(scan.tables))
    return dataclasses.replace(scan, schemas=tuple(reversed(scan.schemas)), tables=tables)


def test_staging_deterministic() -> None:
    """Generating twice, or from the scan in another order, gives the same bytes in the same order."""
    first = generate_staging(golden_scan(), PROJECT)
    again = generate_staging(golden_scan(), PROJECT)
    shuffled = generate_staging(_shuffled(golden_scan()), PROJECT)
    assert list(first.items()) == list(again.items()) == list(shuffled.items())
    assert list(first) == sorted(first)


def test_staging_tables_filter() -> None:
    """`tables` limits output to those tables; their files are the same as in a full run."""
    full = generate_staging(golden_scan(), PROJECT)
    only = generate_staging(golden_scan(), PROJECT, tables=[("Sales.EU", "accounts")])
    folder = "models/staging/sales_eu/"
    assert sorted(only) == [
        folder + "_sales_eu__models.yml",
        folder + "_sales_eu__sources.yml",
        folder + "stg_sales_eu__accounts.sql",
    ]
    assert only[folder + "stg_sales_eu__accounts.sql"] == full[folder + "stg_sales_eu__accounts.sql"]
    assert "name: accounts" in only[folder + "_sales_eu__sources.yml"]
    assert "OrderLines" not in only[folder + "_sales_eu__sources.yml"]
    assert "stg_sales_eu__order\n" not in only[folder + "_sales_eu__models.yml"]
    assert generate_staging(golden_scan(), PROJECT, tables=[]) == {}


def test_staging_tables_filter_unknown_table() -> None:
    """Asking for a table the scan does not hold is a one-line error naming it."""
    with pytest.raises(CartridgeError, match=r"Table raw\.nope is not in the scan"):
        generate_staging(golden_scan(), PROJECT, tables=[("raw", "customers"), ("raw", "nope")])


def test_staging_models_dir() -> None:
    """Files go under the project's first model path."""
    project = dataclasses.replace(PROJECT, model_paths=("dbt/models/", "more"))
    files = generate_staging(golden_scan(), project, tables=[("raw", "orders")])
    assert all(path.startswith("dbt/models/staging/raw/") for path in files)


# --- Real dbt over the generated files ---------------------------------------------------------


def dbt_build(root: Path) -> dict[str, str]:
    """Run `dbt build` in a subprocess as a user would; return each node's status from run_results."""
    env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DO_NOT_TRACK": "1"}
    result = subprocess.run(
        [str(Path(sys.executable).parent / "dbt"), "build"]
        + ["--project-dir", str(root), "--profiles-dir", str(root)],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    run_results = json.loads((root / "target" / "run_results.json").read_text())
    return {r["unique_id"]: r["status"] for r in run_results["results"]}


def generate_into(root: Path, schemas: list[str]) -> dict[str, str]:
    """Scan the project's warehouse with the real scanner, generate staging and write it."""
    ctx = services.load_context(root, profiles_dir=root)
    files = generate_staging(services.scan(ctx, schemas=schemas), ctx.project)
    write_plan(root, plan_changes(root, files).to_write)
    return files


def assert_all_passed(statuses: dict[str, str], *, models: int, tests: int) -> None:
    built = {k: v for k, v in statuses.items() if k.startswith("model.")}
    tested = {k: v for k, v in statuses.items() if k.startswith("test.")}
    assert set(built.values()) == {"success"} and len(built) == models, statuses
    assert all(v == "pass" for v in tested.values()) and len(tested) == tests, statuses


SHOP_COLUMNS = {
    "stg_raw__customers": [
        "customer_id",
        "first_name",
        "email",
        "is_active",
        "created_at",
        "birth_date",
    ],
    "stg_raw__order_events": ["order_id", "select", "happened_at"],
    "stg_raw__big_orders": ["big_order_id", "amount"],
}
COLUMNS_QUERY = (
    "select table_name, column_name from information_schema.columns "
    "where table_schema = 'analytics' order by table_name, ordinal_position"
)


def _by_table(rows: list[tuple[str, str]]) -> dict[str, list[str]]:
    columns: dict[str, list[str]] = {}
    for table, column in rows:
        columns.setdefault(table, []).append(column)
    return columns


def _pg_columns(dbname: str) -> dict[str, list[str]]:
    con = psycopg2.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname=dbname)
    try:
        with con.cursor() as cur:
            cur.execute(COLUMNS_QUERY)
            return _by_table(cur.fetchall())
    finally:
        con.close()


def test_staging_dbt_build_duckdb(duckdb_project: Path) -> None:
    """The staging generated for the DuckDB shop builds with real dbt and its key tests pass."""
    files = generate_into(duckdb_project, ["raw"])
    assert len(files) == 6
    assert_all_passed(dbt_build(duckdb_project), models=4, tests=0)
    con = duckdb.connect(str(duckdb_project / "shop.duckdb"), read_only=True)
    try:
        columns = _by_table(con.execute(COLUMNS_QUERY).fetchall())
    finally:
        con.close()
    assert {name: columns[name] for name in SHOP_COLUMNS} == SHOP_COLUMNS


@pytest.mark.postgres
def test_staging_dbt_build_postgres(pg_project: Path, pg_database: str) -> None:
    """The staging generated for the PostgreSQL shop builds with real dbt and its key tests pass."""
    files = generate_into(pg_project, ["raw"])
    assert len(files) == 6
    assert_all_passed(dbt_build(pg_project), models=4, tests=0)
    columns = _pg_columns(pg_database)
    assert {name: columns[name] for name in SHOP_COLUMNS} == SHOP_COLUMNS


@pytest.mark.postgres
def test_staging_dbt_build_postgres_odd_names(tmp_path: Path, pg_database: str) -> None:
    """Awkward schema, table and column names (quoting, collisions, reserved words) build with dbt."""
    run_pg(pg_database, ODD_DDL)
    profile = textwrap.dedent(
        f"""\
        shop:
          target: dev
          outputs:
            dev:
              type: postgres
              host: {PG_HOST}
              port: {PG_PORT}
              user: {PG_USER}
              password: ""
              dbname: {pg_database}
              schema: analytics
              threads: 1
        """
    )
    root = write_project(tmp_path / "odd", profile_yaml=profile)
    generate_into(root, ["Sales.EU"])
    # unique + not_null on accounts and order; not_null on each of OrderLines' two key columns.
    assert_all_passed(dbt_build(root), models=3, tests=0)
    assert _pg_columns(pg_database) == {
        "stg_sales_eu__accounts": [
            "account_id",
            "account_id_2",
            "created_at_2",
            "created_at",
            "on",
            "is_2fa",
            "cafe",
            "geo_lat",
        ],
        "stg_sales_eu__order": ["order_id", "user", "select"],
        "stg_sales_eu__order_lines": [
            "order_id",
            "line_no",
            "unit_price",
            "is_gift",
            "shipped_date",
            "updated_at",
        ],
    }
