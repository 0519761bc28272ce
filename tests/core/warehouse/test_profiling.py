"""Column profiling on real DuckDB files and real PostgreSQL databases built with known contents."""

from __future__ import annotations

import datetime as dt
import random
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from cartridge_core.errors import Cancelled, WarehouseError
from cartridge_core.models import Table, TableProfile, WarehouseTarget
from cartridge_core.progress import NullProgress
from cartridge_core.warehouse import scan_warehouse
from cartridge_core.warehouse.distinct import ValueCounts, estimate_distinct
from cartridge_core.warehouse.profiling import profile_tables
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


def series(engine: str, rows: int, alias: str = "g") -> str:
    """A FROM item of integers i = 1..rows, in the engine's own spelling."""
    if engine == "postgres":
        return f"generate_series(1, {rows}) as {alias}(i)"
    return f"(select cast(range as integer) as i from range(1, {rows + 1})) as {alias}"


def tables(target: WarehouseTarget, *names: str, schema: str = "raw") -> list[Table]:
    """The named tables as the scanner reads them, in the order given."""
    scan = scan_warehouse(target, schemas=[schema], progress=NullProgress())
    found = {t.name: t for t in scan.tables}
    return [found[name] for name in names]


def profile(target: WarehouseTarget, table: Table, **options: Any) -> TableProfile:
    (only,) = profile_tables(target, [table], progress=NullProgress(), **options)
    return only


