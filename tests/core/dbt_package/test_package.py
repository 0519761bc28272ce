"""Cartridge's dbt package, installed in a real dbt project over real DuckDB and PostgreSQL warehouses.

Every figure the macros return is checked against the raw rows, read directly with duckdb/psycopg2
and counted in Python.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cartridge_core.dbt import package
from cartridge_core.errors import CartridgeError, DbtError
from tests.conftest import PG_HOST, PG_PORT, PG_USER, SHOP_DDL, run_pg, write_project

DBT = Path(sys.executable).parent / "dbt"

# More events than the shop fixture has: a null row, repeated values, and an order id (99) that no
# order has, so that containment of event order ids in orders is below 1.
MORE_EVENTS = (
    """insert into raw."Order Events" values (10, 'clicked', '2024-03-01 09:05:00'),"""
    """ (11, 'viewed', null), (99, 'clicked', '2024-03-04 10:00:00'), (null, null, null)"""
)
EVENT_COLUMNS = ("order_id", "select", "happened")


@dataclass(frozen=True, slots=True, kw_only=True)
class Shop:
    """A shop project with the cartridge package installed, and a direct line to its warehouse."""

    engine: str
    root: Path
    rows: Callable[[str], list[tuple[Any, ...]]]  # runs a select directly, not through dbt

    def profile(self, relation: package.RelationArg, **kwargs: Any) -> package.RelationProfile:
        return package.profile_relation(self.root, self.root, None, relation, **kwargs)


def _duckdb_rows(db_file: Path) -> Callable[[str], list[tuple[Any, ...]]]:
    def rows(sql: str) -> list[tuple[Any, ...]]:
        import duckdb

        # Closed at once: only one process may hold the file while dbt uses it.
        con = duckdb.connect(str(db_file))
        try:
            return con.execute(sql).fetchall()
        finally:
            con.close()

    return rows


def _pg_rows(dbname: str) -> Callable[[str], list[tuple[Any, ...]]]:
    def rows(sql: str) -> list[tuple[Any, ...]]:
        import psycopg2

        con = psycopg2.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname=dbname)
        try:
            with con.cursor() as cur:
                cur.execute(sql)
                return list(cur.fetchall())
        finally:
            con.close()

    return rows


def install_package(root: Path) -> None:
    """Install the cartridge package in the project as a user would: packages.yml, then dbt deps."""
    (root / "packages.yml").write_text(f"packages:\n  - local: {package.package_path()}\n")
    done = subprocess.run(
        [str(DBT), "deps", "--project-dir", str(root), "--profiles-dir", str(root)],
        cwd=root, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture(scope="module", params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def shop(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    """The shop of tests/conftest.py with more events, over DuckDB, then PostgreSQL, package installed.

    One per module and engine, not per test: installing the package and dbt's first parse of a
    project cost seconds, and the macros only read, so the tests can share the warehouse.
    """
    root = tmp_path_factory.mktemp(f"shop_{request.param}")
    if request.param == "duckdb":
        yield from _duckdb_shop(root)
    else:
        yield from _pg_shop(root)


def _duckdb_shop(root: Path) -> Iterator[Shop]:
    db_file = root / "shop.duckdb"
    rows = _duckdb_rows(db_file)
    for statement in [*SHOP_DDL, MORE_EVENTS]:
        rows(statement)
    profile = {"shop": {"target": "dev", "outputs": {"dev": {
        "type": "duckdb", "path": str(db_file), "schema": "analytics", "threads": 1}}}}  # fmt: skip
    write_project(root, profile_yaml=json.dumps(profile))
    install_package(root)
    yield Shop(engine="duckdb", root=root, rows=rows)


def _pg_shop(root: Path) -> Iterator[Shop]:
    dbname = f"cartridge_test_{uuid.uuid4().hex[:10]}"
    run_pg("postgres", [f'create database "{dbname}"'])
    try:
        run_pg(dbname, [*SHOP_DDL, MORE_EVENTS])
        profile = {"shop": {"target": "dev", "outputs": {"dev": {
            "type": "postgres", "host": PG_HOST, "port": PG_PORT, "user": PG_USER,
            "password": "{{ env_var('CARTRIDGE_TEST_PG_PASSWORD', '') }}",
            "dbname": dbname, "schema": "analytics", "threads": 1}}}}  # fmt: skip
        write_project(root, profile_yaml=json.dumps(profile))
        install_package(root)
        yield Shop(engine="postgres", root=root, rows=_pg_rows(dbname))
    finally:
        run_pg("postgres", [f'drop database if exists "{dbname}" with (force)'])


def _expected_top(values: list[Any], top_n: int) -> list[tuple[str, int]]:
    counts = Counter(str(v) for v in values)
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:top_n]


def _assert_distinct(found: int | None, expected: int, *, approximate: bool) -> None:
    assert found is not None
    if approximate:  # HyperLogLog estimates: close, not exact
        assert abs(found - expected) <= max(1, round(expected * 0.05))
    else:
        assert found == expected


def test_package_path_is_a_dbt_project() -> None:
    """package_path() is the dbt project named `cartridge`, with the macros Cartridge calls."""
    root = package.package_path()
    assert "name: cartridge" in (root / "dbt_project.yml").read_text()
    macros = " ".join(p.read_text() for p in (root / "macros").glob("*.sql"))
    for name in ("profile_relation", "check_containment", "list_relations", "list_columns"):
        assert f"macro {name}(" in macros
        assert f"adapter.dispatch('{name}', 'cartridge')" in macros


def test_package_profile_relation_matches_the_data(shop: Shop) -> None:
    """Counts, nulls, distinct counts, min/max and top values equal those computed from the raw rows."""
    profile = shop.profile("raw.Order Events", top_n=2)
    rows = shop.rows('select order_id, "select", happened from raw."Order Events"')

    assert (profile.relation.schema, profile.relation.identifier) == ("raw", "Order Events")
    assert profile.row_count == len(rows)
    assert profile.distinct_approximate == (shop.engine == "duckdb")
    assert [c.name for c in profile.columns] == list(EVENT_COLUMNS)
    for index, column in enumerate(profile.columns):
        values = [row[index] for row in rows if row[index] is not None]
        assert column.non_null_count == len(values)
        assert column.null_count == len(rows) - len(values)
        assert column.null_fraction == pytest.approx((len(rows) - len(values)) / len(rows))
        _assert_distinct(column.distinct_count, len(set(values)), approximate=profile.distinct_approximate)
        assert (column.min, column.max) == (str(min(values)), str(max(values)))
    kinds = {c.name: c.kind for c in profile.columns}
    assert kinds == {"order_id": "number", "select": "string", "happened": "temporal"}
    order_id, select, happened = profile.columns
    assert [(t.value, t.count) for t in order_id.top_values or ()] == _expected_top(
        [r[0] for r in rows if r[0] is not None], 2
    )
    assert [(t.value, t.count) for t in select.top_values or ()] == [("clicked", 3), ("viewed", 1)]
    assert happened.top_values is None  # every value differs: nothing is "most frequent"


def test_package_profile_relation_picks_columns_by_mapping(shop: Shop) -> None:
    """A mapping relation and chosen columns (one mixed-case, asked in lower case) profile just those."""
    profile = shop.profile({"schema": "raw", "identifier": "customers"}, columns=["firstname", "active"])
    rows = shop.rows('select "FirstName", active from raw.customers')

    assert [c.name for c in profile.columns] == ["FirstName", "active"]
    first_name, active = profile.columns
    assert (first_name.min, first_name.max) == (min(r[0] for r in rows), max(r[0] for r in rows))
    assert first_name.null_count == 0
    # Booleans are counted but have no min or max.
    assert (active.kind, active.min, active.max) == ("boolean", None, None)
    assert active.distinct_count == len({r[1] for r in rows})


@pytest.mark.parametrize(
    "relation",
    [pytest.param("raw.Order Events", id="table"), pytest.param("raw.big_orders", id="view")],
)
def test_package_profile_relation_samples(shop: Shop, relation: str) -> None:
    """A 100 % sample (TABLESAMPLE / USING SAMPLE, or random() on a PostgreSQL view) reads every row."""
    schema, name = relation.split(".")
    expected = shop.rows(f'select count(*) from {schema}."{name}"')[0][0]

    profile = shop.profile(relation, sample_percent=100)

    assert profile.row_count == expected
    assert profile.sample_percent == 100.0
    assert profile.approximate


def test_package_check_containment_matches_the_data(shop: Shop) -> None:
    """Every order's customer exists (share 1.0); event order ids include an orphan (share below 1)."""
    full = package.check_containment(
        shop.root, shop.root, None, "raw.orders", "customer_id", "raw.customers", "id"
    )
    assert (full.child_non_null, full.child_found, full.share) == (2, 2, 1.0)

    orphans = package.check_containment(
        shop.root, shop.root, "dev", {"schema": "raw", "identifier": "Order Events"}, "order_id",
        "raw.orders", "id", sample_percent=100,
    )  # fmt: skip
    child = [r[0] for r in shop.rows('select order_id from raw."Order Events" where order_id is not null')]
    parent = {r[0] for r in shop.rows("select id from raw.orders")}
    assert orphans.child_non_null == len(child)
    assert orphans.child_found == sum(1 for v in child if v in parent)
    assert orphans.share is not None and orphans.share < 1.0
    assert (orphans.child.identifier, orphans.sample_percent) == ("Order Events", 100.0)


