"""Every PostgreSQL shape scans, stages, passes the dbt check and builds, read by a restricted role."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from cartridge_core import services
from cartridge_core.models import Scan, Table
from cartridge_core.planning import Options
from cartridge_core.progress import NullProgress
from cartridge_core.warehouse import scan_warehouse
from tests.conftest import PG_HOST, PG_PORT, _pg_connect, run_pg, write_project
from tests.core.warehouse.conftest import pg_target

pytestmark = pytest.mark.postgres


def _bytes63(stem: str) -> str:
    """`stem` padded with `x` to PostgreSQL's longest name: 63 bytes in UTF-8."""
    return stem + "x" * (63 - len(stem.encode("utf-8")))


LONG_TABLE = _bytes63("a_table_name_as_long_as_postgres_allows_")
LONG_COLUMN = _bytes63("größe_des_höchsten_werts_")
WIDE_COLUMNS = ", ".join(f"c{i:03d} {'integer' if i % 2 else 'text'}" for i in range(1, 151))

SHAPES_DDL = [
    'create schema "Mixed Case"',
    'create schema "order"',
    "create schema raw",
    "create schema other",
    "create schema hidden",
    "create table hidden.t (id integer primary key)",
    "create type raw.mood as enum ('sad', 'ok', 'happy')",
    "create domain raw.positive as integer check (value > 0)",
    "create domain raw.yes_no as varchar(3) check (value in ('YES', 'NO'))",
    "create domain raw.flag as boolean",
    "create type raw.address as (street text, city text)",
    """create table raw."Customers" ("ID" integer primary key, id integer, "FirstName" text not null,
        "select" text, "group.name" text, "naïve café" text, 価格 numeric(10, 2))""",
    """create table "Mixed Case"."Order Lines" ("Order ID" integer, "Line No" integer,
        "Shipped On" date, primary key ("Order ID", "Line No"))""",
    'create table "order"."user" ("from" integer primary key, "where" text, "table" boolean)',
    f'create table raw."{LONG_TABLE}" ("{LONG_COLUMN}" integer primary key)',
    'create table raw."v1.items" (id integer primary key, "Bücher" text)',
    "create table raw.events (id integer primary key, kind text)",
    "create table other.events (id bigint primary key, note text)",
    """create view raw.active_customers as
        select "ID", "FirstName" from raw."Customers" where "FirstName" <> ''""",
    'create materialized view raw.customer_counts as select count(*) as n from raw."Customers"',
    "create materialized view raw.pending as select 1 as x with no data",
    """create table raw.readings (sensor_id integer not null, read_at timestamptz not null,
        reading double precision) partition by range (read_at)""",
    """create table raw.readings_2024 partition of raw.readings (primary key (sensor_id, read_at))
        for values from ('2024-01-01') to ('2025-01-01')""",
    """create table raw.readings_2025 partition of raw.readings (primary key (sensor_id, read_at))
        for values from ('2025-01-01') to ('2026-01-01')""",
    "create table raw.empty_table (id integer primary key, note text)",
    "create table raw.no_key (a integer, b text)",
    "create table raw.secret (id integer primary key, ssn text)",
    "create table raw.partly_secret (id integer primary key, public_note text, private_note text)",
    f"create table raw.wide ({WIDE_COLUMNS})",
    """create table raw.typed (
        id uuid primary key, doc json, docb jsonb, tags text[], scores integer[], feeling raw.mood,
        qty raw.positive, answer raw.yes_no, amount numeric(12, 2), price money, wait interval,
        payload bytea, search tsvector, ip inet, period tstzrange, seen_at timestamptz,
        status varchar(10) check (status in ('new', 'done')), done boolean, born date,
        logged timestamp, code char(3), ratio real, enabled raw.flag, home raw.address,
        moods raw.mood[], spot point, markup xml, bits bit(3)
    )""",
    """insert into raw."Customers" values (1, 1, 'Ada', 'x', 'g', 'é', 9.5), (2, 1, 'Bo', null, null,
        null, null)""",
    """insert into "Mixed Case"."Order Lines" values (1, 1, '2024-03-01'), (1, 2, null)""",
    """insert into "order"."user" values (1, 'here', true)""",
    f"""insert into raw."{LONG_TABLE}" values (1), (2)""",
    """insert into raw."v1.items" values (1, 'Faust')""",
    "insert into raw.events values (1, 'a'), (2, 'b')",
    "insert into other.events values (1, 'n')",
    """insert into raw.readings values (1, '2024-05-01 10:00+00', 1.5), (1, '2025-05-01 10:00+00', 2.5),
        (2, '2024-05-01 10:00+00', null)""",
    "insert into raw.no_key values (1, 'a'), (1, 'a')",
    "insert into raw.secret values (1, '123')",
    "insert into raw.partly_secret values (1, 'hello', 'hidden')",
    "insert into raw.wide (c001, c002) values (1, 'a')",
    """insert into raw.typed values ('00000000-0000-0000-0000-000000000001', '{"a": 1}', '{"b": 2}',
        '{x,y}', '{1,2}', 'ok', 3, 'YES', 12.50, 4.20, '1 day', '\\x00ff', 'fat cat', '10.0.0.1',
        '[2024-01-01, 2024-02-01)', now(), 'new', true, '1990-01-01', now(), 'abc', 0.5, true,
        row('Main St', 'Oslo'), '{sad,ok}', '(1,2)', '<a/>', B'101')""",
    "refresh materialized view raw.customer_counts",
    "analyze",
]
READABLE = ["Mixed Case", "order", "other", "raw"]
SCHEMAS = ["Mixed Case", "hidden", "order", "other", "raw"]


