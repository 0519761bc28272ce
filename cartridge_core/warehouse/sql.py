"""SQL shared by profiling and containment: identifiers, type families, samples, bounded statements.

Both run their statements through a `Session` opened on the scanner's own read-only session (so
connection set-up, read-only mode and error translation live in one place). A statement that runs
past its timeout or fails on the server raises `StatementTimeout` or `StatementFailed` and leaves
the session usable: PostgreSQL runs each statement in a savepoint, because one failed statement
would otherwise abort the whole transaction; DuckDB is interrupted by a timer. A lost connection
still ends the session with the scanner's WarehouseError.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from cartridge_core.errors import WarehouseError
from cartridge_core.models import Column, TableKind, TypeFamily, WarehouseTarget
from cartridge_core.warehouse.types import type_family

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection
    from sqlalchemy import Connection

# Families whose values both engines group and compare natively; others are grouped as text
# (json has no equality operator in PostgreSQL, and arrays, structs or binary values are best
# compared in their text form).
GROUPABLE: frozenset[TypeFamily] = frozenset(
    {"integer", "decimal", "float", "text", "boolean", "date", "timestamp", "timestamptz", "interval", "uuid"}
)
# Families with a meaningful order, whose min and max are measured. PostgreSQL has no min(uuid).
ORDERED: frozenset[TypeFamily] = GROUPABLE - {"uuid"}
NUMERIC: frozenset[TypeFamily] = frozenset({"integer", "decimal", "float"})

MAX_TEXT = 200  # longer sample, min and max values are cut to this many characters

# The seed of every sample: a second statement over the same table sees the same rows.
SAMPLE_SEED = 20_240_601


class StatementTimeout(Exception):
    """A statement ran past its timeout and was cancelled; the session is still usable."""


class StatementFailed(Exception):
    """The server refused or failed a statement (one line); the session is still usable."""


@dataclass(frozen=True, slots=True)
class Dialect:
    """What differs between the engines here: how samples are spelt and sized, and statistics."""

    name: str
    # Rows aggregated per sampled table: enough for distinct counts within a few percent on a
    # million rows, small enough to profile such a table in well under a second.
    sample_target: int
    # Relations whose rows a table sample can read directly; others are filtered with random().
    sampled_kinds: frozenset[TableKind]
    sample_clause: str  # a sampled FROM item; fields: relation, method, percent, seed
    row_sample: str  # row-level sampling method: every page read, rows picked independently
    page_sample: str  # block-level sampling method: only the sampled pages are read
    planner_statistics: bool = False  # whether ANALYZE's per-column statistics can be read back

    def sample(self, relation: str, kind: TableKind, percent: float, *, pages: bool = False) -> str:
        """A FROM item reading about `percent` % of `relation`'s rows, the same rows every time."""
        method = self.page_sample if pages else self.row_sample
        if kind not in self.sampled_kinds:
            return f"(select * from {relation} where random() < {percent / 100:.10f}) as sampled"
        return self.sample_clause.format(
            relation=relation, method=method, percent=f"{percent:.10f}", seed=SAMPLE_SEED
        )


POSTGRES = Dialect(
    name="postgres",
    # PostgreSQL groups 20 columns of 30,000 sampled rows in about 0.3 s, of 100,000 in about 1 s.
    # 30,000 rows is also what ANALYZE reads at the default statistics target.
    sample_target=30_000,
    # TABLESAMPLE works on tables, partitioned tables and materialized views only.
    sampled_kinds=frozenset({"table", "partitioned_table", "materialized_view"}),
    sample_clause="{relation} tablesample {method} ({percent}) repeatable ({seed})",
    row_sample="bernoulli",
    page_sample="system",
    planner_statistics=True,  # pg_stats
)
DUCKDB = Dialect(
    name="duckdb",
    # DuckDB groups 20 columns of a 100,000-row sample in about 0.3 s (0.45 s for 200,000).
    sample_target=100_000,
    sampled_kinds=frozenset({"table", "view"}),
    sample_clause="{relation} using sample {percent} percent ({method}, {seed})",
    row_sample="bernoulli",
    page_sample="system",  # DuckDB samples whole vectors of 2,048 rows
)
DIALECTS = {d.name: d for d in (POSTGRES, DUCKDB)}


