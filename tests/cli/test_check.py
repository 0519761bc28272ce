"""`cartridge-lsp --check`: what differs between the project and the warehouse, for CI; writes nothing."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from cartridge_lsp.cli import main
from tests.conftest import run_pg

SOURCES = "models/staging/raw/_raw__sources.yml"
# After: a new table, a new column, and a dropped column that the sources YAML and model still name.
CHANGES = [
    "create table raw.refunds (id integer, amount numeric(10, 2))",
    "alter table raw.orders add column discount numeric(10, 2)",
    "alter table raw.orders drop column status",
]
EXPECTED = [
    f"+ column raw.orders.discount (not in {SOURCES}, not in stg_raw__orders)",
    f"- column raw.orders.status (gone from the warehouse; declared in {SOURCES}; "
    "selected by stg_raw__orders)",
    "+ table raw.refunds (no source, no staging model)",
]


def _generate(root: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "cartridge_lsp", "--generate", "--project-dir", str(root), "--schema", "raw"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _fingerprint(root: Path) -> dict[str, str]:
    """Every file under the project (target/ included) by its hash."""
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _check(root: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, list[str], str]:
    code = main(["--check", "--project-dir", str(root), *extra])
    captured = capsys.readouterr()
    return code, captured.out.splitlines(), captured.err


def _duckdb(root: Path, statements: list[str]) -> None:
    con = duckdb.connect(str(root / "shop.duckdb"))
    try:
        for statement in statements:
            con.execute(statement)
    finally:
        con.close()


def test_check_duckdb(duckdb_project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Up to date after --generate (exit 0); after warehouse changes, exit 1 with exactly those lines."""
    _generate(duckdb_project)
    code, out, err = _check(duckdb_project, capsys)
    assert code == 0, out + [err]
    assert out == ["Cartridge: the project is up to date with the warehouse (4 tables in raw)."]
    _duckdb(duckdb_project, CHANGES)
    before = _fingerprint(duckdb_project)
    code, out, err = _check(duckdb_project, capsys)
    assert code == 1, out + [err]
    assert out[:-1] == EXPECTED
    assert out[-1].startswith("Cartridge: the project is out of date with the warehouse: 3 differences")
    assert _fingerprint(duckdb_project) == before


@pytest.mark.postgres
def test_check_postgres(pg_project: Path, pg_database: str, capsys: pytest.CaptureFixture[str]) -> None:
    """The same on PostgreSQL, and nothing in the project changes."""
    _generate(pg_project)
    assert _check(pg_project, capsys, "--schema", "raw")[0] == 0
    run_pg(pg_database, CHANGES)
    before = _fingerprint(pg_project)
    code, out, err = _check(pg_project, capsys)
    assert code == 1, out + [err]
    assert out[:-1] == EXPECTED
    assert _fingerprint(pg_project) == before


def test_check_edited_staging_model(duckdb_project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A column a person removed from a staging model is reported against that model only."""
    _generate(duckdb_project)
    model = duckdb_project / "models" / "staging" / "raw" / "stg_raw__orders.sql"
    model.write_text(model.read_text().replace("        amount,\n", ""))
    code, out, _ = _check(duckdb_project, capsys)
    assert code == 1
    assert out[:-1] == ["+ column raw.orders.amount (not in stg_raw__orders)"]


def test_check_schema_scope(duckdb_project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """With --schema, only that schema is compared: a table elsewhere is not reported."""
    _generate(duckdb_project)
    _duckdb(duckdb_project, ["create schema crm", "create table crm.leads (id integer)"])
    code, out, _ = _check(duckdb_project, capsys)
    assert code == 1 and out[:-1] == ["+ table crm.leads (no source, no staging model)"]
    assert _check(duckdb_project, capsys, "--schema", "raw")[0] == 0


def test_check_config_error_exits_2(duckdb_project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A broken profile is one 'Cartridge:' line on stderr and exit 2, nothing on stdout."""
    code, out, err = _check(duckdb_project, capsys, "--target", "nope")
    assert code == 2 and out == []
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Cartridge: ") and "nope" in lines[0]