@dataclass(frozen=True)
class Shapes:
    """The shapes database, the restricted role that reads it, and the dbt project over it."""

    database: str
    role: str
    root: Path


def _grants(database: str, role: str) -> list[str]:
    """A role that may read all but schema `hidden`, `raw.secret` and three columns of `raw.partly_secret`."""
    schemas = ", ".join(f'"{s}"' for s in READABLE)
    return [
        f'create role "{role}" login',
        f'grant create on database "{database}" to "{role}"',
        f'grant usage on schema {schemas} to "{role}"',
        f'grant select on all tables in schema {schemas} to "{role}"',
        f'revoke select on raw.secret, raw.partly_secret from "{role}"',
        f'grant select (id, public_note) on raw.partly_secret to "{role}"',
    ]


@pytest.fixture(scope="module")
def shapes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shapes]:
    """A fresh database of every shape, a reader role, and a dbt project connecting as that role."""
    suffix = uuid.uuid4().hex[:10]
    database, role = f"cartridge_shapes_{suffix}", f"cartridge_reader_{suffix}"
    admin = _pg_connect()
    try:
        with admin.cursor() as cur:
            cur.execute(f'create database "{database}"')
        run_pg(database, [*SHAPES_DDL, *_grants(database, role)])
        profile = textwrap.dedent(
            f"""\
            shapes:
              target: dev
              outputs:
                dev:
                  type: postgres
                  host: {PG_HOST}
                  port: {PG_PORT}
                  user: {role}
                  password: ""
                  dbname: {database}
                  schema: analytics
                  threads: 2
            """
        )
        root = write_project(
            tmp_path_factory.mktemp("shapes") / "shapes", profile_yaml=profile, name="shapes"
        )
        yield Shapes(database=database, role=role, root=root)
    finally:
        with admin.cursor() as cur:
            cur.execute(f'drop database if exists "{database}" with (force)')
            cur.execute(f'drop role if exists "{role}"')
        admin.close()


@pytest.fixture(scope="module")
def scanned(shapes: Shapes) -> Scan:
    """The shapes database scanned as the reader role."""
    target = pg_target(shapes.database, user=shapes.role)
    return scan_warehouse(target, schemas=SCHEMAS, progress=NullProgress())


def _table(scan: Scan, schema: str, name: str) -> Table:
    table = scan.table(schema, name)
    assert table is not None, f"{schema}.{name} not scanned"
    return table