def sql_literal(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return f"timestamp '{value:%Y-%m-%d %H:%M:%S}'"
    if isinstance(value, dt.date):
        return f"date '{value.isoformat()}'"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return str(value)


def as_text(value: object) -> str:
    """How both engines print a value cast to text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return f"{value:%Y-%m-%d %H:%M:%S}"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


# Known contents, and the profile computed here independently of any SQL.
KNOWN_COLUMNS = ("id", "code", "amount", "flag", "day", "seen")
KNOWN_ROWS = [
    (
        i,
        f"c{i % 7}" if i % 10 else None,
        Decimal(i * 3 % 17) + Decimal("0.25"),
        (i % 3 == 0) if i % 4 else None,
        dt.date(2024, 1, 1) + dt.timedelta(days=i % 40),
        dt.datetime(2024, 3, 1, 9, 0) + dt.timedelta(minutes=7 * i),
    )
    for i in range(1, 61)
]
KNOWN_DDL = [
    "create schema raw",
    "create table raw.known (id integer, code varchar(10), amount numeric(8, 2), flag boolean, "
    "day date, seen timestamp, tags integer[])",
    "insert into raw.known values "
    + ", ".join("(" + ", ".join(map(sql_literal, row)) + f", array[{row[0] % 3}, 1])" for row in KNOWN_ROWS),
]


def test_profiling_exact_matches_independent_computation(build: Build) -> None:
    """A small table is profiled exactly: nulls, distinct counts, ranges, top and sample values as here."""
    target = build(KNOWN_DDL)
    (table,) = tables(target, "known")
    found = profile(target, table, top_n=3)
    assert (found.row_count, found.method, found.sample_percent, found.note) == (60, "exact", None, None)
    for index, name in enumerate(KNOWN_COLUMNS):
        values = [row[index] for row in KNOWN_ROWS if row[index] is not None]
        counts = Counter(as_text(v) for v in values)
        column = found.column(name)
        assert column is not None
        assert column.null_fraction == pytest.approx(1 - len(values) / 60), name
        assert column.distinct_count == len(counts), name
        assert (column.min_value, column.max_value) == (as_text(min(values)), as_text(max(values))), name
        if len(counts) <= 20:
            assert [n for _, n in column.top_values] == sorted(counts.values(), reverse=True)[:3], name
            assert all(counts[value] == n for value, n in column.top_values), name
        else:
            assert column.top_values == (), name
        assert 1 <= len(column.samples) <= 3 and set(column.samples) <= set(counts), name
    tags = found.column("tags")
    assert tags is not None
    assert (tags.distinct_count, tags.min_value, tags.max_value) == (3, None, None)


def big_table_ddl(engine: str, rows: int, *, analyze: bool = True) -> list[str]:
    """raw.big: a unique id, a five-valued code, a column null in every fourth row."""
    ddl = [
        "create schema raw",
        "create table raw.big (id integer, code varchar(5), maybe integer)",
        f"insert into raw.big select i, 'k' || (i % 5), case when i % 4 = 0 then null else i % 100 end "
        f"from {series(engine, rows)}",
    ]
    return ddl + (["analyze raw.big"] if analyze and engine == "postgres" else [])


@pytest.mark.parametrize(
    ("sample_rows", "method", "percent"),
    [
        pytest.param(1_000, "sample", 20.0, id="above-threshold"),
        pytest.param(5_000, "exact", None, id="at-threshold"),
    ],
)
def test_profiling_samples_above_threshold(
    build: Build, engine: str, sample_rows: int, method: str, percent: float | None
) -> None:
    """Tables above sample_rows are read through a row sample, recorded with its percentage, and scaled up."""
    target = build(big_table_ddl(engine, 5_000))
    (table,) = tables(target, "big")
    assert table.row_estimate == 5_000
    found = profile(target, table, sample_rows=sample_rows)
    assert (found.method, found.sample_percent) == (method, percent)
    tolerance = 0.15 if method == "sample" else 0
    assert found.row_count == pytest.approx(5_000, rel=tolerance)
    ids, code, maybe = (found.column(n) for n in ("id", "code", "maybe"))
    assert ids is not None and code is not None and maybe is not None
    assert ids.distinct_count == pytest.approx(5_000, rel=tolerance)
    # `maybe` is i % 100 where i % 4 <> 0: the 75 residues not divisible by 4.
    assert code.distinct_count == 5 and maybe.distinct_count == 75
    assert maybe.null_fraction == pytest.approx(0.25, abs=0.05 if method == "sample" else 0)
    assert sorted(v for v, _ in code.top_values) == ["k0", "k1", "k2", "k3", "k4"]
    assert all(n == pytest.approx(1_000, rel=0.4 if method == "sample" else 0) for _, n in code.top_values)


def test_profiling_sampled_dominant_value(build: Build, engine: str) -> None:
    """A value seen thousands of times in a sample is counted, not an arithmetic underflow."""
    target = build(
        [
            "create schema raw",
            "create table raw.same (id integer, kind varchar(4))",
            f"insert into raw.same select i, 'same' from {series(engine, 20_000)}",
            *(["analyze raw.same"] if engine == "postgres" else []),
        ]
    )
    (table,) = tables(target, "same")
    found = profile(target, table, sample_rows=5_000)
    kind = found.column("kind")
    assert (found.method, found.note) == ("sample", None) and kind is not None
    assert kind.distinct_count == 1 and [v for v, _ in kind.top_values] == ["same"]
    assert kind.top_values[0][1] == pytest.approx(20_000, rel=0.1)


@pytest.mark.postgres
def test_profiling_planner_statistics_after_analyze(make_pg: Build) -> None:
    """A table far above the threshold, freshly analysed, is profiled from pg_stats; once stale, sampled."""
    make_pg(big_table_ddl("postgres", 3_000, analyze=False))
    # ANALYZE in its own session, as autovacuum does: a session's own inserts are counted as
    # changed rows only when it ends, which would make statistics it gathered look stale.
    target = make_pg(["analyze raw.big"])
    (table,) = tables(target, "big")
    found = profile(target, table, sample_rows=100)
    assert (found.method, found.row_count, found.sample_percent) == ("statistics", 3_000, None)
    ids, code, maybe = (found.column(n) for n in ("id", "code", "maybe"))
    assert ids is not None and code is not None and maybe is not None
    # ANALYZE reads every row of a table this small, so its statistics are exact here.
    assert (ids.distinct_count, ids.min_value, ids.max_value) == (3_000, "1", "3000")
    assert (code.distinct_count, code.min_value, code.max_value) == (5, "k0", "k4")
    assert sorted(code.top_values) == [(f"k{i}", 600) for i in range(5)]
    assert maybe.null_fraction == pytest.approx(0.25)
    make_pg([f"insert into raw.big select i, 'new', null from {series('postgres', 1_000)}"])
    assert profile(target, table, sample_rows=100).method == "sample"


def test_profiling_empty_table(build: Build) -> None:
    """An empty table profiles as zero rows, with nothing divided by zero."""
    target = build(
        ["create schema raw", "create table raw.empty (id integer, name varchar(10), flag boolean)"]
    )
    (table,) = tables(target, "empty")
    for options in ({}, {"sample_rows": 0}):
        found = profile(target, replace(table, row_estimate=None), **options)
        assert (found.row_count, found.method, found.note) == (0, "exact", None)
        measured = [
            (c.null_fraction, c.distinct_count, c.min_value, c.top_values, c.samples) for c in found.columns
        ]
        assert [c.column for c in found.columns] == ["id", "name", "flag"]
        assert measured == [(None, 0, None, (), ())] * 3


def test_profiling_odd_identifiers(build: Build) -> None:
    """Schema, table and column names that need quoting are profiled like any other."""
    target = build(
        [
            'create schema "Odd ""Schema"""',
            'create table "Odd ""Schema"""."Order ""Events""" ("select" integer, "Mixed Case" varchar(9), '
            '"with space" date)',
            'insert into "Odd ""Schema"""."Order ""Events""" values (1, \'a\', date \'2024-01-02\'), '
            "(2, 'a', null), (2, null, date '2024-01-01')",
        ]
    )
    (table,) = tables(target, 'Order "Events"', schema='Odd "Schema"')
    found = profile(target, table)
    assert (found.schema, found.table, found.row_count) == ('Odd "Schema"', 'Order "Events"', 3)
    assert [(c.column, c.distinct_count, c.min_value, c.max_value) for c in found.columns] == [
        ("select", 2, "1", "2"),
        ("Mixed Case", 1, "a", "a"),
        ("with space", 2, "2024-01-01", "2024-01-02"),
    ]


