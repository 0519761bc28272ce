"""Catalog depth: type families, enum and CHECK values, unique keys, domains, views, partitions, sizes."""

from __future__ import annotations

import pytest

from cartridge_core.models import Scan, Table
from cartridge_core.progress import NullProgress
from cartridge_core.warehouse import scan_warehouse
from cartridge_core.warehouse.duckdb import index_columns
from cartridge_core.warehouse.types import check_values, enum_labels, narrow_values, type_family
from tests.conftest import _pg_connect
from tests.core.warehouse.conftest import MakeTarget


def _table(scan: Scan, name: str, schema: str = "raw") -> Table:
    table = scan.table(schema, name)
    assert table is not None, f"{schema}.{name} not scanned"
    return table


@pytest.mark.parametrize(
    ("data_type", "family"),
    [
        pytest.param("integer", "integer", id="pg-integer"),
        pytest.param("bigint", "integer", id="pg-bigint"),
        pytest.param("smallint", "integer", id="pg-smallint"),
        pytest.param("int8", "integer", id="int8"),
        pytest.param("serial", "integer", id="serial"),
        pytest.param("HUGEINT", "integer", id="duckdb-hugeint"),
        pytest.param("UBIGINT", "integer", id="duckdb-ubigint"),
        pytest.param("numeric(10,2)", "decimal", id="pg-numeric"),
        pytest.param("DECIMAL(18,3)", "decimal", id="duckdb-decimal"),
        pytest.param("money", "decimal", id="money"),
        pytest.param("real", "float", id="real"),
        pytest.param("double precision", "float", id="pg-double"),
        pytest.param("DOUBLE", "float", id="duckdb-double"),
        pytest.param("FLOAT", "float", id="duckdb-float"),
        pytest.param("text", "text", id="text"),
        pytest.param("character varying(20)", "text", id="pg-varchar"),
        pytest.param("VARCHAR", "text", id="duckdb-varchar"),
        pytest.param("character(3)", "text", id="pg-char"),
        pytest.param("bpchar", "text", id="bpchar"),
        pytest.param("citext", "text", id="citext"),
        pytest.param("extensions.citext", "text", id="qualified-citext"),
        pytest.param("name", "text", id="name"),
        pytest.param("ENUM('a', 'b')", "text", id="duckdb-enum"),
        pytest.param("boolean", "boolean", id="boolean"),
        pytest.param("bool", "boolean", id="bool"),
        pytest.param("date", "date", id="date"),
        pytest.param("timestamp without time zone", "timestamp", id="pg-timestamp"),
        pytest.param("timestamp(3) without time zone", "timestamp", id="pg-timestamp-precision"),
        pytest.param("TIMESTAMP_NS", "timestamp", id="duckdb-timestamp-ns"),
        pytest.param("timestamp with time zone", "timestamptz", id="pg-timestamptz"),
        pytest.param("timestamp(6) with time zone", "timestamptz", id="pg-timestamptz-precision"),
        pytest.param("TIMESTAMP WITH TIME ZONE", "timestamptz", id="duckdb-timestamptz"),
        pytest.param("time with time zone", "other", id="time-of-day"),
        pytest.param("interval", "interval", id="interval"),
        pytest.param("interval year to month", "interval", id="interval-fields"),
        pytest.param("json", "json", id="json"),
        pytest.param("jsonb", "json", id="jsonb"),
        pytest.param("JSON", "json", id="duckdb-json"),
        pytest.param("integer[]", "array", id="pg-array"),
        pytest.param("character varying(3)[]", "array", id="pg-varchar-array"),
        pytest.param("INTEGER[]", "array", id="duckdb-list"),
        pytest.param("INTEGER[3]", "array", id="duckdb-array"),
        pytest.param("BOOLEAN[]", "array", id="boolean-array"),
        pytest.param("uuid", "uuid", id="uuid"),
        pytest.param("UUID", "uuid", id="duckdb-uuid"),
        pytest.param("bytea", "binary", id="bytea"),
        pytest.param("BLOB", "binary", id="blob"),
        pytest.param("tsvector", "other", id="tsvector"),
        pytest.param("inet", "other", id="inet"),
        pytest.param("tstzrange", "other", id="range"),
        pytest.param("geometry(Point,4326)", "other", id="geometry"),
        pytest.param("STRUCT(a INTEGER[])", "other", id="duckdb-struct"),
        pytest.param("MAP(VARCHAR, INTEGER)", "other", id="duckdb-map"),
        pytest.param('raw."Mood"', "other", id="user-type"),
        pytest.param("", "other", id="empty"),
    ],
)
def test_catalog_depth_type_family_of_spellings(data_type: str, family: str) -> None:
    """Each engine's spelling of a type maps to its canonical family."""
    assert type_family(data_type) == family