def test_postgres_shapes_every_relation_scanned_or_skipped(scanned: Scan) -> None:
    """Every relation is scanned, but the unpopulated view and unreadable tables: skipped, with a reason."""
    assert [(t.schema, t.name, t.kind) for t in scanned.tables] == [
        ("Mixed Case", "Order Lines", "table"),
        ("order", "user", "table"),
        ("other", "events", "table"),
        ("raw", "Customers", "table"),
        ("raw", LONG_TABLE, "table"),
        ("raw", "active_customers", "view"),
        ("raw", "customer_counts", "materialized_view"),
        ("raw", "empty_table", "table"),
        ("raw", "events", "table"),
        ("raw", "no_key", "table"),
        ("raw", "readings", "partitioned_table"),
        ("raw", "typed", "table"),
        ("raw", "v1.items", "table"),
        ("raw", "wide", "table"),
    ]
    reasons = {(s.schema, s.name): s.reason for s in scanned.skipped}
    assert list(reasons) == [("hidden", "t"), ("raw", "partly_secret"), ("raw", "pending"), ("raw", "secret")]
    assert "no USAGE privilege on schema hidden" in reasons[("hidden", "t")]
    assert "only some of its columns" in reasons[("raw", "partly_secret")]
    assert "WITH NO DATA" in reasons[("raw", "pending")]
    secret = reasons[("raw", "secret")]
    assert "no SELECT privilege" in secret and "cartridge_reader_" in secret


def test_postgres_shapes_skipped_tables_are_logged(shapes: Shapes, caplog: pytest.LogCaptureFixture) -> None:
    """Each relation the scan skips is named in a warning with the reason."""
    with caplog.at_level(logging.WARNING, logger="cartridge_core.warehouse.postgres"):
        scan_warehouse(pg_target(shapes.database, user=shapes.role), schemas=["raw"], progress=NullProgress())
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("raw.secret" in w and "no SELECT privilege" in w for w in warnings), warnings
    assert any("raw.partly_secret" in w and "only some of its columns" in w for w in warnings), warnings
    assert any("raw.pending" in w for w in warnings), warnings


def test_postgres_shapes_names_and_columns(scanned: Scan) -> None:
    """Quoted, reserved, dotted, unicode and 63-byte names and `id`/`ID` come back exactly."""
    customers = _table(scanned, "raw", "Customers")
    assert [c.name for c in customers.columns] == [
        "ID", "id", "FirstName", "select", "group.name", "naïve café", "価格",
    ]  # fmt: skip
    assert customers.primary_key == ("ID",)
    assert _table(scanned, "order", "user").primary_key == ("from",)
    assert _table(scanned, "Mixed Case", "Order Lines").primary_key == ("Order ID", "Line No")
    assert _table(scanned, "raw", LONG_TABLE).primary_key == (LONG_COLUMN,)
    assert len(_table(scanned, "raw", "wide").columns) == 150
    assert _table(scanned, "raw", "events").columns[0].type_family == "integer"
    assert [c.name for c in _table(scanned, "other", "events").columns] == ["id", "note"]
    assert _table(scanned, "raw", "empty_table").row_estimate in (0, None)


def test_postgres_shapes_partitioned_keys_lifted(scanned: Scan) -> None:
    """A partitioned parent without keys gets the primary key each of its partitions declares."""
    readings = _table(scanned, "raw", "readings")
    assert readings.primary_key == ("sensor_id", "read_at")
    assert readings.row_estimate == 3
    assert readings.size_bytes is not None and readings.size_bytes > 0


def test_postgres_shapes_views(scanned: Scan) -> None:
    """Views and materialized views carry their definitions."""
    view = _table(scanned, "raw", "active_customers")
    counts = _table(scanned, "raw", "customer_counts")
    assert view.view_definition is not None and '"Customers"' in view.view_definition
    assert counts.view_definition is not None and "count(*)" in counts.view_definition
    assert (view.size_bytes, counts.row_estimate) == (None, 1)


