"""DuckDB specifics: the file is opened read-only and always closed; errors name the file."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from cartridge_core.errors import Cancelled, WarehouseError
from cartridge_core.models import WarehouseTarget
from cartridge_core.progress import NullProgress
from cartridge_core.warehouse import list_schemas, scan_warehouse
from cartridge_core.warehouse.duckdb import DuckDBScanner
from tests.core.warehouse.conftest import RecordingProgress, duckdb_target, run_duckdb


def _write_after(path: Path) -> int:
    """Open the file for writing in this process, as dbt does right after a scan; write and read."""
    con = duckdb.connect(str(path))
    try:
        con.execute("create or replace table raw.written as select 42 as answer")
        return int(con.execute("select answer from raw.written").fetchall()[0][0])
    finally:
        con.close()


def test_scan_duckdb_then_dbt_can_write_the_file(shop_duckdb: WarehouseTarget) -> None:
    """After a scan, a read-write connection to the same file in the same process works."""
    path = Path(shop_duckdb.credentials["path"])
    scan = scan_warehouse(shop_duckdb, schemas=None, progress=NullProgress())
    assert scan.database == "warehouse" and scan.schemas == ("main", "raw")
    assert list_schemas(shop_duckdb) == ["main", "raw"]
    assert _write_after(path) == 42


@pytest.mark.parametrize(
    ("schemas", "cancel_after", "error"),
    [
        pytest.param(["nope"], None, WarehouseError, id="unknown-schema"),
        pytest.param(["raw"], 1, Cancelled, id="cancelled"),
    ],
)
def test_scan_duckdb_failed_scan_still_closes_the_file(
    shop_duckdb: WarehouseTarget, schemas: list[str], cancel_after: int | None, error: type[Exception]
) -> None:
    """A scan that stops early (error or cancel) closes the file too, so dbt can write it."""
    progress = RecordingProgress(cancel_after=cancel_after)
    with pytest.raises(error):
        scan_warehouse(shop_duckdb, schemas=schemas, progress=progress)
    assert _write_after(Path(shop_duckdb.credentials["path"])) == 42


def test_scan_duckdb_connection_is_read_only(shop_duckdb: WarehouseTarget) -> None:
    """A write through the scanner's connection is refused and reported as a WarehouseError."""
    scanner = DuckDBScanner(shop_duckdb)
    with pytest.raises(WarehouseError, match="read-only mode"):
        with scanner.session() as con:
            con.execute("create table raw.nope (id integer)")


def test_scan_duckdb_timeout_interrupts_the_query(shop_duckdb: WarehouseTarget) -> None:
    """DuckDB has no statement timeout: a timer interrupts a query running past the limit."""
    scanner = DuckDBScanner(shop_duckdb, statement_timeout=0.3)
    start = time.monotonic()
    with pytest.raises(WarehouseError, match=r"stopped after the 0\.3 s timeout"):
        with scanner.session() as con:
            con.execute("select sum(i * i) from range(100000000000) t(i)").fetchall()
    assert time.monotonic() - start < 5


def test_scan_duckdb_target_schema_matched_without_case(tmp_path: Path) -> None:
    """DuckDB names ignore case, so target schema `Analytics` also hides `analytics_staging`."""
    path = tmp_path / "w.duckdb"
    run_duckdb(path, ["create schema analytics_staging", "create schema raw"])
    assert list_schemas(duckdb_target(path, schema="Analytics")) == ["main", "raw"]
    assert list_schemas(duckdb_target(path, schema="main")) == ["analytics_staging", "raw"]


def test_scan_duckdb_file_open_for_writing_elsewhere(shop_duckdb: WarehouseTarget) -> None:
    """A file already open for writing in this process gives one line naming the file."""
    path = shop_duckdb.credentials["path"]
    writer = duckdb.connect(path)
    try:
        with pytest.raises(WarehouseError) as caught:
            scan_warehouse(shop_duckdb, schemas=None, progress=NullProgress())
    finally:
        writer.close()
    assert caught.value.message.startswith(f"Cannot open DuckDB file {path}: ")
    assert "\n" not in caught.value.message


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        pytest.param("missing.duckdb", "DuckDB file {path} does not exist.", id="missing-file"),
        pytest.param(
            "garbage.duckdb",
            'Cannot open DuckDB file {path}: The file "{path}" exists, '
            "but it is not a valid DuckDB database file!",
            id="not-duckdb",
        ),
        pytest.param(":memory:", "has no database file (path is :memory:)", id="in-memory"),
    ],
)
def test_scan_duckdb_file_errors(tmp_path: Path, path: str, expected: str) -> None:
    """A missing, foreign or in-memory database gives one line naming the file."""
    full = path if path == ":memory:" else str(tmp_path / path)
    if path == "garbage.duckdb":
        Path(full).write_text("not a database\n" * 100)
    target = duckdb_target(Path(full))
    with pytest.raises(WarehouseError) as caught:
        scan_warehouse(target, schemas=None, progress=NullProgress())
    assert expected.format(path=full) in caught.value.message


HOLD_FOR_WRITING = """
import sys, duckdb
con = duckdb.connect(sys.argv[1])
print("open", flush=True)
sys.stdin.read()
con.close()
"""


def test_scan_duckdb_file_locked_by_another_process(shop_duckdb: WarehouseTarget) -> None:
    """A file another process (say, a dbt run) holds for writing gives one line naming the file."""
    path = shop_duckdb.credentials["path"]
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_FOR_WRITING, path],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        with pytest.raises(WarehouseError) as caught:
            scan_warehouse(shop_duckdb, schemas=None, progress=NullProgress())
    finally:
        holder.communicate(input="", timeout=30)
    message = caught.value.message
    assert message.startswith(f"Cannot open DuckDB file {path}: ") and "lock" in message
    assert "\n" not in message
