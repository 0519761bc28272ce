"""DuckDB: read the catalog of the target's file with DuckDB's own catalog functions.

SQLAlchemy's DuckDB dialect cannot reflect keys (nor, with SQLAlchemy 2.1, columns), so this reads
duckdb_tables(), duckdb_views(), duckdb_columns() and duckdb_constraints() directly. The file is
opened read-only and always closed: dbt opens the same file for writing right after, in the same
process, and DuckDB refuses a second configuration of a file while any connection to it is open.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlparse

from cartridge_core.errors import WarehouseError
from cartridge_core.models import Scan, Table, WarehouseTarget
from cartridge_core.progress import Progress, check_cancelled
from cartridge_core.warehouse.base import (
    DEFAULT_STATEMENT_TIMEOUT_S,
    ColumnRow,
    KeyRow,
    RelationRow,
    build_tables,
    choose_schemas,
    scan_each_schema,
    source_schemas,
)
from cartridge_core.warehouse.types import (
    check_values,
    enum_labels,
    narrow_values,
    sql_tokens,
    type_family,
    unquote,
)

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection

log = logging.getLogger(__name__)

# Only the attached file's catalog: the `system` and `temp` catalogs hold DuckDB's own schemas.
SCHEMAS_SQL = "select schema_name from duckdb_schemas() where database_name = current_database()"

# estimated_size counts rows; DuckDB keeps no per-table byte size that a catalog query can read.
RELATIONS_SQL = """
select table_name, 'table', comment, estimated_size, null from duckdb_tables()
where database_name = current_database() and schema_name = $schema and not temporary
union all
select view_name, 'view', comment, null, sql from duckdb_views()
where database_name = current_database() and schema_name = $schema
    and not internal and not temporary
"""

# An enum column's type reads `ENUM('a', 'b')` whichever named type it was declared with, so its
# labels come from that spelling: duckdb_types() could not say which type the column has.
COLUMNS_SQL = """
select table_name, column_name, data_type, is_nullable, comment from duckdb_columns()
where database_name = current_database() and schema_name = $schema
order by table_oid, column_index
"""

# DuckDB keeps foreign keys within one schema, so the referenced schema is the table's own.
# duckdb_constraints() lists the UNIQUE constraints; unique indexes come from duckdb_indexes(),
# whose key columns are only printed, as a list of expressions.
KEYS_SQL = """
select table_name, constraint_type, constraint_name, constraint_column_names,
       referenced_table, referenced_column_names, constraint_text
from duckdb_constraints()
where database_name = current_database() and schema_name = $schema
    and constraint_type in ('PRIMARY KEY', 'FOREIGN KEY', 'UNIQUE', 'CHECK')
