"""The shipped example: its data generator builds the shop warehouse, and dbt accepts the project."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from ruamel.yaml import YAML

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "shop"
MAKE_DATA = EXAMPLE / "make_data.py"
TABLES = ("customers", "products", "orders", "order_lines", "payments")


def make_data(output: Path) -> subprocess.CompletedProcess[str]:
    """Run the example's generator as a user would, writing to `output`."""
    return subprocess.run(
        [sys.executable, str(MAKE_DATA), "--output", str(output)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )


def query(db: Path, sql: str) -> list[tuple[object, ...]]:
    """Rows of one read-only query against the DuckDB file `db`."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def table_rows(db: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every raw table, ordered by primary key."""
    return {t: query(db, f"select * from raw.{t} order by id") for t in TABLES}


@pytest.fixture(scope="module")
def shop_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One generated shop warehouse, shared by the read-only tests of this module."""
    output = tmp_path_factory.mktemp("example") / "shop.duckdb"
    make_data(output)
    return output


@pytest.mark.parametrize(
    ("table", "low", "high"),
    [
        pytest.param("customers", 500, 500, id="customers"),
        pytest.param("products", 60, 60, id="products"),
        pytest.param("orders", 2000, 2000, id="orders"),
        pytest.param("order_lines", 4500, 5500, id="order_lines"),
        pytest.param("payments", 1800, 2200, id="payments"),
    ],
)
def test_example_data_row_counts(shop_db: Path, table: str, low: int, high: int) -> None:
    """Each raw table of the shop holds about the number of rows the README promises."""
    [(count,)] = query(shop_db, f"select count(*) from raw.{table}")
    assert isinstance(count, int)
    assert low <= count <= high


def test_example_data_only_raw_tables(shop_db: Path) -> None:
    """The warehouse holds exactly the five shop tables, all in schema raw."""
    found = query(shop_db, "select schema_name, table_name from duckdb_tables() order by 2")
    assert found == sorted([("raw", t) for t in TABLES], key=lambda r: r[1])


def test_example_data_primary_keys(shop_db: Path) -> None:
    """Every table declares `id` as its primary key."""
    keys = query(
        shop_db,
        "select table_name, constraint_column_names from duckdb_constraints() "
        "where constraint_type = 'PRIMARY KEY' order by 1",
    )
    assert keys == sorted((t, ["id"]) for t in TABLES)


def test_example_data_foreign_keys(shop_db: Path) -> None:
    """The four foreign keys link orders, lines and payments to their parents."""
    keys = query(
        shop_db,
        "select table_name, constraint_column_names, referenced_table, referenced_column_names "
        "from duckdb_constraints() where constraint_type = 'FOREIGN KEY' order by 1, 2",
    )
    assert keys == [
        ("order_lines", ["order_id"], "orders", ["id"]),
        ("order_lines", ["product_id"], "products", ["id"]),
        ("orders", ["customer_id"], "customers", ["id"]),
        ("payments", ["order_id"], "orders", ["id"]),
    ]


@pytest.mark.parametrize(
    ("table", "column", "data_type", "nullable"),
    [
        pytest.param("customers", "id", "INTEGER", False, id="integer-id"),
        pytest.param("customers", "email", "VARCHAR", True, id="nullable-varchar"),
        pytest.param("customers", "is_active", "BOOLEAN", False, id="boolean-flag"),
        pytest.param("customers", "created", "TIMESTAMP", False, id="timestamp"),
        pytest.param("customers", "birth_date", "DATE", True, id="date"),
        pytest.param("products", "active", "BOOLEAN", False, id="active-flag"),
        pytest.param("products", "price", "DECIMAL(10,2)", False, id="decimal-price"),
        pytest.param("orders", "customer_id", "INTEGER", False, id="not-null-fk"),
        pytest.param("orders", "status", "VARCHAR", False, id="status"),
        pytest.param("payments", "amount", "DECIMAL(10,2)", False, id="decimal-amount"),
    ],
)
def test_example_data_column_types(
    shop_db: Path, table: str, column: str, data_type: str, nullable: bool
) -> None:
    """Columns carry the varied types and NOT NULL flags a scanner must handle."""
    found = query(
        shop_db,
        f"select data_type, is_nullable from duckdb_columns() "
        f"where table_name = '{table}' and column_name = '{column}'",
    )
    assert found == [(data_type, nullable)]


def test_example_data_comments(shop_db: Path) -> None:
    """Some tables and columns carry COMMENT ON descriptions."""
    tables = dict(query(shop_db, "select table_name, comment from duckdb_tables()"))
    columns = {
        (t, c): text
        for t, c, text in query(
            shop_db,
            "select table_name, column_name, comment from duckdb_columns() where comment is not null",
        )
    }
    assert tables["customers"] and tables["orders"] and tables["payments"]
    assert tables["products"] is None  # not every table is documented
    assert columns[("customers", "email")] and columns[("payments", "is_refunded")]
    assert len(columns) >= 4


def test_example_data_imperfections(shop_db: Path) -> None:
    """The data is realistically untidy: missing e-mails, refunds, a small set of statuses."""
    [(no_email,)] = query(shop_db, "select count(*) from raw.customers where email is null")
    [(refunded,)] = query(shop_db, "select count(*) from raw.payments where is_refunded")
    statuses = {s for (s,) in query(shop_db, "select distinct status from raw.orders")}
    assert isinstance(no_email, int) and 0 < no_email < 100
    assert isinstance(refunded, int) and 0 < refunded < 300
    assert statuses == {"placed", "shipped", "completed", "returned", "cancelled"}


def test_example_data_keys_hold(shop_db: Path) -> None:
    """No row points at a missing parent (the generator respects its own foreign keys)."""
    [(orphans,)] = query(
        shop_db,
        "select count(*) from raw.payments p left join raw.orders o on o.id = p.order_id where o.id is null",
    )
    assert orphans == 0


def test_example_data_written_by_installed_duckdb(shop_db: Path) -> None:
    """The file is written by the duckdb installed with Cartridge (its header names the version)."""
    header = shop_db.read_bytes()[:4096]
    assert b"DUCK" in header[:16]
    assert f"v{duckdb.__version__}".encode() in header


def test_example_data_deterministic(shop_db: Path, tmp_path: Path) -> None:
    """Two runs write the same rows, value for value."""
    again = tmp_path / "again.duckdb"
    make_data(again)
    assert table_rows(again) == table_rows(shop_db)


def test_example_data_replaces_existing_file(tmp_path: Path) -> None:
    """A rerun replaces an earlier file whole and leaves no temporary files behind."""
    output = tmp_path / "shop.duckdb"
    con = duckdb.connect(str(output))
    con.execute("create table stale as select 1 as x")
    con.close()
    result = make_data(output)
    assert str(output) in result.stdout
    assert query(output, "select table_name from duckdb_tables() where table_name = 'stale'") == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shop.duckdb"]


def test_example_project_settings() -> None:
    """dbt_project.yml and profiles.yml name the shop profile and a relative DuckDB path."""
    yaml = YAML(typ="safe")
    project = yaml.load(EXAMPLE / "dbt_project.yml")
    profile = yaml.load(EXAMPLE / "profiles.yml")["shop"]
    target = profile["outputs"][profile["target"]]
    assert (project["name"], project["profile"], project["model-paths"]) == ("shop", "shop", ["models"])
    assert project["models"]["shop"]["staging"]["+materialized"] == "view"
    assert (target["type"], target["path"], target["schema"]) == ("duckdb", "shop.duckdb", "analytics")


def test_example_project_runs_with_dbt(tmp_path: Path) -> None:
    """Real dbt builds a staging model in the example as a view in schema analytics."""
    project = tmp_path / "shop"
    shutil.copytree(
        EXAMPLE,
        project,
        ignore=shutil.ignore_patterns(
            "*.duckdb*", "staging", "intermediate", "marts", "target", ".cartridge"
        ),
    )
    make_data(project / "shop.duckdb")
    staging = project / "models" / "staging"
    staging.mkdir()
    (staging / "_shop__sources.yml").write_text(
        "sources:\n  - name: shop\n    schema: raw\n    tables:\n      - name: orders\n"
    )
    (staging / "stg_shop__orders.sql").write_text(
        "select id as order_id, status from {{ source('shop', 'orders') }}\n"
    )
    dbt = Path(sys.executable).with_name("dbt")
    # cwd is the project root: the profile's relative DuckDB path resolves from there.
    run = subprocess.run(
        [str(dbt), "run", "--profiles-dir", ".", "--project-dir", "."],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert run.returncode == 0, run.stdout[-2000:]
    found = query(
        project / "shop.duckdb",
        "select table_schema, table_type from information_schema.tables "
        "where table_name = 'stg_shop__orders'",
    )
    assert found == [("analytics", "VIEW")]
