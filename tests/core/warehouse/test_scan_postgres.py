"""PostgreSQL specifics: partitions, materialized and foreign tables, read-only sessions, errors."""

from __future__ import annotations

import socket
import time

import pytest
from sqlalchemy import text

from cartridge_core.errors import Cancelled, WarehouseError
from cartridge_core.progress import NullProgress
from cartridge_core.warehouse import scan_warehouse
from cartridge_core.warehouse.postgres import PostgresScanner
from tests.conftest import _pg_connect
from tests.core.warehouse.conftest import MakeTarget, RecordingProgress, pg_target

pytestmark = pytest.mark.postgres

PASSWORD = "s3cret-Pa55word"

PARTITIONED_DDL = [
    "create schema raw",
    """create table raw.events (id integer, at date, kind text, primary key (id, at))
        partition by range (at)""",
    "create table raw.events_2024 partition of raw.events for values from ('2024-01-01') to ('2025-01-01')",
    "create table raw.events_2025 partition of raw.events for values from ('2025-01-01') to ('2026-01-01')",
    """insert into raw.events values (1, '2024-02-01', 'a'), (2, '2024-03-01', 'b'),
        (3, '2025-01-05', 'c')""",
    """create table raw.event_notes (id integer primary key, event_id integer, event_at date,
        foreign key (event_id, event_at) references raw.events (id, at))""",
    "analyze",
]


def test_scan_postgres_partitioned_table_parent_only(make_pg: MakeTarget) -> None:
    """Partitions are skipped; the parent is a partitioned_table with its leaves' rows and one key each."""
    scan = scan_warehouse(make_pg(PARTITIONED_DDL), schemas=["raw"], progress=NullProgress())
    assert [(t.name, t.kind) for t in scan.tables] == [
        ("event_notes", "table"),
        ("events", "partitioned_table"),
    ]
    events = scan.table("raw", "events")
    notes = scan.table("raw", "event_notes")
    assert events is not None and notes is not None
    assert events.primary_key == ("id", "at")
    assert events.row_estimate == 3
    assert [(fk.columns, fk.ref_table, fk.ref_columns) for fk in notes.foreign_keys] == [
        (("event_id", "event_at"), "events", ("id", "at"))
    ]


def test_scan_postgres_materialized_view(make_pg: MakeTarget) -> None:
    """A materialized view is scanned with its kind, columns, comment and row estimate."""
    target = make_pg(
        [
            "create schema raw",
            "create table raw.t (id integer primary key, amount numeric(8, 2))",
            "insert into raw.t values (1, 2.5), (2, 3.5)",
            "create materialized view raw.totals as select count(*) as n, sum(amount) as total from raw.t",
            "comment on materialized view raw.totals is 'Totals.'",
            "analyze",
        ]
    )
    totals = scan_warehouse(target, schemas=["raw"], progress=NullProgress()).table("raw", "totals")
    assert totals is not None
    assert (totals.kind, totals.comment, totals.row_estimate) == ("materialized_view", "Totals.", 1)
    assert [(c.name, c.data_type) for c in totals.columns] == [("n", "bigint"), ("total", "numeric")]


def test_scan_postgres_foreign_table(make_pg: MakeTarget) -> None:
    """A foreign table is scanned as kind foreign_table."""
    target = make_pg(
        [
            "create extension file_fdw",
            "create server files foreign data wrapper file_fdw",
            "create schema raw",
            "create foreign table raw.lines (line text not null) server files options (filename '/dev/null')",
        ]
    )
    lines = scan_warehouse(target, schemas=["raw"], progress=NullProgress()).table("raw", "lines")
    assert lines is not None
    assert (lines.kind, [(c.name, c.nullable) for c in lines.columns]) == ("foreign_table", [("line", False)])


def test_scan_postgres_dropped_column_keeps_positions_dense(make_pg: MakeTarget) -> None:
    """Positions count the columns that exist, even after one was dropped."""
    target = make_pg(
        [
            "create schema raw",
            "create table raw.t (a integer, b integer, c integer)",
            "alter table raw.t drop column b",
        ]
    )
    table = scan_warehouse(target, schemas=["raw"], progress=NullProgress()).table("raw", "t")
    assert table is not None
    assert [(c.name, c.position) for c in table.columns] == [("a", 1), ("c", 2)]