union all
select table_name, 'UNIQUE INDEX', index_name, null, null, null, expressions
from duckdb_indexes()
where database_name = current_database() and schema_name = $schema and is_unique and not is_primary
order by 1, 2, 3
"""

_KEY_KINDS: dict[str, Literal["primary", "unique", "foreign"]] = {
    "PRIMARY KEY": "primary",
    "UNIQUE": "unique",
    "UNIQUE INDEX": "unique",
    "FOREIGN KEY": "foreign",
}
SYSTEM_SCHEMAS = frozenset({"information_schema", "pg_catalog"})


class DuckDBScanner:
    """Scans the DuckDB file named by a dbt profile target.

    DuckDB has no statement timeout: a timer calls `interrupt()` on the connection when the
    scan runs longer than `statement_timeout` seconds, which aborts the running query.
    """

    # DuckDB resolves unquoted and quoted identifiers case-insensitively, so `Analytics` and
    # `analytics` are the same schema to dbt.
    fold_case = True

    def __init__(
        self, target: WarehouseTarget, *, statement_timeout: float = DEFAULT_STATEMENT_TIMEOUT_S
    ) -> None:
        self._target = target
        self._statement_timeout = statement_timeout
        self._path = str(target.credentials.get("path") or "")
        self._where = f"DuckDB file {self._path}"

    def default_schemas(self) -> list[str]:
        """Every schema of the file except DuckDB's own and those dbt builds into, sorted."""
        with self.session() as con:
            return self._defaults(self._schemas(con))

    def scan(self, schemas: Sequence[str] | None, progress: Progress) -> Scan:
        """Scan the named schemas, or the default ones, over one read-only connection."""
        with self.session() as con:
            existing = self._schemas(con)
            chosen = choose_schemas(schemas, existing, lambda: self._defaults(existing), self._where)
            database = _fetch(con, "select current_database()")[0][0]
            tables = scan_each_schema(
                chosen, progress, lambda schema: self._read_schema(con, schema, progress)
            )
        log.info("Scanned %d tables in %d schemas of %s", len(tables), len(chosen), self._where)
        return Scan(engine="duckdb", database=database, schemas=tuple(chosen), tables=tuple(tables))

    @contextmanager
    def session(self) -> Iterator[DuckDBPyConnection]:
        """A read-only connection to the file, interrupted after the timeout and always closed."""
        import duckdb

        if not self._path or self._path == ":memory:":
            raise WarehouseError(
                f"The DuckDB target {self._target.profile_name}.{self._target.target_name} has no "
                f"database file (path is {self._path or 'empty'}): there is nothing to scan."
            )
        # A URI (md:, s3://) is DuckDB's to resolve; a plain path must name an existing file.
        if len(urlparse(self._path).scheme) <= 1 and not Path(self._path).is_file():
            raise WarehouseError(f"{self._where} does not exist.")
        timed_out = threading.Event()
        try:
            con = duckdb.connect(self._path, read_only=True)
        except duckdb.Error as exc:
            raise WarehouseError(f"Cannot open {self._where}: {_reason(exc)}") from None
        timer = threading.Timer(self._statement_timeout, _interrupt, (con, timed_out))
        timer.daemon = True
        timer.start()
        try:
            yield con
        except duckdb.Error as exc:
            if timed_out.is_set():
                raise WarehouseError(
                    f"Scan of {self._where} stopped after the {self._statement_timeout:g} s timeout."
                ) from None
            raise WarehouseError(f"Scan of {self._where} failed: {_reason(exc)}") from None
        finally:
            timer.cancel()
            con.close()

    def _schemas(self, con: DuckDBPyConnection) -> list[str]:
        return [row[0] for row in _fetch(con, SCHEMAS_SQL)]

    def _defaults(self, existing: list[str]) -> list[str]:
        return source_schemas(
            existing,
            target_schema=self._target.schema,
            is_system=SYSTEM_SCHEMAS.__contains__,
            fold_case=self.fold_case,
        )

    def _read_schema(self, con: DuckDBPyConnection, schema: str, progress: Progress) -> list[Table]:
        params = {"schema": schema}
        rows = _fetch(con, RELATIONS_SQL, params)
        check_cancelled(progress)
        keys, checks, values = _keys(schema, _fetch(con, KEYS_SQL, params))
        relations = [
            RelationRow(
                schema=schema,
                name=name,
                kind=kind,
                comment=comment or None,
                row_estimate=estimate,
                view_definition=sql,
                check_constraints=tuple(checks.get(name, ())),
            )
            for name, kind, comment, estimate, sql in rows
        ]
        check_cancelled(progress)
        columns = [
            ColumnRow(
                schema=schema,
                table=table,
                name=name,
                data_type=data_type,
                nullable=nullable,
                comment=comment or None,
                type_family=type_family(data_type),
                enum_values=narrow_values(enum_labels(data_type), values.get((table, name), ())),
            )
            for table, name, data_type, nullable, comment in _fetch(con, COLUMNS_SQL, params)
        ]
        return build_tables(relations, columns, keys)


def _keys(
    schema: str, rows: list[tuple[Any, ...]]
) -> tuple[list[KeyRow], dict[str, list[str]], dict[tuple[str, str], tuple[str, ...]]]:
    """Key rows; each table's CHECK texts; the values a `CHECK (col IN (...))` allows per column."""
    keys: list[KeyRow] = []
    checks: dict[str, list[str]] = {}
    values: dict[tuple[str, str], tuple[str, ...]] = {}
    for table, kind, name, cols, ref_table, ref_cols, text in rows:
        if kind == "CHECK":
            checks.setdefault(table, []).append(text)
            found = check_values(text)
            if found:
                values[(table, found[0])] = narrow_values(values.get((table, found[0]), ()), found[1])
            continue
        if kind == "UNIQUE INDEX":
            cols = index_columns(text)
            if cols is None:  # an expression index: unique, but not over columns
                continue
        keys.append(
            KeyRow(
                schema=schema,
                table=table,
                kind=_KEY_KINDS[kind],
                name=name,
                columns=tuple(cols),
                ref_schema=schema if ref_table else "",
                ref_table=ref_table or "",
                ref_columns=tuple(ref_cols or ()),
            )
        )
    return keys, checks, values


def index_columns(expressions: str) -> tuple[str, ...] | None:
    """The columns of an index as duckdb_indexes() prints them (`[a, '"My Col"']`); None if any is
    an expression. A quoted column comes as a string holding the quoted name."""
    tokens = sql_tokens(expressions)
    if len(tokens) < 3 or tokens[0][1] != "[" or tokens[-1][1] != "]":
        return None
    items = tokens[1:-1]
    if any(t != ("punct", ",") for t in items[1::2]):
        return None
    names = []
    for token in items[0::2]:
        inner = sql_tokens(unquote(token)) if token[0] == "string" else [token]
        if len(inner) != 1 or inner[0][0] not in ("word", "name"):
            return None
        names.append(unquote(inner[0]))
    return tuple(names)


def _fetch(con: DuckDBPyConnection, sql: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
    # Fetch everything at once: a half-read result breaks the next query on the connection.
    return con.execute(sql, params).fetchall()


def _interrupt(con: DuckDBPyConnection, timed_out: threading.Event) -> None:
    timed_out.set()
    con.interrupt()


def _reason(exc: Exception) -> str:
    """DuckDB's message without its 'IO Error:'-style prefix, on one line."""
    message = " ".join(str(exc).split())
    head, sep, rest = message.partition(": ")
    return rest if sep and head.endswith("Error") else message
