"""Targets over a real DuckDB file or a fresh PostgreSQL database, and a progress that can cancel."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from cartridge_core.models import WarehouseTarget
from tests.conftest import PG_HOST, PG_PORT, PG_USER, SHOP_DDL, run_pg

MakeTarget = Callable[[list[str]], WarehouseTarget]


def duckdb_target(path: Path, *, schema: str = "analytics") -> WarehouseTarget:
    """A dbt-duckdb target over the file at `path`, as the profile loader resolves it."""
    return WarehouseTarget(
        type="duckdb",
        profile_name="shop",
        target_name="dev",
        profiles_file=path.parent / "profiles.yml",
        schema=schema,
        database=path.stem,
        credentials={"path": str(path), "schema": schema},
    )


def pg_target(name: str, **credentials: object) -> WarehouseTarget:
    """A dbt-postgres target over database `name` of the test server; `credentials` override."""
    creds: dict[str, object] = {
        "host": PG_HOST,
        "port": PG_PORT,
        "user": PG_USER,
        "password": "",
        "dbname": name,
        "schema": "analytics",
    }
    creds.update(credentials)
    return WarehouseTarget(
        type="postgres",
        profile_name="shop",
        target_name="dev",
        profiles_file=Path("/nowhere/profiles.yml"),
        schema=str(creds["schema"]),
        database=str(creds["dbname"]),
        credentials=creds,
    )


def run_duckdb(path: Path, statements: list[str]) -> None:
    """Run DDL/DML statements in the DuckDB file at `path` (test set-up only)."""
    import duckdb

    con = duckdb.connect(str(path))
    try:
        for statement in statements:
            con.execute(statement)
    finally:
        con.close()


@pytest.fixture
def make_duckdb(tmp_path: Path) -> MakeTarget:
    """Build a DuckDB file from DDL and return a target over it."""

    def make(statements: list[str]) -> WarehouseTarget:
        path = tmp_path / "warehouse.duckdb"
        run_duckdb(path, statements)
        return duckdb_target(path)

    return make


@pytest.fixture
def make_pg(pg_database: str) -> MakeTarget:
    """Run DDL in a fresh PostgreSQL database and return a target over it."""

    def make(statements: list[str]) -> WarehouseTarget:
        run_pg(pg_database, statements)
        return pg_target(pg_database)

    return make


@pytest.fixture(
    params=[
        pytest.param("duckdb", id="duckdb"),
        pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    ]
)
def make_target(request: pytest.FixtureRequest) -> MakeTarget:
    """Either engine: build a warehouse from DDL both engines accept and return its target."""
    return request.getfixturevalue("make_pg" if request.param == "postgres" else "make_duckdb")


@pytest.fixture
def shop_duckdb(make_duckdb: MakeTarget) -> WarehouseTarget:
    """The shared small shop in schema `raw` of a DuckDB file."""
    return make_duckdb(SHOP_DDL)


@pytest.fixture
def shop_pg(make_pg: MakeTarget) -> WarehouseTarget:
    """The shared small shop in schema `raw` of a fresh PostgreSQL database, analysed."""
    return make_pg([*SHOP_DDL, "analyze"])


@dataclass
class RecordingProgress:
    """Records progress reports; reports cancelled once `cancel_after` reports were made."""

    cancel_after: int | None = None
    reports: list[tuple[str, int | None]] = field(default_factory=list)
    polls: int = 0

    def report(self, message: str, percentage: int | None = None) -> None:
        self.reports.append((message, percentage))

    def cancelled(self) -> bool:
        self.polls += 1
        return self.cancel_after is not None and len(self.reports) >= self.cancel_after
