"""Benchmark: column profiling of a 1,000,000-row x 20-column table in PostgreSQL and DuckDB.

Builds the same table in a throw-away PostgreSQL database and in a temporary DuckDB file (mixed
types, cardinalities from 2 to 1,000,000, nulls, a clustered timestamp, a long-tailed code), runs
ANALYZE, and times, in one run:

- one exact statement: count(*), and per column count, count(distinct), min and max;
- the same, one statement per column;
- Cartridge's `profile_tables` (defaults: sampled above 200,000 rows), end to end (connect, read);
- for PostgreSQL, the planner's own estimates in pg_stats (read only; not what Cartridge uses here).

Distinct counts are compared with the exact statement's. Prints markdown, replaces the
"## Profiling" section of benchmarks/RESULTS.md, and drops the database and the file.

    .venv/bin/python benchmarks/profile_benchmark.py [--runs 3] [--no-write]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import duckdb
import psycopg2

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from machine import machine_line, replace_section  # noqa: E402

from cartridge_core.models import Table, WarehouseTarget  # noqa: E402
from cartridge_core.progress import NullProgress  # noqa: E402
from cartridge_core.warehouse import scan_warehouse, sql  # noqa: E402
from cartridge_core.warehouse.profiling import profile_tables  # noqa: E402

HOST, PORT, USER = "127.0.0.1", 5432, "postgres"
SCHEMA, TABLE, ROWS = "bench", "orders", 1_000_000
RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
GOAL_SECONDS, GOAL_ERROR = 0.6, 0.10
OTHER_SEEDS = (1, 2, 3, 4, 5)  # sample seeds tried besides Cartridge's own, to show the spread

# (name, PostgreSQL type, DuckDB type, expression of i = 1..ROWS). `{div}` is integer division
# (`/` in PostgreSQL, `//` in DuckDB); `{json}` builds a JSON object.
COLUMNS = [
    ("id", "bigint", "bigint", "i"),
    ("customer_id", "integer", "integer", "(i::bigint * 7919) % 50000"),
    (
        "status",
        "text",
        "varchar",
        "case when i % 10 < 5 then 'placed' when i % 10 < 8 then 'shipped' when i % 10 = 8 "
        "then 'delivered' when i % 3 = 0 then 'returned' else 'cancelled' end",
    ),
    ("amount", "numeric(12,2)", "decimal(12,2)", "round(((i::bigint * 2654435761) % 100003) / 100.0, 2)"),
    ("created_at", "timestamp", "timestamp", "timestamp '2020-01-01' + (i {div} 10) * interval '1 minute'"),
    ("created_date", "date", "date", "date '2020-01-01' + (i {div} 3000)::integer"),
    ("email", "text", "varchar", "'user' || ((i::bigint * 48271) % 300000) || '@example.com'"),
    ("country", "char(2)", "varchar", "chr(65 + ((i * 31 % 26) % ((i % 3) * 8 + 2))) || chr(65 + (i % 5))"),
    ("is_active", "boolean", "boolean", "case when i % 11 = 0 then null else i % 3 = 0 end"),
    ("score", "double precision", "double", "random()"),
    ("quantity", "smallint", "smallint", "1 + (i * 37) % 100"),
    (
        "category",
        "varchar(20)",
        "varchar",
        "case when i % 10 = 0 then null else 'cat_' || ((i * 13) % 1000) end",
    ),
    ("zip", "text", "varchar", "lpad(((i::bigint * 104729) % 40000)::text, 5, '0')"),
    ("rating", "integer", "integer", "case when i % 2 = 0 then null else 1 + i % 5 end"),
    ("ext_id", "uuid", "uuid", "md5(i::text)::uuid"),
    ("ref_code", "text", "varchar", "'R' || floor(1 / (0.00002 + random()))::bigint"),  # long tail
    ("payload", "jsonb", "json", "{json}('k', i % 100)"),
    ("tags", "text[]", "varchar[]", "array['t' || (i % 7), 't' || (i % 3)]"),
    (
        "updated_at",
        "timestamptz",
        "timestamptz",
        "case when i % 5 = 0 then null "
        "else timestamptz '2021-01-01 00:00+00' + ((i * 7) % 200000) * interval '1 second' end",
    ),
    ("note", "text", "varchar", "case when i % 20 = 0 then 'note ' || (i % 400) end"),
]


def create_sql(engine: str) -> list[str]:
    """The statements that build and analyse the table in `engine`, with the same data every run."""
    postgres = engine == "postgres"
    types = ", ".join(f"{name} {pg if postgres else dk}" for name, pg, dk, _ in COLUMNS)
    values = ", ".join(
        expr.format(div="/" if postgres else "//", json="jsonb_build_object" if postgres else "json_object")
        for *_, expr in COLUMNS
    )
    # DuckDB's range() yields bigint, the expressions expect integer; one thread keeps random() seeded.
    duck_rows = f"(select cast(range as integer) as i from range(1, {ROWS + 1})) as g"
    rows = f"generate_series(1, {ROWS}) as g(i)" if postgres else duck_rows
    return [
        *([] if postgres else ["set threads = 1"]),
        "select setseed(0.42)",
        f"create schema {SCHEMA}",
        f"create table {SCHEMA}.{TABLE} ({types})",
        f"insert into {SCHEMA}.{TABLE} select {values} from {rows}",
        f"analyze {SCHEMA}.{TABLE}",
    ]


def distinct_expr(name: str) -> str:
    # PostgreSQL has no equality for json (jsonb has); compare everything non-scalar as text.
    return f"{name}::text" if name in ("payload", "tags") else name


def range_exprs(name: str, pg_type: str) -> str:
    if pg_type in ("boolean", "uuid", "jsonb", "text[]"):  # no min/max (PostgreSQL) or no meaning
        return ""
    return f", min({name}), max({name})"


def exact_one_statement(cur: Any) -> dict[str, int]:
    """Exact profile in one statement; returns the exact distinct count per column."""
    parts = [f"count({n}), count(distinct {distinct_expr(n)}){range_exprs(n, pg)}" for n, pg, _, _ in COLUMNS]
    cur.execute(f"select count(*), {', '.join(parts)} from {SCHEMA}.{TABLE}")
    row = cur.fetchone()
    truth, at = {}, 1
    for name, pg, _, _ in COLUMNS:
        truth[name] = row[at + 1]
        at += 2 + (2 if range_exprs(name, pg) else 0)
    return truth


def exact_per_column(cur: Any) -> dict[str, int]:
    """Exact profile, one statement per column."""
    truth = {}
    for name, pg, _, _ in COLUMNS:
        cur.execute(
            f"select count({name}), count(distinct {distinct_expr(name)}){range_exprs(name, pg)} "
            f"from {SCHEMA}.{TABLE}"
        )
        truth[name] = cur.fetchone()[1]
    return truth


def planner_estimates(cur: Any) -> dict[str, int]:
    """PostgreSQL's own distinct-count estimates from ANALYZE."""
    cur.execute(
        "select s.attname, s.n_distinct, c.reltuples from pg_stats s "
        "join pg_namespace n on n.nspname = s.schemaname "
        "join pg_class c on c.relname = s.tablename and c.relnamespace = n.oid "
        "where s.schemaname = %s and s.tablename = %s",
        (SCHEMA, TABLE),
    )
    # A negative n_distinct is minus the share of all rows.
    return {name: round(nd if nd >= 0 else -nd * rows) for name, nd, rows in cur.fetchall()}