def test_scan_postgres_foreign_key_to_unscanned_schema(make_pg: MakeTarget) -> None:
    """A key referencing a table outside the scanned schemas still names its columns."""
    target = make_pg(
        [
            "create schema ref",
            "create schema raw",
            "create table ref.countries (code char(2), region text, name text, primary key (region, code))",
            """create table raw.cities (id integer primary key, region text, country char(2),
                foreign key (region, country) references ref.countries (region, code))""",
        ]
    )
    scan = scan_warehouse(target, schemas=["raw"], progress=NullProgress())
    cities = scan.table("raw", "cities")
    assert cities is not None and scan.table("ref", "countries") is None
    assert [(fk.ref_schema, fk.ref_table, fk.columns, fk.ref_columns) for fk in cities.foreign_keys] == [
        ("ref", "countries", ("region", "country"), ("region", "code"))
    ]


def test_scan_postgres_session_is_read_only_and_bounded(pg_database: str) -> None:
    """The scan's session is a read-only transaction with the statement timeout set; writes fail."""
    scanner = PostgresScanner(pg_target(pg_database), statement_timeout=12.5)
    with scanner.session() as conn:
        assert conn.execute(text("show transaction_read_only")).scalar() == "on"
        assert conn.execute(text("show statement_timeout")).scalar() == "12500ms"
    with pytest.raises(WarehouseError, match="read-only transaction"):
        with scanner.session() as conn:
            conn.execute(text("create table written (id integer)"))
    assert scan_warehouse(pg_target(pg_database), schemas=None, progress=NullProgress()).tables == ()


def test_scan_postgres_statement_timeout_is_an_error() -> None:
    """A query running past the statement timeout stops with one line naming the database."""
    scanner = PostgresScanner(pg_target("postgres"), statement_timeout=0.2)
    start = time.monotonic()
    with pytest.raises(WarehouseError) as caught:
        with scanner.session() as conn:
            conn.execute(text("select pg_sleep(5)"))
    assert time.monotonic() - start < 3
    assert "0.2 s statement timeout" in caught.value.message
    assert "127.0.0.1:5432, database postgres" in caught.value.message


@pytest.mark.parametrize(
    ("credentials", "expected"),
    [
        pytest.param({"port": 1}, "127.0.0.1:1, database postgres: connection refused", id="refused"),
        pytest.param(
            {"dbname": "no_such_db_here"},
            'database no_such_db_here: database "no_such_db_here" does not exist',
            id="unknown-database",
        ),
        pytest.param({"user": "no_such_role"}, 'role "no_such_role" does not exist', id="unknown-user"),
        pytest.param(
            {"host": "no-such-host.invalid"},
            'could not translate host name "no-such-host.invalid"',
            id="unknown-host",
        ),
    ],
)
def test_scan_postgres_connection_errors(credentials: dict[str, object], expected: str) -> None:
    """Connection failures give one line naming host, port and database, never the password."""
    target = pg_target("postgres", password=PASSWORD, **credentials)
    with pytest.raises(WarehouseError) as caught:
        scan_warehouse(target, schemas=None, progress=NullProgress())
    message = caught.value.message
    assert expected in message
    assert message.startswith("Cannot connect to PostgreSQL at ")
    assert "\n" not in message and PASSWORD not in message and "Traceback" not in message
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_scan_postgres_unreachable_host_times_out() -> None:
    """A host that never answers fails after the short connect timeout, naming the host."""
    # A listening socket that never accepts: the TCP handshake completes in the kernel's backlog,
    # then nothing answers, as with a firewalled server. Loopback only: tests send no traffic out.
    silent = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)
    port = silent.getsockname()[1]
    try:
        target = pg_target("postgres", port=port, connect_timeout=2, password=PASSWORD)
        start = time.monotonic()
        with pytest.raises(WarehouseError) as caught:
            scan_warehouse(target, schemas=None, progress=NullProgress())
        assert time.monotonic() - start < 8
    finally:
        silent.close()
    message = caught.value.message
    assert message.startswith(f"Cannot connect to PostgreSQL at 127.0.0.1:{port}, database ")
    assert PASSWORD not in message


def _cartridge_sessions(dbname: str) -> int:
    con = _pg_connect()
    try:
        with con.cursor() as cur:
            cur.execute(
                "select count(*) from pg_stat_activity where datname = %s and application_name = 'cartridge'",
                (dbname,),
            )
            return int(cur.fetchone()[0])
    finally:
        con.close()


def test_scan_postgres_cancelled_scan_closes_its_connection(make_pg: MakeTarget, pg_database: str) -> None:
    """A cancelled scan raises Cancelled and leaves no session open on the server."""
    target = make_pg(["create schema a", "create schema b", "create table a.t (id integer)"])
    with pytest.raises(Cancelled):
        scan_warehouse(target, schemas=["a", "b"], progress=RecordingProgress(cancel_after=1))
    deadline = time.monotonic() + 5
    while _cartridge_sessions(pg_database) and time.monotonic() < deadline:
        time.sleep(0.05)  # a backend leaves pg_stat_activity a moment after the client hangs up
    assert _cartridge_sessions(pg_database) == 0