TYPED_FAMILIES = {
    "id": ("uuid", "uuid"),
    "doc": ("json", "json"),
    "docb": ("jsonb", "json"),
    "tags": ("text[]", "array"),
    "scores": ("integer[]", "array"),
    "feeling": ("raw.mood", "text"),
    "qty": ("raw.positive", "integer"),
    "answer": ("raw.yes_no", "text"),
    "amount": ("numeric(12,2)", "decimal"),
    "price": ("money", "decimal"),
    "wait": ("interval", "interval"),
    "payload": ("bytea", "binary"),
    "search": ("tsvector", "other"),
    "ip": ("inet", "other"),
    "period": ("tstzrange", "other"),
    "seen_at": ("timestamp with time zone", "timestamptz"),
    "status": ("character varying(10)", "text"),
    "done": ("boolean", "boolean"),
    "born": ("date", "date"),
    "logged": ("timestamp without time zone", "timestamp"),
    "code": ("character(3)", "text"),
    "ratio": ("real", "float"),
    "enabled": ("raw.flag", "boolean"),
    "home": ("raw.address", "other"),
    "moods": ("raw.mood[]", "array"),
    "spot": ("point", "other"),
    "markup": ("xml", "other"),
    "bits": ("bit(3)", "other"),
}


def test_postgres_shapes_common_types(scanned: Scan) -> None:
    """Each common type keeps its spelling (domains their own name) and gets its family and values."""
    typed = _table(scanned, "raw", "typed")
    assert {c.name: (c.data_type, c.type_family) for c in typed.columns} == TYPED_FAMILIES
    values = {c.name: c.enum_values for c in typed.columns if c.enum_values}
    assert values == {"feeling": ("sad", "ok", "happy"), "answer": ("YES", "NO"), "status": ("new", "done")}
    assert len(typed.check_constraints) == 1 and "status" in typed.check_constraints[0]


def _dbt_build(root: Path) -> dict[str, str]:
    """Run `dbt build` as a user would; each node's status from run_results.json."""
    env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DO_NOT_TRACK": "1"}
    result = subprocess.run(
        [str(Path(sys.executable).parent / "dbt"), "build", "--profiles-dir", str(root)],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    run_results = json.loads((root / "target" / "run_results.json").read_text())
    return {r["unique_id"]: r["status"] for r in run_results["results"]}


def test_postgres_shapes_staging_checks_and_builds(shapes: Shapes, scanned: Scan) -> None:
    """The staging of every scanned shape passes the dbt check, then builds with every test Cartridge
    proposed from the catalog (keys, NOT NULL, enums, CHECK lists, foreign keys) run first and passing."""
    ctx = services.load_context(shapes.root, profiles_dir=shapes.root)
    assert ctx.target.credentials["user"] == shapes.role
    plan = services.plan_generation(ctx, scanned, Options(tests=True))
    # The domain over boolean is a flag: named by the scanner's type family, not the type's name.
    assert "enabled as is_enabled" in plan.overlay()["models/staging/raw/stg_raw__typed.sql"]
    checks = services.check(ctx, plan)
    assert len(checks) == len(scanned.tables)
    assert [c for c in checks if c.status != "pass"] == []
    services.apply(ctx, plan)
    statuses = _dbt_build(shapes.root)
    models = {k: v for k, v in statuses.items() if k.startswith("model.")}
    tests = {k: v for k, v in statuses.items() if k.startswith("test.")}
    assert len(models) == len(scanned.tables) and set(models.values()) == {"success"}, statuses
    # dbt-postgres refuses relation names past 63 characters: the long table's model name is cut.
    assert max(len(unique_id.split(".")[-1]) for unique_id in models) == 63
    # At least unique + not_null on a one-column key; not_null on each column of a longer one and
    # unique on their row value; more for NOT NULL columns, enums, CHECK lists and foreign keys.
    keys = sum(2 if len(t.primary_key) == 1 else len(t.primary_key) + 1 for t in scanned.tables)
    assert len(tests) >= keys and set(tests.values()) == {"pass"}, statuses
    assert any(".accepted_values_" in k for k in tests)