def cartridge(target: WarehouseTarget, table: Table) -> dict[str, int]:
    (profile,) = profile_tables(target, [table], progress=NullProgress())
    return {c.column: c.distinct_count or 0 for c in profile.columns}


def timed(fn: Callable[[], Any], runs: int) -> tuple[float, Any]:
    """Median seconds over `runs` calls, and the last call's result."""
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def worst_error(found: dict[str, int], truth: dict[str, int]) -> tuple[float, str]:
    """The largest relative distinct-count error and its column."""
    return max((abs(found[name] - true) / true, name) for name, true in truth.items() if true)


Row = tuple[str, float, float, str]  # method, seconds, worst distinct-count error, its column
Spread = list[tuple[float, str]]  # Cartridge's worst error (and column) with other sample seeds
Result = tuple[str, list[Row], Spread]


def measure(engine: str, cur: Any, target: WarehouseTarget, runs: int) -> tuple[list[Row], Spread]:
    """Each method's row on one engine, and Cartridge's worst error with other sample seeds."""
    table = next(t for t in scan_warehouse(target, schemas=[SCHEMA], progress=NullProgress()).tables)
    cartridge(target, table)  # warm imports and caches for everyone
    one_s, truth = timed(lambda: exact_one_statement(cur), runs)
    per_s, per_column = timed(lambda: exact_per_column(cur), runs)
    ours_s, ours = timed(lambda: cartridge(target, table), runs)
    unknown = replace(table, row_estimate=None)
    unknown_s, ours_unknown = timed(lambda: cartridge(target, unknown), runs)
    rows = [
        ("one statement, exact `count(distinct)`", one_s, *worst_error(truth, truth)),
        ("one statement per column, exact", per_s, *worst_error(per_column, truth)),
        ("Cartridge `profile_tables`", ours_s, *worst_error(ours, truth)),
        ("Cartridge `profile_tables`, row estimate unknown", unknown_s, *worst_error(ours_unknown, truth)),
    ]
    if engine == "postgres":
        stats_s, stats = timed(lambda: planner_estimates(cur), runs)
        rows.append(("`pg_stats` after ANALYZE (not used at this size)", stats_s, *worst_error(stats, truth)))
    errors = {name: f"{(ours[name] - true) / true:+.1%}" for name, true in truth.items() if true}
    print(f"{engine}: Cartridge's distinct-count error per column: {errors}", file=sys.stderr)
    return rows, seed_spread(target, table, truth)


