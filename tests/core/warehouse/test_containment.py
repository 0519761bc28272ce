"""Containment of child column values in parent columns, measured on real DuckDB and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from cartridge_core.errors import Cancelled
from cartridge_core.models import ContainmentQuery, WarehouseTarget
from cartridge_core.progress import NullProgress
from cartridge_core.warehouse.containment import BATCH_SIZE, measure_containment
from tests.core.warehouse.conftest import RecordingProgress

Build = Callable[[list[str]], WarehouseTarget]


@pytest.fixture(
    params=[
        pytest.param("duckdb", id="duckdb"),
        pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    ]
)
def engine(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def build(engine: str, request: pytest.FixtureRequest) -> Build:
    """Run DDL in a fresh warehouse of the engine under test and return its target."""
    make: Build = request.getfixturevalue("make_pg" if engine == "postgres" else "make_duckdb")
    return make


# Customers 1..10. Orders: `good_id` always a customer or null, `bad_id` 7 customers and 3
# orphans, `ref` customer ids written as text (and one 'x'), `amount` unrelated numbers.
CUSTOMERS = {"id": list(range(1, 11)), "code": [f"C{i}" for i in range(1, 11)]}
ORDERS = {
    "id": list(range(1, 11)),
    "good_id": [1, 2, 2, None, 10, None, 3, 3, 9, 9],
    "bad_id": [1, 2, 3, 4, 5, 6, 7, 11, 12, 13],
    "ref": ["1", "2", "10", "x", None, None, None, None, None, None],
    "amount": [500, 7, 7, 8, 9, 10, 11, 12, 13, 14],
}
SHOP = [
    "create schema raw",
    "create table raw.customers (id integer primary key, code varchar(5))",
    "insert into raw.customers values " + ", ".join(f"({i}, 'C{i}')" for i in CUSTOMERS["id"]),
    "create table raw.orders (id integer, good_id integer, bad_id bigint, ref varchar(5), amount integer)",
    "insert into raw.orders values "
    + ", ".join(
        "("
        + ", ".join("null" if v is None else f"'{v}'" if isinstance(v, str) else str(v) for v in row)
        + ")"
        for row in zip(*ORDERS.values(), strict=True)
    ),
]


def expected(child: list[object], parent: list[object]) -> tuple[int, int, bool]:
    """(non-null child values, of those found in the parent, sampled), computed here: integers
    compare as numbers, anything else as text, which for these values is the same as str()."""
    keys = {str(v) for v in parent if v is not None}
    values = [str(v) for v in child if v is not None]
    return len(values), sum(v in keys for v in values), False


def query(
    child: str, column: str, parent: str = "customers", key: str = "id", schema: str = "raw"
) -> ContainmentQuery:
    return ContainmentQuery(
        child_schema=schema,
        child_table=child,
        child_column=column,
        parent_schema=schema,
        parent_table=parent,
        parent_column=key,
    )


def measured(
    target: WarehouseTarget, *queries: ContainmentQuery, sample_rows: int = 200_000
) -> list[tuple[int, int, bool]]:
    found = measure_containment(target, queries, progress=NullProgress(), sample_rows=sample_rows)
    assert [c.query for c in found] == list(queries)
    return [(c.child_non_null, c.child_found, c.sampled) for c in found]


@pytest.mark.parametrize(
    ("column", "key", "expected"),
    [
        pytest.param("good_id", "id", (8, 8, False), id="true-key-with-nulls"),
        pytest.param("bad_id", "id", (10, 7, False), id="orphans"),
        pytest.param("ref", "id", (4, 3, False), id="text-child-integer-parent"),
        pytest.param("good_id", "code", (8, 0, False), id="integer-child-text-parent"),
        pytest.param("amount", "id", (10, 5, False), id="unrelated"),
    ],
)
def test_containment_shares(build: Build, column: str, key: str, expected: tuple[int, int, bool]) -> None:
    """Non-null child values are counted and looked up in the parent; mismatched types compare as text."""
    target = build(SHOP)
    assert measured(target, query("orders", column, key=key)) == [expected]


def test_containment_share_of_a_true_key_is_one(build: Build) -> None:
    """A column whose every value is a parent key has share 1.0; orphans bring it below."""
    target = build(SHOP)
    good, bad = measure_containment(
        target, [query("orders", "good_id"), query("orders", "bad_id")], progress=NullProgress()
    )
    assert (good.share, bad.share) == (1.0, 0.7)


def test_containment_batches_keep_order_and_duplicates(build: Build) -> None:
    """Questions spread over several statements, with repeats, come back right and in the order asked."""
    target = build(SHOP)
    parents = {("customers", "id"): CUSTOMERS["id"], ("customers", "code"): CUSTOMERS["code"]}
    parents |= {("orders", "id"): ORDERS["id"], ("orders", "good_id"): ORDERS["good_id"]}
    asked, answers = [], []
    for column, values in ORDERS.items():
        for (parent, key), keys in parents.items():
            asked.append(query("orders", column, parent=parent, key=key))
            answers.append(expected(values, keys))
    assert len(asked) > BATCH_SIZE
    assert measured(target, *asked, *reversed(asked)) == answers + answers[::-1]


def test_containment_missing_table_or_column_measures_nothing(build: Build) -> None:
    """A table or column that no longer exists gives no values looked at, not an error."""
    target = build(SHOP)
    assert (
        measured(
            target,
            query("orders", "gone_id"),
            query("gone", "good_id"),
            query("orders", "good_id", parent="gone"),
        )
        == [(0, 0, False)] * 3
    )


def big_child_ddl(engine: str) -> list[str]:
    """raw.events: 5,000 rows whose customer_id is always a customer."""
    rows = (
        "generate_series(1, 5000) as g(i)"
        if engine == "postgres"
        else "(select cast(range as integer) as i from range(1, 5001)) as g"
    )
    ddl = [
        "create table raw.events (customer_id integer)",
        f"insert into raw.events select 1 + i % 10 from {rows}",
    ]
    return SHOP + ddl + (["analyze raw.events"] if engine == "postgres" else [])


def test_containment_samples_large_children(build: Build, engine: str) -> None:
    """A child table above sample_rows is read through a sample and flagged as sampled."""
    target = build(big_child_ddl(engine))
    [(looked, found, sampled)] = measured(target, query("events", "customer_id"), sample_rows=1_000)
    assert sampled and found == looked
    assert looked == pytest.approx(1_000, rel=0.3)
    assert measured(target, query("events", "customer_id"), sample_rows=5_000) == [(5_000, 5_000, False)]


def test_containment_odd_identifiers(build: Build) -> None:
    """Schema, table and column names that need quoting are measured like any other."""
    target = build(
        [
            'create schema "Odd Schema"',
            'create table "Odd Schema"."Parent ""P""" ("Key" integer)',
            'insert into "Odd Schema"."Parent ""P""" values (1), (2)',
            'create table "Odd Schema"."child table" ("select" integer)',
            'insert into "Odd Schema"."child table" values (1), (2), (3), (null)',
        ]
    )
    asked = query("child table", "select", parent='Parent "P"', key="Key", schema="Odd Schema")
    assert measured(target, asked) == [(3, 2, False)]


def test_containment_cancelled_and_reports_progress(build: Build) -> None:
    """Progress is reported per statement, and a cancelled run raises Cancelled."""
    target = build(SHOP)
    asked = [query("orders", "good_id"), query("orders", "bad_id")] * BATCH_SIZE
    progress = RecordingProgress()
    measure_containment(target, asked, progress=progress)
    assert progress.reports == [("Measuring containment (1/1)", 0)]  # duplicates asked once
    with pytest.raises(Cancelled):
        measure_containment(target, asked, progress=RecordingProgress(cancel_after=0))


def test_containment_of_nothing_opens_no_session(tmp_path: Path) -> None:
    """No questions, no connection: even a warehouse that does not exist answers with nothing."""
    target = WarehouseTarget(
        type="duckdb",
        profile_name="shop",
        target_name="dev",
        profiles_file=tmp_path / "profiles.yml",
        schema="analytics",
        database="none",
        credentials={"path": str(tmp_path / "none.duckdb")},
    )
    assert measure_containment(target, [], progress=NullProgress()) == ()
