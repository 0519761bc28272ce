"""Benchmark: Cartridge's PostgreSQL scan against SQLAlchemy's Inspector on 1,000 tables.

Creates a throw-away database with 1,000 tables x 20 columns, each with a primary key, and about
1,200 foreign keys (some of them two-column), then times, end to end (connect, read, dispose):

- Cartridge's `scan_warehouse` (set-based pg_catalog queries per schema);
- SQLAlchemy's Inspector per table (get_columns / get_pk_constraint / get_foreign_keys);
- SQLAlchemy's Inspector in bulk (get_multi_columns / get_multi_pk_constraint / get_multi_foreign_keys).

Prints a markdown table, replaces the "## Scan" section of benchmarks/RESULTS.md, drops the database.

    .venv/bin/python benchmarks/scan_benchmark.py [--runs 5] [--no-write]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from machine import machine_line, replace_section, scratch_database  # noqa: E402

from cartridge_core.models import WarehouseTarget  # noqa: E402
from cartridge_core.progress import NullProgress  # noqa: E402
from cartridge_core.warehouse import scan_warehouse  # noqa: E402

HOST, PORT, USER = "127.0.0.1", 5432, "postgres"
SCHEMA = "bench"
TABLES = 1_000
RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
TYPES = ["integer", "bigint", "varchar(40)", "text", "numeric(12,2)", "timestamp", "date", "boolean"]


def ddl() -> str:
    """One script: 1,000 tables of 20 columns; table i refers to table i // 2, every 5th also to
    table i // 3 through a two-column key on (id, code)."""
    parts = [f"create schema {SCHEMA};"]
    for i in range(TABLES):
        extra = ", ".join(f"c{j:02d} {TYPES[j % len(TYPES)]}" for j in range(15))
        parts.append(
            f"create table {SCHEMA}.t{i:04d} (id integer not null, code integer not null, "
            f"parent_id integer, other_id integer, other_code integer, {extra}, "
            f"primary key (id, code));"
        )
        parts.append(f"comment on table {SCHEMA}.t{i:04d} is 'Table number {i}.';")
    for i in range(1, TABLES):
        parts.append(
            f"alter table {SCHEMA}.t{i:04d} add foreign key (parent_id, code) "
            f"references {SCHEMA}.t{i // 2:04d} (id, code);"
        )
        if i % 5 == 0:
            parts.append(
                f"alter table {SCHEMA}.t{i:04d} add foreign key (other_id, other_code) "
                f"references {SCHEMA}.t{i // 3:04d} (id, code);"
            )
    return "\n".join(parts)


def timed(fn: Callable[[], Any], runs: int) -> tuple[float, Any]:
    """Median seconds over `runs` calls, and the last call's result."""
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def cartridge_scan(target: WarehouseTarget) -> tuple[int, int, int]:
    scan = scan_warehouse(target, schemas=[SCHEMA], progress=NullProgress())
    return (
        len(scan.tables),
        sum(len(t.columns) for t in scan.tables),
        sum(len(t.foreign_keys) for t in scan.tables),
    )


def inspector_per_table(dbname: str) -> tuple[int, int, int]:
    from sqlalchemy import create_engine, inspect

    engine = create_engine(f"postgresql+psycopg2://{USER}@{HOST}:{PORT}/{dbname}")
    try:
        insp = inspect(engine)
        tables = columns = fks = 0
        for name in insp.get_table_names(schema=SCHEMA):
            tables += 1
            columns += len(insp.get_columns(name, schema=SCHEMA))
            insp.get_pk_constraint(name, schema=SCHEMA)
            fks += len(insp.get_foreign_keys(name, schema=SCHEMA))
        return tables, columns, fks
    finally:
        engine.dispose()


def inspector_multi(dbname: str) -> tuple[int, int, int]:
    from sqlalchemy import create_engine, inspect

    engine = create_engine(f"postgresql+psycopg2://{USER}@{HOST}:{PORT}/{dbname}")
    try:
        insp = inspect(engine)
        columns = insp.get_multi_columns(schema=SCHEMA)
        insp.get_multi_pk_constraint(schema=SCHEMA)
        fks = insp.get_multi_foreign_keys(schema=SCHEMA)
        return len(columns), sum(map(len, columns.values())), sum(map(len, fks.values()))
    finally:
        engine.dispose()


def measure(dbname: str, runs: int) -> list[tuple[str, float, tuple[int, int, int]]]:
    target = WarehouseTarget(
        type="postgres",
        profile_name="bench",
        target_name="dev",
        profiles_file=Path("profiles.yml"),
        schema="analytics",
        database=dbname,
        credentials={"host": HOST, "port": PORT, "user": USER, "dbname": dbname},
    )
    cartridge_scan(target)  # warm the imports and the server's catalog cache for everyone
    rows = [
        ("Cartridge `scan_warehouse` (pg_catalog, set-based)", *timed(lambda: cartridge_scan(target), runs)),
        ("SQLAlchemy Inspector `get_multi_*`", *timed(lambda: inspector_multi(dbname), runs)),
        ("SQLAlchemy Inspector, per table", *timed(lambda: inspector_per_table(dbname), max(1, runs // 2))),
    ]
    counts = {found for _, _, found in rows}
    if len(counts) != 1:
        raise SystemExit(f"the methods disagree on (tables, columns, foreign keys): {rows}")
    return rows


def report(rows: list[tuple[str, float, tuple[int, int, int]]], runs: int, server: str) -> str:
    ours = rows[0][1]
    tables, columns, fks = rows[0][2]
    lines = [
        f"PostgreSQL {server}, {tables:,} tables, {columns:,} columns, {fks:,} foreign keys "
        f"(two-column keys throughout). End to end: connect, read, dispose. Median of {runs} runs "
        f"({max(1, runs // 2)} for the per-table Inspector).",
        "",
        "| method | seconds | vs Cartridge |",
        "|---|---:|---:|",
    ]
    lines += [f"| {name} | {secs:.3f} | {secs / ours:.1f}x |" for name, secs, _ in rows]
    lines += ["", machine_line()]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md")
    args = parser.parse_args()
    with scratch_database(ddl()) as (dbname, server):
        body = report(measure(dbname, args.runs), args.runs, server)
    print(body)
    if not args.no_write:
        replace_section(RESULTS, "## Scan", body)


if __name__ == "__main__":
    main()