def test_package_lists_relations_and_columns_as_the_catalog_does(shop: Shop) -> None:
    """list_relations and list_columns name exactly what the warehouse's catalog holds, case kept."""
    relations = package.list_relations(shop.root, shop.root, None, ["raw"])
    catalog = shop.rows(
        "select table_name, table_type from information_schema.tables where table_schema = 'raw'"
    )
    assert sorted((r.identifier, r.type) for r in relations) == sorted(
        (name, "view" if kind == "VIEW" else "table") for name, kind in catalog
    )

    columns = package.list_columns(shop.root, shop.root, None, "raw.Order Events")
    assert [c.name for c in columns] == list(EVENT_COLUMNS)
    assert [c.kind for c in columns] == ["number", "string", "temporal"]


# The CLI path does not depend on the engine, and a dbt process costs seconds: DuckDB only.
@pytest.mark.parametrize("shop", ["duckdb"], indirect=True)
def test_package_run_operation_cli_prints_one_json_line(shop: Shop) -> None:
    """`dbt -q run-operation cartridge.check_containment` prints only the result, as one JSON line."""
    args = {
        "child_relation": {"schema": "raw", "identifier": "Order Events"},
        "child_column": "order_id",
        "parent_relation": "raw.orders",
        "parent_column": "id",
    }
    done = subprocess.run(
        [str(DBT), "-q", "run-operation", "cartridge.check_containment", "--args", json.dumps(args),
         "--project-dir", str(shop.root), "--profiles-dir", str(shop.root)],
        cwd=shop.root, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1
    printed = json.loads(lines[0])
    assert printed["macro"] == "cartridge.check_containment"
    child = [r[0] for r in shop.rows('select order_id from raw."Order Events" where order_id is not null')]
    parent = {r[0] for r in shop.rows("select id from raw.orders")}
    result = printed["result"]
    assert (result["child_non_null"], result["child_found"]) == (
        len(child),
        sum(1 for v in child if v in parent),
    )


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        pytest.param(
            lambda root: package.profile_relation(root, root, None, "raw.no_such_table"),
            "cartridge: relation .*raw.no_such_table not found",
            id="unknown-relation",
        ),
        pytest.param(
            lambda root: package.check_containment(
                root, root, None, "raw.orders", "nope", "raw.customers", "id"
            ),
            "cartridge: column 'nope' not found",
            id="unknown-column",
        ),
        pytest.param(
            lambda root: package.profile_relation(root, root, None, "raw.orders", sample_percent=0),
            r"cartridge: sample_percent must be a number in \(0, 100\]",
            id="bad-sample",
        ),
    ],
)
def test_package_errors_say_what_is_wrong_in_one_line(
    shop: Shop, call: Callable[[Path], object], expected: str
) -> None:
    """A bad argument becomes one DbtError line quoting the macro's own message, not dbt's call stack."""
    with pytest.raises(DbtError, match=expected) as caught:
        call(shop.root)
    assert "\n" not in caught.value.message
    assert "called by macro" not in caught.value.message


def test_package_not_installed_says_how_to_install(duckdb_project: Path) -> None:
    """Without the package in packages.yml, the error says which line to add and to run dbt deps."""
    with pytest.raises(CartridgeError) as caught:
        package.list_columns(duckdb_project, duckdb_project, None, "raw.orders")
    assert f"- local: {package.package_path()}" in caught.value.message
    assert "dbt deps" in caught.value.message