@pytest.mark.parametrize(
    ("definition", "expected"),
    [
        pytest.param(
            "CHECK (((status)::text = ANY "
            "((ARRAY['a'::character varying, 'b''c'::character varying])::text[])))",
            ("status", ("a", "b'c")),
            id="pg-varchar-in",
        ),
        pytest.param(
            "CHECK ((\"Sta tus\" = ANY (ARRAY['p'::text, 'q'::text])))",
            ("Sta tus", ("p", "q")),
            id="pg-quoted",
        ),
        pytest.param("CHECK ((kind = 'x'::text))", ("kind", ("x",)), id="pg-one-value"),
        pytest.param(
            "CHECK ((i = ANY (ARRAY[1, '-2'::integer, 3])))", ("i", ("1", "-2", "3")), id="pg-numbers"
        ),
        pytest.param(
            "CHECK ((n = ANY (ARRAY[1.5, ('-2'::integer)::numeric])))",
            ("n", ("1.5", "-2")),
            id="pg-nested-casts",
        ),
        pytest.param(
            "CHECK ((x = ANY (ARRAY[(1)::numeric(10,2), (2)::numeric(10,2)])))",
            ("x", ("1", "2")),
            id="pg-type-modifier",
        ),
        pytest.param("CHECK((Status IN ('p', 'q')))", ("Status", ("p", "q")), id="duckdb-in"),
        pytest.param("CHECK((\"select\" IN ('a', 'b')))", ("select", ("a", "b")), id="duckdb-quoted"),
        pytest.param("CHECK ((s = 'y'::text)) NOT VALID", None, id="not-valid"),
        pytest.param("CHECK ((n > 0))", None, id="range"),
        pytest.param("CHECK(((c IN ('a')) OR (c IS NULL)))", None, id="or"),
        pytest.param("CHECK ((lower(s) = ANY (ARRAY['a'::text])))", None, id="function"),
        pytest.param("CHECK ((a = ANY (ARRAY[1, 2] || ARRAY[3])))", None, id="array-expression"),
        pytest.param("CHECK (((a)::text = 'x'::text) OR (b = 1))", None, id="two-columns"),
        pytest.param("UNIQUE (a)", None, id="not-a-check"),
    ],
)
def test_catalog_depth_check_values_forms(
    definition: str, expected: tuple[str, tuple[str, ...]] | None
) -> None:
    """Only a plain `col IN (...)` (or its rewrite as `= ANY (ARRAY[...])`) yields a column and values."""
    assert check_values(definition) == expected


@pytest.mark.parametrize(
    ("data_type", "labels"),
    [
        pytest.param("ENUM('sad', 'ok')", ("sad", "ok"), id="plain"),
        pytest.param("ENUM('a''b', 'c, d', 'e)')", ("a'b", "c, d", "e)"), id="quotes-commas-parens"),
        pytest.param("VARCHAR", (), id="not-an-enum"),
    ],
)
def test_catalog_depth_enum_labels_of_duckdb_spelling(data_type: str, labels: tuple[str, ...]) -> None:
    """DuckDB's inline enum spelling gives its labels in order."""
    assert enum_labels(data_type) == labels


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        pytest.param(("a", "b", "c"), ("c", "a"), ("a", "c"), id="both"),
        pytest.param((), ("x",), ("x",), id="first-empty"),
        pytest.param(("x",), (), ("x",), id="second-empty"),
    ],
)
def test_catalog_depth_narrow_values(
    first: tuple[str, ...], second: tuple[str, ...], expected: tuple[str, ...]
) -> None:
    """Two restrictions on one column allow only the values both allow, in the first's order."""
    assert narrow_values(first, second) == expected


@pytest.mark.parametrize(
    ("expressions", "columns"),
    [
        pytest.param("[z]", ("z",), id="plain"),
        pytest.param("[Zed, b]", ("Zed", "b"), id="two"),
        pytest.param("['\"My Col\"', '\"x,y\"']", ("My Col", "x,y"), id="quoted"),
        pytest.param("['(lower(CAST(z AS VARCHAR)))']", None, id="expression"),
    ],
)
def test_catalog_depth_duckdb_index_columns(expressions: str, columns: tuple[str, ...] | None) -> None:
    """duckdb_indexes() expressions read back as column names; an expression index has none."""
    assert index_columns(expressions) == columns