def seed_spread(target: WarehouseTarget, table: Table, truth: dict[str, int]) -> Spread:
    """Cartridge's worst distinct-count error (and column) with other sample seeds."""
    own, spread = sql.SAMPLE_SEED, []
    try:
        for seed in OTHER_SEEDS:
            sql.SAMPLE_SEED = seed
            spread.append(worst_error(cartridge(target, table), truth))
    finally:
        sql.SAMPLE_SEED = own
    return spread


def postgres_run(runs: int) -> Result:
    dbname = f"cartridge_bench_{uuid.uuid4().hex[:8]}"
    admin = psycopg2.connect(host=HOST, port=PORT, user=USER, dbname="postgres")
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'create database "{dbname}"')
        cur.execute("show server_version")
        server = cur.fetchone()[0]
    try:
        con = psycopg2.connect(host=HOST, port=PORT, user=USER, dbname=dbname)
        con.autocommit = True
        try:
            with con.cursor() as cur:
                for statement in create_sql("postgres"):
                    cur.execute(statement)
                target = WarehouseTarget(
                    type="postgres",
                    profile_name="bench",
                    target_name="dev",
                    profiles_file=Path("profiles.yml"),
                    schema="analytics",
                    database=dbname,
                    credentials={"host": HOST, "port": PORT, "user": USER, "dbname": dbname},
                )
                return (f"PostgreSQL {server.split(' ')[0]}", *measure("postgres", cur, target, runs))
        finally:
            con.close()
    finally:
        with admin.cursor() as cur:
            cur.execute(f'drop database if exists "{dbname}" with (force)')
        admin.close()


def duckdb_run(runs: int) -> Result:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "warehouse.duckdb"
        con = duckdb.connect(str(path))
        try:
            for statement in create_sql("duckdb"):
                con.execute(statement)
        finally:
            con.close()
        target = WarehouseTarget(
            type="duckdb",
            profile_name="bench",
            target_name="dev",
            profiles_file=Path(folder) / "profiles.yml",
            schema="analytics",
            database="warehouse",
            credentials={"path": str(path)},
        )
        reader = duckdb.connect(str(path), read_only=True)
        try:
            return (f"DuckDB {duckdb.__version__}", *measure("duckdb", reader.cursor(), target, runs))
        finally:
            reader.close()


def report(results: list[Result], runs: int) -> str:
    lines = [
        f"One table of {ROWS:,} rows x {len(COLUMNS)} columns (mixed types; 2 to 1,000,000 distinct "
        "values; nulls; a clustered timestamp; a long-tailed code), analysed. Per column: null count, "
        f"distinct count, min and max; Cartridge also reads top values and samples. Median of {runs} "
        "runs; Cartridge end to end (connect, read), with its defaults: above 200,000 rows it reads a "
        f"row-level sample of {sql.POSTGRES.sample_target:,} rows in PostgreSQL and "
        f"{sql.DUCKDB.sample_target:,} in DuckDB, and scales distinct counts with the Haas et al. "
        "hybrid estimator (Duj1 for uniform columns, Shlosser for skewed ones). "
        f"Goal: PostgreSQL profiled in <= {GOAL_SECONDS} s with distinct counts within "
        f"{GOAL_ERROR:.0%} of the truth.",
        "",
        "| engine | method | seconds | worst distinct-count error (column) |",
        "|---|---|---:|---:|",
    ]

    def error(err: float, column: str) -> str:
        return f"{err:.1%} ({column})" if err else "0.0%"

    for server, rows, _ in results:
        lines += [
            f"| {server} | {name} | {secs:.3f} | {error(err, column)} |" for name, secs, err, column in rows
        ]
    lines.append("")
    for server, _, spread in results:
        worst = ", ".join(f"{err:.1%} ({column})" for err, column in spread)
        lines.append(f"- {server}: Cartridge's worst error with {len(spread)} other sample seeds: {worst}.")
    lines += ["", machine_line()]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md")
    args = parser.parse_args()
    body = report([postgres_run(args.runs), duckdb_run(args.runs)], args.runs)
    print(body)
    if not args.no_write:
        replace_section(RESULTS, "## Profiling", body)


if __name__ == "__main__":
    main()