class Session(Protocol):
    """Runs bounded statements on one read-only warehouse session."""

    dialect: Dialect

    def run(
        self, sql: str, params: Mapping[str, Any] | None = None, *, timeout: float
    ) -> list[tuple[Any, ...]]:
        """All rows of one statement; StatementTimeout after `timeout` s, StatementFailed on error."""
        ...


def quote(name: str) -> str:
    """A double-quoted identifier: both engines quote the SQL-standard way, doubling inner quotes."""
    return '"' + name.replace('"', '""') + '"'


def relation(schema: str, name: str) -> str:
    """The quoted, schema-qualified name of a table or view."""
    return f"{quote(schema)}.{quote(name)}"


def cut_text(expression: str) -> str:
    """The expression's text form, cut to MAX_TEXT characters (both engines have cast and left)."""
    return f"left(cast({expression} as text), {MAX_TEXT})"


def first_line(message: str) -> str:
    """The first non-empty line of a driver message, e.g. PostgreSQL's 'ERROR: ...' without LINE 1."""
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    return lines[0] if lines else "unknown error"


def family_of(column: Column) -> TypeFamily:
    """The column's type family: the scanner's, or read from the type's spelling if it left `other`."""
    return column.type_family if column.type_family != "other" else type_family(column.data_type)


@contextmanager
def open_session(target: WarehouseTarget, *, session_timeout: float) -> Iterator[Session]:
    """A read-only session on the target's warehouse, from its scanner; `session_timeout` caps it."""
    from cartridge_core.warehouse import scanner_for

    if target.type not in DIALECTS:
        raise WarehouseError(
            f"Cartridge cannot profile {target.type} warehouses (target {target.profile_name}."
            f"{target.target_name} in {target.profiles_file}); supported: {', '.join(sorted(DIALECTS))}."
        )
    scanner: Any = scanner_for(target, statement_timeout=session_timeout)
    with scanner.session() as connection:
        yield PostgresSession(connection) if target.type == "postgres" else DuckDBSession(connection)


class PostgresSession:
    """Each statement in a savepoint, with its own transaction-local statement timeout."""

    dialect = POSTGRES

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def run(
        self, sql: str, params: Mapping[str, Any] | None = None, *, timeout: float
    ) -> list[tuple[Any, ...]]:
        """All rows of one statement; StatementTimeout after `timeout` s, StatementFailed on error."""
        from sqlalchemy.exc import DBAPIError

        milliseconds = str(max(1, int(timeout * 1000)))
        try:
            with self._conn.begin_nested():
                self._conn.exec_driver_sql(
                    "select set_config('statement_timeout', %(ms)s, true)", {"ms": milliseconds}
                )
                # No parameters, no pyformat: a '%' in the SQL stays a '%'.
                result = (
                    self._conn.exec_driver_sql(sql, dict(params))
                    if params
                    else self._conn.exec_driver_sql(sql)
                )
                return [tuple(row) for row in result.all()]
        except DBAPIError as exc:
            code = getattr(exc.orig, "pgcode", None)
            if code is None:  # the connection itself failed: the scanner's session reports it
                raise
            if code == "57014":  # query_canceled: the statement timeout
                raise StatementTimeout() from None
            raise StatementFailed(first_line(str(exc.orig))) from None


class DuckDBSession:
    """Each statement interrupted by a timer when it runs past its timeout."""

    dialect = DUCKDB

    def __init__(self, con: DuckDBPyConnection) -> None:
        self._con = con

    def run(
        self, sql: str, params: Mapping[str, Any] | None = None, *, timeout: float
    ) -> list[tuple[Any, ...]]:
        """All rows of one statement; StatementTimeout after `timeout` s, StatementFailed on error."""
        import duckdb

        # An interrupt that lands just after the statement ended is harmless: DuckDB forgets it.
        timer = threading.Timer(timeout, self._con.interrupt)
        timer.daemon = True
        timer.start()
        try:
            # Fetch everything: a half-read result breaks the next statement on the connection.
            return self._con.execute(sql, dict(params) if params else None).fetchall()
        except duckdb.InterruptException:
            raise StatementTimeout() from None
        except duckdb.Error as exc:
            raise StatementFailed(" ".join(str(exc).split())) from None
        finally:
            timer.cancel()