DEPTH_DDL = [
    "create schema raw",
    "create type raw.mood as enum ('sad', 'ok', 'happy')",
    """create table raw.people (id integer primary key, email varchar(200) unique, nick varchar(20),
        team integer, seat integer, feeling raw.mood,
        status varchar(10) check (status in ('new', 'active', 'gone')), age integer check (age > 0),
        unique (team, seat))""",
    "create unique index people_nick on raw.people (nick)",
    "create unique index people_lower_email on raw.people (lower(email))",
    "create view raw.adults as select id, age from raw.people where age >= 18",
    "insert into raw.people values (1, 'a@x', 'a', 1, 1, 'ok', 'new', 30)",
]


def test_catalog_depth_keys_values_and_views(make_target: MakeTarget) -> None:
    """Both engines read unique keys, CHECKs, enum labels, CHECK IN lists, families and view SQL."""
    scan = scan_warehouse(make_target(DEPTH_DDL), schemas=["raw"], progress=NullProgress())
    people = _table(scan, "people")
    assert people.primary_key == ("id",)
    # The expression index (lower(email)) is unique but names no column: not a key.
    assert people.unique_keys == (("email",), ("nick",), ("team", "seat"))
    assert len(people.check_constraints) == 2
    assert all(c.upper().startswith("CHECK") for c in people.check_constraints)
    values = {c.name: c.enum_values for c in people.columns if c.enum_values}
    assert values == {"feeling": ("sad", "ok", "happy"), "status": ("new", "active", "gone")}
    assert [c.type_family for c in people.columns] == [
        "integer", "text", "text", "integer", "integer", "text", "text", "integer",
    ]  # fmt: skip
    adults = _table(scan, "adults")
    assert adults.view_definition is not None and "18" in adults.view_definition
    assert (adults.unique_keys, adults.check_constraints, people.view_definition) == ((), (), None)


pg = pytest.mark.postgres


@pg
def test_catalog_depth_postgres_domains(make_pg: MakeTarget) -> None:
    """A domain keeps its name as the type, takes its base type's family, and its CHECK IN list."""
    target = make_pg(
        [
            "create schema raw",
            "create type raw.mood as enum ('sad', 'ok')",
            "create domain raw.positive as integer check (value > 0)",
            "create domain raw.small_positive as raw.positive check (value < 10)",
            "create domain raw.yes_no as varchar(3) check (value in ('YES', 'NO'))",
            "create domain raw.answer as raw.yes_no check (value in ('YES', 'MAYBE', 'NO'))",
            "create domain raw.feeling as raw.mood",
            "create domain raw.flag as boolean",
            "create domain raw.stamp as timestamp(3) with time zone",
            "create domain raw.ints as integer[]",
            """create table raw.t (a raw.positive, b raw.small_positive, c raw.yes_no, d raw.answer,
                e raw.feeling, f raw.flag, g raw.stamp, h raw.ints)""",
        ]
    )
    table = _table(scan_warehouse(target, schemas=["raw"], progress=NullProgress()), "t")
    assert [(c.data_type, c.type_family, c.enum_values) for c in table.columns] == [
        ("raw.positive", "integer", ()),
        ("raw.small_positive", "integer", ()),
        ("raw.yes_no", "text", ("YES", "NO")),
        ("raw.answer", "text", ("YES", "NO")),
        ("raw.feeling", "text", ("sad", "ok")),
        ("raw.flag", "boolean", ()),
        ("raw.stamp", "timestamptz", ()),
        ("raw.ints", "array", ()),
    ]


@pg
def test_catalog_depth_postgres_not_keys_and_not_valid(make_pg: MakeTarget) -> None:
    """Partial and expression unique indexes are no keys; a NOT VALID CHECK is listed but gives no values."""
    target = make_pg(
        [
            "create schema raw",
            "create table raw.t (id integer primary key, code text, kind text, alt text)",
            "create unique index t_code_live on raw.t (code) where kind <> 'old'",
            "create unique index t_alt_lower on raw.t (lower(alt))",
            "create unique index t_code_kind on raw.t (code, kind) include (alt)",
            "insert into raw.t values (1, 'a', 'zzz', 'x')",
            "alter table raw.t add constraint kinds check (kind in ('new', 'old')) not valid",
        ]
    )
    table = _table(scan_warehouse(target, schemas=["raw"], progress=NullProgress()), "t")
    assert table.unique_keys == (("code", "kind"),)
    assert table.check_constraints == ("CHECK ((kind = ANY (ARRAY['new'::text, 'old'::text]))) NOT VALID",)
    assert all(c.enum_values == () for c in table.columns)