def test_profiling_wide_table(build: Build) -> None:
    """A table wider than one statement's select list allows (PostgreSQL: 1,664 entries) is fully profiled."""
    names = [f"c{i:03d}" for i in range(250)]
    values = ", ".join("(" + ", ".join(str(row * (i % 5)) for i in range(250)) + ")" for row in range(4))
    target = build(
        [
            "create schema raw",
            f"create table raw.wide ({', '.join(f'{n} integer' for n in names)})",
            f"insert into raw.wide values {values}",
        ]
    )
    (table,) = tables(target, "wide")
    found = profile(target, table)
    assert (found.row_count, found.note) == (4, None)
    assert [(c.column, c.distinct_count) for c in found.columns] == [
        (n, 1 if i % 5 == 0 else 4) for i, n in enumerate(names)
    ]


def slow_view_ddl(engine: str) -> list[str]:
    """raw.slow: a view of 10 billion rows, whose count alone runs for minutes; raw.small: 3 rows."""
    return [
        "create schema raw",
        f"create view raw.slow as select a.i + b.i as total from {series(engine, 100_000, 'a')} "
        f"cross join {series(engine, 100_000, 'b')}",
        "create table raw.small (id integer)",
        "insert into raw.small values (1), (2), (3)",
    ]


def test_profiling_time_budget_exceeded(build: Build, engine: str) -> None:
    """A table over its time budget gets a partial profile and a note; the next table is still profiled."""
    target = build(slow_view_ddl(engine))
    slow, small = tables(target, "slow", "small")
    started = time.monotonic()
    found = profile_tables(target, [slow, small], progress=NullProgress(), time_budget=0.5)
    assert time.monotonic() - started < 3  # the slow view alone runs for minutes
    assert found[0].note is not None and "0.5 s time budget" in found[0].note
    assert [(c.column, c.distinct_count) for c in found[0].columns] == [("total", None)]
    assert (found[1].row_count, found[1].note, found[1].columns[0].distinct_count) == (3, None, 3)


def test_profiling_cancelled_between_tables(build: Build) -> None:
    """Cancelling stops before the next table, after reporting progress per table."""
    target = build(KNOWN_DDL + ["create table raw.other (id integer)"])
    known, other = tables(target, "known", "other")
    progress = RecordingProgress()
    profile_tables(target, [known, other], progress=progress)
    assert progress.reports == [("Profiling raw.known (1/2)", 0), ("Profiling raw.other (2/2)", 50)]
    cancelling = RecordingProgress(cancel_after=1)
    with pytest.raises(Cancelled):
        profile_tables(target, [known, other], progress=cancelling)
    assert cancelling.reports == [("Profiling raw.known (1/2)", 0)]


def test_profiling_unsupported_engine_is_refused(tmp_path: Path) -> None:
    """A warehouse type Cartridge cannot read is a one-line WarehouseError, not a crash."""
    target = WarehouseTarget(
        type="snowflake",
        profile_name="shop",
        target_name="dev",
        profiles_file=tmp_path / "profiles.yml",
        schema="analytics",
        database="db",
    )
    with pytest.raises(WarehouseError, match="cannot profile snowflake"):
        profile_tables(target, [Table(schema="raw", name="t")], progress=NullProgress())


def sampled_counts(population: Sequence[object], fraction: float, seed: int = 7) -> ValueCounts:
    """What a row-level sample of `fraction` of `population` says about its values."""
    rng = random.Random(seed)
    times = Counter(v for v in population if rng.random() < fraction).values()
    return ValueCounts(
        non_null=sum(times),
        distinct=len(times),
        singletons=sum(1 for n in times if n == 1),
        sum_squares=float(sum(n * n for n in times)),
        shlosser_numerator=sum((1 - fraction) ** n for n in times),
        shlosser_denominator=sum(n * fraction * (1 - fraction) ** (n - 1) for n in times),
    )


def zipf(rows: int) -> list[int]:
    """A Zipf-like column: a few values in most rows, a long tail of rare ones (38,064 values)."""
    rng = random.Random(5)
    return [int((1 - rng.random()) ** -5) for _ in range(rows)]


@pytest.mark.parametrize(
    "population",
    [
        pytest.param(list(range(200_000)), id="unique"),
        pytest.param([i % 40_000 for i in range(200_000)], id="uniform-5"),
        pytest.param([i % 2_000 for i in range(200_000)], id="uniform-100"),
        pytest.param([i if i % 2 else i % 100 for i in range(200_000)], id="half-unique"),
        pytest.param(zipf(200_000), id="zipf"),
        pytest.param([i % 3 for i in range(200_000)], id="three-values"),
    ],
)
def test_profiling_distinct_estimate_within_ten_percent(population: list[int]) -> None:
    """Distinct counts scaled from a 5 % row sample land within 10 % of the truth, uniform or skewed.

    Not claimed: smoothly skewed mid-cardinality columns (value = N * u**2), which every sample-based
    estimator gets wrong by a factor (Charikar et al., PODS 2000); Shlosser's overestimates them.
    """
    truth = len(set(population))
    assert estimate_distinct(sampled_counts(population, 0.05), 0.05) == pytest.approx(truth, rel=0.10)
