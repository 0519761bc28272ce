"""The headless `cartridge-lsp --scan`: catalog, profiles, relationships and roles, cached under target/."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from tests.cli.test_generate import cartridge
from tests.conftest import run_pg


def test_scan_duckdb_summary_and_history(duckdb_project: Path) -> None:
    """--scan summarises tables, roles and relationships, caches the scan and reports changes next time."""
    first = cartridge("--scan", "--project-dir", str(duckdb_project))
    assert first.returncode == 0, first.stdout + first.stderr
    assert "declared raw.orders(customer_id) -> raw.customers(id)" in " ".join(first.stdout.split())
    summary = first.stdout.strip().splitlines()[-1]
    assert summary.startswith("Cartridge: 4 tables,") and "1 declared" in summary
    assert (duckdb_project / "target" / "cartridge" / "scans.sqlite").is_file()

    con = duckdb.connect(str(duckdb_project / "shop.duckdb"))
    try:
        con.execute("alter table raw.orders add column channel varchar")
    finally:
        con.close()
    second = cartridge("--scan", "--project-dir", str(duckdb_project))
    assert second.returncode == 0, second.stdout + second.stderr
    assert "+ column raw.orders.channel" in second.stdout


def test_scan_json_is_the_whole_scan(duckdb_project: Path) -> None:
    """--scan --json prints one JSON document with tables, profiles, relationships and roles."""
    result = cartridge("--scan", "--json", "--project-dir", str(duckdb_project))
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert {t["name"] for t in document["tables"]} == {"customers", "orders", "Order Events", "big_orders"}
    customers = next(p for p in document["profiles"] if p["table"] == "customers")
    assert customers["row_count"] == 2 and customers["method"] == "exact"
    assert {r["role"] for r in document["roles"]} <= {"fact", "dimension", "bridge", "other"}
    assert document["changes_since_last_scan"] == []


@pytest.mark.postgres
def test_scan_postgres_infers_undeclared_relationship(pg_project: Path, pg_database: str) -> None:
    """On PostgreSQL, a foreign key nobody declared is inferred from its name and verified by containment."""
    run_pg(
        pg_database,
        [
            "create table raw.payments (id integer primary key, order_id integer, amount numeric(10, 2))",
            "insert into raw.payments values (1, 10, 120.50), (2, 11, 30.00), (3, 11, 1.00)",
        ],
    )
    result = cartridge("--scan", "--project-dir", str(pg_project), "--schema", "raw")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "inferred raw.payments(order_id) -> raw.orders(id)" in " ".join(result.stdout.split())


def test_scan_config_error_exits_2(duckdb_project: Path) -> None:
    """A broken profile is one 'Cartridge:' line on stderr and exit 2, as with --generate."""
    result = cartridge("--scan", "--target", "nope", "--project-dir", str(duckdb_project))
    assert result.returncode == 2
    assert result.stderr.strip().startswith("Cartridge: ") and "nope" in result.stderr