PARTITIONS_DDL = [
    "create schema raw",
    "create table raw.sensors (id integer primary key)",
    # No keys on the parent: each partition declares them.
    """create table raw.readings (id integer not null, sensor_id integer, code text, at date not null)
        partition by range (at)""",
    """create table raw.readings_2024 partition of raw.readings (primary key (id), unique (code),
        foreign key (sensor_id) references raw.sensors (id))
        for values from ('2024-01-01') to ('2025-01-01')""",
    """create table raw.readings_2025 partition of raw.readings (primary key (id), unique (code),
        foreign key (sensor_id) references raw.sensors (id))
        for values from ('2025-01-01') to ('2026-01-01')""",
    # Only one of two partitions declares a key: it is no key of the parent.
    "create table raw.logs (id integer not null, at date not null) partition by range (at)",
    """create table raw.logs_2024 partition of raw.logs (primary key (id))
        for values from ('2024-01-01') to ('2025-01-01')""",
    "create table raw.logs_2025 partition of raw.logs for values from ('2025-01-01') to ('2026-01-01')",
    # The parent's own key wins over what a partition adds.
    "create table raw.events (id integer, at date, primary key (id, at)) partition by range (at)",
    """create table raw.events_2024 partition of raw.events (unique (id))
        for values from ('2024-01-01') to ('2025-01-01')""",
    "insert into raw.sensors values (1)",
    "insert into raw.readings values (1, 1, 'a', '2024-02-01'), (2, 1, 'b', '2025-02-01')",
    "analyze",
]


@pg
def test_catalog_depth_postgres_partition_keys_lifted(make_pg: MakeTarget) -> None:
    """Keys every partition declares are lifted to a parent that declares none of that kind."""
    scan = scan_warehouse(make_pg(PARTITIONS_DDL), schemas=["raw"], progress=NullProgress())
    assert [t.name for t in scan.tables] == ["events", "logs", "readings", "sensors"]
    readings = _table(scan, "readings")
    assert (readings.primary_key, readings.unique_keys) == (("id",), (("code",),))
    assert [(fk.name, fk.columns, fk.ref_table, fk.ref_columns) for fk in readings.foreign_keys] == [
        (None, ("sensor_id",), "sensors", ("id",))
    ]
    logs = _table(scan, "logs")
    assert (logs.primary_key, logs.unique_keys, logs.foreign_keys) == ((), (), ())
    events = _table(scan, "events")
    assert (events.primary_key, events.unique_keys) == (("id", "at"), (("id",),))


def _sizes(database: str, names: list[str]) -> dict[str, int]:
    con = _pg_connect(database)
    try:
        with con.cursor() as cur:
            cur.execute(
                "select c.relname, pg_total_relation_size(c.oid) from pg_class c "
                "where c.relnamespace = 'raw'::regnamespace and c.relname = any(%s)",
                (names,),
            )
            return dict(cur.fetchall())
    finally:
        con.close()


@pg
def test_catalog_depth_postgres_sizes_and_rows(make_pg: MakeTarget, pg_database: str) -> None:
    """Tables and materialized views get their total size; a partitioned parent the sum of its partitions'."""
    target = make_pg(
        [
            *PARTITIONS_DDL,
            "create materialized view raw.counts as select count(*) as n from raw.readings",
            "create view raw.plain as select 1 as one",
            "analyze",
        ]
    )
    scan = scan_warehouse(target, schemas=["raw"], progress=NullProgress())
    sizes = _sizes(pg_database, ["sensors", "counts", "readings_2024", "readings_2025"])
    assert _table(scan, "sensors").size_bytes == sizes["sensors"] > 0
    assert _table(scan, "counts").size_bytes == sizes["counts"] > 0
    readings = _table(scan, "readings")
    assert readings.size_bytes == sizes["readings_2024"] + sizes["readings_2025"]
    assert readings.row_estimate == 2
    plain = _table(scan, "plain")
    assert (plain.size_bytes, plain.row_estimate, plain.view_definition) == (None, None, " SELECT 1 AS one;")


def test_catalog_depth_duckdb_sizes_and_view_sql(make_duckdb: MakeTarget) -> None:
    """DuckDB gives row estimates but no byte sizes, and its views' SQL as written."""
    scan = scan_warehouse(make_duckdb(DEPTH_DDL), schemas=["raw"], progress=NullProgress())
    people, adults = _table(scan, "people"), _table(scan, "adults")
    assert (people.row_estimate, people.size_bytes) == (1, None)
    assert adults.view_definition is not None and adults.view_definition.startswith("CREATE VIEW")
