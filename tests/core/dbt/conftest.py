"""Helpers for the dbt checks: the shop projects as (DbtProject, WarehouseTarget), and model texts."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from cartridge_core.models import DbtProject, WarehouseTarget

SOURCES_YML = textwrap.dedent(
    """\
    version: 2

    sources:
      - name: raw
        schema: raw
        tables:
          - name: customers
          - name: orders
    """
)

# Ten lines; line 7 names a column raw.orders does not have.
UNKNOWN_COLUMN_MODEL = textwrap.dedent(
    """\
    with source as (
        select * from {{ source('raw', 'orders') }}
    )

    select
        id as order_id,
        shipping_method,
        status,
        amount
    from source
    """
)

GOOD_MODEL = textwrap.dedent(
    """\
    with source as (
        select * from {{ source('raw', 'customers') }}
    )

    select
        id as customer_id,
        email,
        active as is_active
    from source
    """
)

SOURCES_PATH = "models/staging/_raw__sources.yml"


def shop_context(root: Path) -> tuple[DbtProject, WarehouseTarget]:
    """The shop project at `root` and its dev target, as Cartridge reads them."""
    from cartridge_core.project.discovery import read_project
    from cartridge_core.project.profiles import load_target

    project = read_project(root)
    return project, load_target(project)


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def shop(request: pytest.FixtureRequest) -> tuple[DbtProject, WarehouseTarget]:
    """The shop project over DuckDB, then over PostgreSQL."""
    fixture = "duckdb_project" if request.param == "duckdb" else "pg_project"
    return shop_context(request.getfixturevalue(fixture))


@pytest.fixture
def duck(duckdb_project: Path) -> tuple[DbtProject, WarehouseTarget]:
    """The shop project over DuckDB."""
    return shop_context(duckdb_project)
