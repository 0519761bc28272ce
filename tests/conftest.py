"""Shared fixtures: small dbt projects over a real DuckDB file or a fresh PostgreSQL database."""

from __future__ import annotations

import os
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

PG_HOST = os.environ.get("CARTRIDGE_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("CARTRIDGE_TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("CARTRIDGE_TEST_PG_USER", "postgres")

# A small shop: two related tables with keys and comments, one table without a key, one view,
# and names that need quoting. Written in SQL both engines accept.
SHOP_DDL = [
    "create schema raw",
    """create table raw.customers (
        id integer primary key,
        "FirstName" varchar(50) not null,
        email varchar(200),
        active boolean,
        created timestamp,
        birth date
    )""",
    "comment on table raw.customers is 'People who bought something.'",
    "comment on column raw.customers.email is 'Contact e-mail address.'",
    """create table raw.orders (
        id integer primary key,
        customer_id integer not null references raw.customers(id),
        status varchar(20),
        amount numeric(10, 2),
        ordered_at timestamp
    )""",
    """create table raw."Order Events" (
        order_id integer,
        "select" varchar(20),
        happened timestamp
    )""",
    "create view raw.big_orders as select id, amount from raw.orders where amount > 100",
    "insert into raw.customers values"
    " (1, 'Ada', 'ada@example.com', true, '2024-01-01 10:00:00', '1990-05-01')",
    "insert into raw.customers values (2, 'Bo', null, false, '2024-02-01 11:00:00', null)",
    "insert into raw.orders values (10, 1, 'placed', 120.50, '2024-03-01 09:00:00')",
    "insert into raw.orders values (11, 2, 'shipped', 30.00, '2024-03-02 09:30:00')",
    """insert into raw."Order Events" values (10, 'clicked', '2024-03-01 09:01:00')""",
]


def write_project(root: Path, *, profile_yaml: str, name: str = "shop") -> Path:
    """Write a minimal dbt project with its own profiles.yml into `root`."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "dbt_project.yml").write_text(
        textwrap.dedent(
            f"""\
            name: {name}
            version: "1.0.0"
            config-version: 2
            profile: {name}
            model-paths: ["models"]
            """
        )
    )
    (root / "models").mkdir(exist_ok=True)
    (root / "profiles.yml").write_text(profile_yaml)
    return root


@pytest.fixture
def duckdb_project(tmp_path: Path) -> Path:
    """A dbt project over a DuckDB file holding the small shop in schema `raw`."""
    import duckdb

    root = tmp_path / "shop"
    root.mkdir()
    db_file = root / "shop.duckdb"
    con = duckdb.connect(str(db_file))
    try:
        for statement in SHOP_DDL:
            con.execute(statement)
    finally:
        con.close()
    profile = textwrap.dedent(
        f"""\
        shop:
          target: dev
          outputs:
            dev:
              type: duckdb
              path: "{db_file}"
              schema: analytics
              threads: 1
        """
    )
    return write_project(root, profile_yaml=profile)


def _pg_connect(dbname: str = "postgres"):
    import psycopg2

    con = psycopg2.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname=dbname)
    con.autocommit = True
    return con


@pytest.fixture
def pg_database() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test; dropped afterwards. Yields its name."""
    name = f"cartridge_test_{uuid.uuid4().hex[:10]}"
    admin = _pg_connect()
    try:
        with admin.cursor() as cur:
            cur.execute(f'create database "{name}"')
        yield name
    finally:
        with admin.cursor() as cur:
            cur.execute(f'drop database if exists "{name}" with (force)')
        admin.close()


def run_pg(dbname: str, statements: list[str]) -> None:
    """Run DDL/DML statements in database `dbname` (test set-up only)."""
    con = _pg_connect(dbname)
    try:
        with con.cursor() as cur:
            for statement in statements:
                cur.execute(statement)
    finally:
        con.close()


@pytest.fixture
def pg_project(tmp_path: Path, pg_database: str) -> Path:
    """A dbt project over a fresh PostgreSQL database holding the small shop in schema `raw`."""
    run_pg(pg_database, SHOP_DDL)
    profile = textwrap.dedent(
        f"""\
        shop:
          target: dev
          outputs:
            dev:
              type: postgres
              host: {PG_HOST}
              port: {PG_PORT}
              user: {PG_USER}
              password: "{{{{ env_var('CARTRIDGE_TEST_PG_PASSWORD', '') }}}}"
              dbname: {pg_database}
              schema: analytics
              threads: 1
        """
    )
    return write_project(tmp_path / "shop_pg", profile_yaml=profile)
